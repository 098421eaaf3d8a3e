"""Judge tests: no developer's OpenAI settings, a cache directory of the test's own, spans kept in memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracereel


@pytest.fixture(autouse=True)
def _judge_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    # The root conftest clears TRACEREEL_*/OTEL_*; the judge also reads the OpenAI client's
    # variables, and its default cache lives under XDG_CACHE_HOME: never the developer's.
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    # Judge calls are traced: without this the SDK would configure itself to export to a
    # collector on the default port that no test runs (and wait for it at shutdown).
    # A test that looks at the spans asks for the `spans` fixture, which configures again.
    tracereel.configure(service_name="judge-tests", exporter=InMemorySpanExporter())
    yield
    tracereel.shutdown()
