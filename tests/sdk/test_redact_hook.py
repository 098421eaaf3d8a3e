"""``configure(redact=...)``: values are scrubbed before they leave the process, on the exporter's thread."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import tracereel
from tracereel import semconv as sc


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    yield memory
    tracereel.shutdown()


def test_the_callable_scrubs_span_and_event_attributes_off_the_agents_thread(exporter):
    seen: list[tuple[str, str, bool]] = []
    agent_thread = threading.get_ident()

    def scrub(key: str, value: str) -> str:
        seen.append((key, value, threading.get_ident() == agent_thread))
        return value.replace("ann@example.com", "[email]")

    tracereel.configure(service_name="svc", exporter=exporter, schedule_delay_millis=50, redact=scrub)

    @tracereel.tool
    def lookup(user: str) -> str:
        return f"found {user}"

    assert lookup("ann@example.com") == "found ann@example.com"  # the agent sees its own values
    tracereel.flush()
    [span] = exporter.get_finished_spans()
    assert json.loads(span.attributes[sc.TOOL_CALL_ARGUMENTS]) == {"user": "[email]"}
    assert "ann@example.com" not in json.dumps(dict(span.attributes))
    assert seen and not any(on_agent_thread for _, _, on_agent_thread in seen)


def test_a_failing_callable_drops_the_value_and_the_agent_keeps_running(exporter, monkeypatch, caplog):
    monkeypatch.setenv("TRACEREEL_SWALLOW_ERRORS", "1")

    def scrub(key: str, value: str) -> str:
        if "secret" in value:
            raise RuntimeError("scrubber bug")
        return value

    tracereel.configure(service_name="svc", exporter=exporter, schedule_delay_millis=50, redact=scrub)

    @tracereel.tool
    def lookup(token: str) -> str:
        return "ok"

    assert lookup("secret-123") == "ok"
    tracereel.flush()
    [span] = exporter.get_finished_spans()
    assert span.attributes[sc.TOOL_CALL_ARGUMENTS] == "<redacted:error>"
    assert "secret-123" not in json.dumps(dict(span.attributes))
    assert "internal error while running configure(redact=...)" in caplog.text
