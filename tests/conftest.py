"""Fixtures that start real things: a chDB store, a uvicorn collector on 127.0.0.1, the SDK.

The helpers they use (ports, waits, servers in threads, a clean environment) are in
``tests/support.py``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracereel
from tests.support import (
    ENV_PREFIXES,
    SUITE_SWITCHES,
    ThreadedServer,
    bound_socket,
    closed_port,
    migrated_store,
    serve_in_thread,
    wait_until,
)


def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES) and name not in SUITE_SWITCHES:
            monkeypatch.delenv(name)


@pytest.fixture(scope="session", autouse=True)
def _session_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The whole run without the developer's TRACEREEL_*/OTEL_* settings or data directory.

    Session-wide, so module-scoped fixtures (which start before any test's own fixtures) are
    isolated too.
    """
    with pytest.MonkeyPatch.context() as monkeypatch:
        _clean_environment(monkeypatch)
        # `tracereel serve`/`up` without --store open the default store under the data dir:
        # never the developer's own.
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
        # The judge's verdict cache lives under the cache dir: never the developer's either.
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        yield


@pytest.fixture(autouse=True)
def _test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts without TRACEREEL_*/OTEL_* variables, even ones an earlier test left set."""
    _clean_environment(monkeypatch)


@pytest.fixture
def unused_port() -> Iterator[int]:
    """A port on 127.0.0.1 where connections are refused for the whole test (nothing can listen there)."""
    with closed_port() as port:
        yield port


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    """A new embedded chDB store, migrated; closed after the test (chDB allows one per process)."""
    from tracereel.collector import Store

    opened = Store.open(migrated_store(tmp_path / "store"))
    yield opened
    opened.close()


@dataclass
class RunningCollector:
    """A collector served by uvicorn on 127.0.0.1, for tests."""

    url: str
    app: Any
    store: Any
    server: Any  # the uvicorn.Server
    thread: threading.Thread

    def client(self) -> httpx.Client:
        """An HTTP client for this collector."""
        return httpx.Client(base_url=self.url, timeout=30)

    def wait_for_spans(self, count: int) -> None:
        """Wait until the collector has stored at least ``count`` spans."""
        wait_until(
            lambda: self.app.state.drainer.stored_spans >= count,
            f"the collector to store {count} spans (it has {self.app.state.drainer.stored_spans})",
        )

    def stop(self) -> None:
        """Stop serving and wait for the server thread (the store stays open)."""
        ThreadedServer(self.url, self.server, self.thread).stop()


def start_collector(store: Any, **settings: Any) -> tuple[RunningCollector, threading.Thread]:
    """Start ``create_app(settings, store)`` under uvicorn in a thread; returns it once listening."""
    from tracereel.collector import CollectorSettings, create_app

    # Bound before the app exists: the settings name the port the server will really use.
    sock = bound_socket()
    port = sock.getsockname()[1]
    # Parsing in a thread keeps each test's collector quick to start; tests that exercise the
    # worker processes pass parse_workers explicitly.
    settings.setdefault("parse_workers", 0)
    # OTLP/gRPC only where a test asks for it (with a port of its own): 4317 is one per machine.
    settings.setdefault("grpc_port", 0)
    # A write-ahead log of its own: a test may run several collectors over its one store.
    settings.setdefault("wal_dir", store.url.removeprefix("chdb://") + f".wal-{port}")
    config = CollectorSettings(host="127.0.0.1", port=port, store=store.url, **settings)
    app = create_app(config, store)
    served = serve_in_thread(app, sock)
    return RunningCollector(served.url, app, store, served.server, served.thread), served.thread


@pytest.fixture
def collector(store: Any) -> Iterator[RunningCollector]:
    """A real collector over a fresh store, on a port of 127.0.0.1 it holds from the start."""
    running, _ = start_collector(store)
    yield running
    running.stop()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The SDK configured to export into memory; yields the exporter (call ``tracereel.flush()`` first)."""
    exporter = InMemorySpanExporter()
    tracereel.configure(service_name="test-service", exporter=exporter, schedule_delay_millis=50)
    yield exporter
    tracereel.shutdown()


@pytest.fixture
def sdk_to(collector: RunningCollector) -> Iterator[RunningCollector]:
    """The SDK configured to export over OTLP/HTTP to the test collector."""
    tracereel.configure(service_name="test-service", endpoint=collector.url, schedule_delay_millis=50)
    yield collector
    tracereel.shutdown()
