"""The trace JSON readers: span kind as the collector classifies it, status in every spelling, the tree."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tracereel.client import CollectorClient
from tracereel.traces import SpanJSON, build_tree, span_kind, status, walk

SPANS: list[tuple[str, dict[str, Any]]] = [
    ("invoke_agent support", {"gen_ai.operation.name": "invoke_agent"}),
    ("whatever", {"gen_ai.operation.name": "create_agent"}),
    ("chat gpt-4o", {"gen_ai.operation.name": "chat"}),
    ("embed", {"gen_ai.operation.name": "embeddings"}),
    ("execute_tool lookup", {"gen_ai.operation.name": "execute_tool"}),
    ("Agent", {"openinference.span.kind": "AGENT"}),
    ("ChatCompletion", {"openinference.span.kind": "LLM"}),
    ("lookup", {"openinference.span.kind": "TOOL"}),
    ("check", {"openinference.span.kind": "GUARDRAIL"}),
    ("refund_limit", {"tracereel.guardrail.verdict": "violation"}),
    ("invoke_agent by name only", {}),
    ("chat by name only", {}),
    ("execute_tool by name only", {}),
    ("guardrail by name only", {}),
    ("GET /orders", {"http.method": "GET"}),
    # Other instrumentations' handoffs are agent spans, not tool calls.
    ("handoff to billing", {"openinference.span.kind": "TOOL"}),
    ("transfer_to_billing", {"openinference.span.kind": "TOOL", "tool.name": "transfer_to_billing"}),
    ("execute_tool transfer_to_refunds", {"gen_ai.operation.name": "execute_tool"}),
    ("handoff tool by name", {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "transfer_to_x"}),
    ("billing", {"openinference.span.kind": "AGENT", "graph.node.parent_id": "triage"}),
    ("graph step", {"openinference.span.kind": "CHAIN", "graph.node.parent_id": "start"}),
    ("llm in a graph", {"openinference.span.kind": "LLM", "graph.node.parent_id": "triage"}),
    ("lookup_order", {"openinference.span.kind": "TOOL", "tool.name": "lookup_order"}),
]
KINDS_EXPECTED = {
    "handoff to billing": "agent",
    "transfer_to_billing": "agent",
    "execute_tool transfer_to_refunds": "agent",
    "handoff tool by name": "agent",
    "billing": "agent",
    "graph step": "agent",
    "llm in a graph": "llm",
    "lookup_order": "tool",
}


def test_python_classification_matches_the_collectors_sql(collector: Any) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "kinds"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{collector.url}/v1/traces")))
    tracer = provider.get_tracer("tests.kinds")
    with tracer.start_as_current_span("root") as root:
        trace_id = f"{root.get_span_context().trace_id:032x}"
        for name, attributes in SPANS:
            tracer.start_span(name, attributes=attributes).end()
    provider.shutdown()
    collector.wait_for_spans(len(SPANS) + 1)
    spans = CollectorClient(collector.url).trace(trace_id)["spans"]
    by_name = {s["name"]: s for s in spans}
    for name, _ in SPANS:
        stored = by_name[name]
        without_collectors_kind: dict[str, Any] = {k: v for k, v in stored.items() if k != "kind"}
        assert span_kind(without_collectors_kind) == stored["kind"], name
        if name in KINDS_EXPECTED:
            assert stored["kind"] == KINDS_EXPECTED[name], name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[("ERROR", "ERROR"), ("Error", "ERROR"), ("STATUS_CODE_ERROR", "ERROR"), (2, "ERROR")],
        *[("Ok", "OK"), ("STATUS_CODE_OK", "OK"), ("1", "OK")],
        *[("UNSET", "UNSET"), ("", "UNSET"), ("Unset", "UNSET")],
    ],
)
def test_every_status_spelling_is_understood(raw: Any, expected: str) -> None:
    assert status({"status_code": raw}) == expected


def _span(span_id: str, parent: str, start: int) -> SpanJSON:
    return {"span_id": span_id, "parent_span_id": parent, "start_time_unix_nano": start, "name": span_id}


def test_the_tree_orders_children_by_start_and_keeps_orphans_as_roots() -> None:
    spans = [_span("c2", "r", 30), _span("r", "", 10), _span("c1", "r", 20), _span("g", "c1", 25), _span("o", "x", 5)]
    roots = build_tree(spans)
    assert [n.span["span_id"] for n in roots] == ["o", "r"]
    assert [(n.span["span_id"], n.depth) for n in walk(roots)] == [
        ("o", 0),
        ("r", 0),
        ("c1", 1),
        ("g", 2),
        ("c2", 1),
    ]
