"""Fixtures that start real things: a chDB store, a uvicorn collector on 127.0.0.1, the SDK."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracereel


def wait_healthy(url: str, process: subprocess.Popen[Any], timeout: float = 60) -> None:
    """Wait until the collector ``process`` started at ``url`` answers /healthz; fail if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args} exited early with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not become healthy within {timeout} s")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    """A fresh embedded chDB store, migrated; closed after the test (chDB allows one per process)."""
    from tracereel.collector import Store

    opened = Store.open(f"chdb://{tmp_path / 'store'}")
    yield opened
    opened.close()


@dataclass
class RunningCollector:
    """A collector served by uvicorn on 127.0.0.1, for tests."""

    url: str
    app: Any
    store: Any
    server: Any

    def client(self) -> httpx.Client:
        """An HTTP client for this collector."""
        return httpx.Client(base_url=self.url, timeout=30)

    def wait_for_spans(self, count: int, timeout: float = 20.0) -> None:
        """Wait until the collector has stored at least ``count`` spans."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.app.state.inserter.stored_spans >= count:
                return
            time.sleep(0.05)
        raise AssertionError(f"collector stored {self.app.state.inserter.stored_spans} spans, expected {count}")


def start_collector(store: Any, **settings: Any) -> tuple[RunningCollector, threading.Thread]:
    """Start ``create_app(settings, store)`` under uvicorn in a thread; returns it once listening."""
    import uvicorn

    from tracereel.collector import CollectorSettings, create_app

    port = free_port()
    # Parsing in a thread keeps each test's collector quick to start; tests that exercise the
    # worker processes pass parse_workers explicitly.
    settings.setdefault("parse_workers", 0)
    config = CollectorSettings(host="127.0.0.1", port=port, store=store.url, **settings)
    app = create_app(config, store)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("collector did not start")
        time.sleep(0.02)
    return RunningCollector(f"http://127.0.0.1:{port}", app, store, server), thread


@pytest.fixture
def collector(store: Any) -> Iterator[RunningCollector]:
    """A real collector over a fresh store, on a free port of 127.0.0.1."""
    running, thread = start_collector(store)
    yield running
    running.server.should_exit = True
    thread.join(20)


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
