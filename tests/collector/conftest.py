"""Fixtures for the collector tests: the collector app in-process, and a plain OpenTelemetry client for it.

``asgi_collector`` runs ``create_app`` in this process behind starlette's TestClient (the
lifespan runs, so the write-ahead log, its drainer and the parser are real; no socket, no uvicorn). Tests
about what needs a socket (the stock OTLP exporter as a client, bodies on the wire,
concurrent connections) use the root conftest's ``collector`` (uvicorn on 127.0.0.1).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from otel_client import OtelClient

from tests.support import wait_until
from tracereel.collector import CollectorSettings, Store, create_app
from tracereel.collector.ingest import ParsePool
from tracereel.collector.ingest.wal import WriteAheadLog

__all__ = ["AsgiCollector"]


@dataclass
class AsgiCollector:
    """The collector app served in this process through starlette's TestClient."""

    app: FastAPI
    store: Store
    http: TestClient

    def client(self) -> contextlib.AbstractContextManager[TestClient]:
        """The app's HTTP client, for ``with collector.client() as http:`` (the app keeps running after it)."""
        return contextlib.nullcontext(self.http)

    def wait_for_spans(self, count: int, timeout: float = 20.0) -> None:
        """Wait until the collector has stored at least ``count`` spans."""
        drainer = self.app.state.drainer
        wait_until(lambda: drainer.stored_spans >= count, f"{count} spans are stored", timeout)


AsgiCollectorFactory = Callable[..., AsgiCollector]


@pytest.fixture
def asgi_collector_factory(store: Store) -> Iterator[AsgiCollectorFactory]:
    """Start in-process collectors over the test's store: ``factory(parser=..., log=..., **settings)``.

    Parsing runs in a thread (``ParsePool(0)``) unless a test passes its own ``parser``; a
    collector's lifespan ends with the test. chDB allows one store per process, so the
    collectors of one test share it; each has a write-ahead log of its own.
    """
    started = itertools.count()
    with contextlib.ExitStack() as stack:

        def start(
            *, parser: ParsePool | None = None, log: WriteAheadLog | None = None, **settings: Any
        ) -> AsgiCollector:
            settings.setdefault("grpc_port", 0)
            if log is None:
                settings.setdefault("wal_dir", store.url.removeprefix("chdb://") + f".wal-{next(started)}")
            config = CollectorSettings(store=store.url, **settings)
            app = create_app(config, store, parser=parser or ParsePool(0), log=log)
            http = stack.enter_context(TestClient(app))
            return AsgiCollector(app, store, http)

        yield start


@pytest.fixture
def asgi_collector(asgi_collector_factory: AsgiCollectorFactory) -> AsgiCollector:
    """The collector with default settings, in-process, over a fresh store."""
    return asgi_collector_factory()


@pytest.fixture(params=["span-by-span", "one-batch"])
def otel(request: pytest.FixtureRequest, asgi_collector: AsgiCollector) -> Iterator[OtelClient]:
    """A plain OpenTelemetry client (no tracereel SDK) sending to the collector, span by span or in one batch."""
    client = OtelClient(asgi_collector, batch=request.param == "one-batch")
    yield client
    client.shutdown()


@pytest.fixture
def prices_path(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Where TRACEREEL_PRICES points (the file is written by the test); set before the collector starts."""
    path = tmp_path / "prices.toml"
    monkeypatch.setenv("TRACEREEL_PRICES", str(path))
    return path


@pytest.fixture
def priced_collector(prices_path: Any, asgi_collector_factory: AsgiCollectorFactory) -> AsgiCollector:
    """The collector, started with TRACEREEL_PRICES naming ``prices_path``."""
    collector = asgi_collector_factory()
    assert collector.app.state.settings.prices == str(prices_path)
    return collector
