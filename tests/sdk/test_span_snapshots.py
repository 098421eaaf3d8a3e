"""Exported spans compared whole to inline snapshots, with deterministic ids and times (as logfire's tests do).

Update after an intended change with ``./dev test tests/sdk --inline-snapshot=fix`` and review the diff.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from inline_snapshot import snapshot
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator

import tracereel

_TRACE = "exception.stacktrace"


class IncrementalIds(IdGenerator):
    """Span ids 1, 2, 3, ... and trace ids 1, 2, 3, ..."""

    def __init__(self) -> None:
        self.spans = 0
        self.traces = 0

    def generate_span_id(self) -> int:
        self.spans += 1
        return self.spans

    def generate_trace_id(self) -> int:
        self.traces += 1
        return self.traces


class TickingClock:
    """Each reading is one second after the previous one, starting at 1 s after the epoch."""

    def __init__(self) -> None:
        self.ns = 0

    def __call__(self) -> int:
        self.ns += 1_000_000_000
        return self.ns


@pytest.fixture
def exported() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracereel.configure(
        service_name="snapshots",
        exporter=exporter,
        id_generator=IncrementalIds(),
        clock=TickingClock(),
        record_nondeterminism=False,
    )
    yield exporter
    tracereel.shutdown()


def _simplify(exporter: InMemorySpanExporter) -> list[dict[str, Any]]:
    tracereel.flush()
    out = []
    for span in sorted(exporter.get_finished_spans(), key=lambda s: s.start_time or 0):
        attributes = dict(span.attributes or {})
        attributes.pop("tracereel.entrypoint.file", None)
        out.append(
            {
                "name": span.name,
                "span_id": span.context.span_id,
                "parent": span.parent.span_id if span.parent else None,
                "start_s": (span.start_time or 0) / 1e9,
                "end_s": (span.end_time or 0) / 1e9,
                "status": span.status.status_code.name,
                "attributes": attributes,
                # The stack trace holds paths and line numbers of this checkout: left out.
                "events": [
                    (e.name, (e.timestamp or 0) / 1e9, {k: v for k, v in (e.attributes or {}).items() if k != _TRACE})
                    for e in span.events
                ],
            }
        )
    return out


@tracereel.tool
def lookup_order(order_id: str) -> dict[str, Any]:
    if order_id == "missing":
        raise KeyError(order_id)
    return {"id": order_id, "total": 40}


@tracereel.agent(name="support", version="1.0")
def handle(ticket: str) -> str:
    order = lookup_order("B2")
    try:
        lookup_order("missing")
    except KeyError:
        tracereel.escalate("order not found")
    tracereel.set_outcome(True)
    return f"refunded {order['total']} EUR for {ticket}"


def test_an_agent_with_a_tool_call_and_a_failing_one(exported: InMemorySpanExporter) -> None:
    assert handle("lost order") == "refunded 40 EUR for lost order"
    assert _simplify(exported) == snapshot(
        [
            {
                "name": "invoke_agent support",
                "span_id": 1,
                "parent": None,
                "start_s": 1.0,
                "end_s": 9.0,
                "status": "UNSET",
                "attributes": {
                    "gen_ai.operation.name": "invoke_agent",
                    "gen_ai.agent.name": "support",
                    "gen_ai.agent.version": "1.0",
                    "tracereel.entrypoint": "test_span_snapshots:handle",
                    "tracereel.agent.input": '{"ticket":"lost order"}',
                    "tracereel.task.success": True,
                    "tracereel.agent.output": '"refunded 40 EUR for lost order"',
                },
                "events": [],
            },
            {
                "name": "task_start support",
                "span_id": 2,
                "parent": 1,
                "start_s": 2.0,
                "end_s": 2.0,
                "status": "UNSET",
                "attributes": {
                    "tracereel.task.start": True,
                    "gen_ai.agent.name": "support",
                    "tracereel.agent.input": '{"ticket":"lost order"}',
                    "tracereel.entrypoint": "test_span_snapshots:handle",
                    "gen_ai.agent.version": "1.0",
                },
                "events": [],
            },
            {
                "name": "execute_tool lookup_order",
                "span_id": 4,
                "parent": 1,
                "start_s": 3.0,
                "end_s": 4.0,
                "status": "UNSET",
                "attributes": {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "lookup_order",
                    "gen_ai.tool.call.id": "call_0000000000000003",
                    "gen_ai.tool.call.arguments": '{"order_id":"B2"}',
                    "tracereel.args_hash": "a15692eca125c55f",
                    "gen_ai.tool.call.result": '{"id":"B2","total":40}',
                },
                "events": [],
            },
            {
                "name": "execute_tool lookup_order",
                "span_id": 6,
                "parent": 1,
                "start_s": 5.0,
                "end_s": 7.0,
                "status": "ERROR",
                "attributes": {
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "lookup_order",
                    "gen_ai.tool.call.id": "call_0000000000000005",
                    "gen_ai.tool.call.arguments": '{"order_id":"missing"}',
                    "tracereel.args_hash": "00bbc2e00fc2a16c",
                    "error.type": "KeyError",
                },
                "events": [
                    (
                        "exception",
                        6.0,
                        {"exception.type": "KeyError", "exception.message": "'missing'", "exception.escaped": "True"},
                    )
                ],
            },
            {
                "name": "escalate human",
                "span_id": 7,
                "parent": 1,
                "start_s": 8.0,
                "end_s": 8.0,
                "status": "UNSET",
                "attributes": {
                    "tracereel.escalation": True,
                    "tracereel.escalation.reason": "order not found",
                    "tracereel.handoff.target_type": "human",
                },
                "events": [],
            },
        ]
    )
