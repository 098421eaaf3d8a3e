"""Other instrumentations' handoffs are sub-agent handoffs, not tool calls: an OpenAI Agents SDK run
as OpenInference exports it (a nameless "Agent workflow" root, AGENT spans, a "handoff to X" TOOL
span, graph.node.parent_id), sent by a plain OpenTelemetry client."""

from __future__ import annotations

from otel_client import T0_NS, OtelClient

from tracereel import semconv as sc

T0 = T0_NS // 10**9
WINDOW = {"from": str(T0), "to": str(T0 + 3600)}
OI = sc.OPENINFERENCE_SPAN_KIND


def _openinference_run(otel: OtelClient) -> None:
    """triage hands off to billing; billing calls lookup_invoice (ok) and issue_refund (fails)."""
    root = otel.span("Agent workflow", start_ms=0, duration_ms=900, end=False, attributes={OI: "AGENT"})
    triage = otel.span(
        "triage",
        start_ms=10,
        duration_ms=200,
        parent=root,
        end=False,
        attributes={OI: "AGENT", sc.GRAPH_NODE_ID: "triage"},
    )
    otel.span(
        "response", start_ms=20, duration_ms=50, parent=triage, attributes={OI: "LLM", "llm.model_name": "gpt-4o"}
    )
    otel.span("handoff to billing", start_ms=100, duration_ms=1, parent=triage, attributes={OI: "TOOL"})
    otel.end(triage)
    billing = otel.span(
        "billing",
        start_ms=300,
        duration_ms=500,
        parent=root,
        end=False,
        attributes={OI: "AGENT", sc.GRAPH_NODE_ID: "billing", sc.GRAPH_NODE_PARENT_ID: "triage"},
    )
    otel.span(
        "response", start_ms=310, duration_ms=50, parent=billing, attributes={OI: "LLM", "llm.model_name": "gpt-4o"}
    )
    otel.span(
        "lookup_invoice",
        start_ms=400,
        duration_ms=10,
        parent=billing,
        attributes={OI: "TOOL", "tool.name": "lookup_invoice", "input.value": '{"invoice_id": "INV-7"}'},
    )
    otel.span(
        "issue_refund",
        start_ms=500,
        duration_ms=10,
        parent=billing,
        error=True,
        attributes={OI: "TOOL", "tool.name": "issue_refund", "input.value": '{"invoice_id": "INV-7"}'},
    )
    otel.end(billing)
    otel.end(root)
    otel.wait()


def test_a_handoff_is_not_a_tool_call_in_the_metrics(asgi_collector, otel):
    _openinference_run(otel)
    with asgi_collector.client() as http:
        metrics = http.get("/api/v1/metrics", params=WINDOW).json()
    assert metrics["tool_calls"] == 2  # lookup_invoice and issue_refund; the handoff is not one
    assert metrics["tool_error_rate"] == 0.5
    assert metrics["tool_success_rate"] == 0.5
    assert metrics["steps_per_task"] == 4.0  # 2 LLM calls + 2 tool calls


def test_the_handoff_spans_are_agent_spans_and_the_list_names_the_first_agent(asgi_collector, otel):
    _openinference_run(otel)
    with asgi_collector.client() as http:
        (listed,) = http.get("/api/v1/traces", params={"from": str(T0 - 60), "limit": 5}).json()["traces"]
        spans = http.get(f"/api/v1/traces/{listed['trace_id']}").json()["spans"]
    assert listed["agent_name"] == "triage"  # the root names no agent: its first agent child does
    assert listed["root_name"] == "Agent workflow"
    kinds = {(s["name"], s["kind"]) for s in spans}
    assert ("handoff to billing", "agent") in kinds and ("billing", "agent") in kinds
    assert ("lookup_invoice", "tool") in kinds and ("issue_refund", "tool") in kinds
