"""Fixtures for the metric tests: a plain OpenTelemetry client that sends hand-built spans to the collector."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from otel_client import OtelClient


@pytest.fixture(params=["span-by-span", "one-batch"])
def otel(request: pytest.FixtureRequest, collector: Any) -> Iterator[OtelClient]:
    """A plain OpenTelemetry client (no tracereel SDK) sending to the test collector, span by span or in one batch."""
    client = OtelClient(collector, batch=request.param == "one-batch")
    yield client
    for provider in client.providers.values():
        provider.shutdown()


@pytest.fixture
def prices_path(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Where TRACEREEL_PRICES points (the file is written by the test); set before the collector starts."""
    path = tmp_path / "prices.toml"
    monkeypatch.setenv("TRACEREEL_PRICES", str(path))
    return path


@pytest.fixture
def priced_collector(prices_path: Any, collector: Any) -> Any:
    """The test collector, started with TRACEREEL_PRICES naming ``prices_path``."""
    assert collector.app.state.settings.prices == str(prices_path)
    return collector
