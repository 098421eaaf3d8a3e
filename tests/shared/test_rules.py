"""The rules of tracereel/rules.py agree in SQL and Python, over tables of cases.

Each case is a task sent by the stock OpenTelemetry SDK to a real collector (real chDB, real
uvicorn). The collector decides in SQL (materialized columns, the rollup, the read queries) and
answers through its API; the Python rule decides over the same task's spans as the read API
serves them. The two must agree on every case, and on what the case says is right.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from tracereel import semconv as sc
from tracereel.rules import (
    PAYLOAD_ATTRIBUTES,
    SEARCH_TEXT_SQL,
    escalation_reasons,
    flag,
    negative_feedback,
    negative_feedback_sql,
    score_passes,
    score_passes_sql,
    search_text,
    task_agent,
    task_success,
    task_tokens,
)

OI = sc.OPENINFERENCE_SPAN_KIND


@dataclass
class Span:
    """One span of a case: its parent is the span at index ``parent`` of the case (None: the root)."""

    name: str
    attributes: dict[str, Any] = field(default_factory=dict[str, Any])
    parent: int | None = 0
    events: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    error: bool = False


def _root(agent: str, *, error: bool = False, **attributes: Any) -> Span:
    attrs = {sc.OPERATION_NAME: "invoke_agent", sc.AGENT_NAME: agent, **attributes}
    return Span(f"invoke_agent {agent}", attrs, None, error=error)


@dataclass
class Stored:
    """A case as the collector stored it: its trace id and its spans as the read API serves them."""

    trace_id: str
    spans: list[dict[str, Any]]


def _send(collector: Any, cases: dict[str, list[Span]]) -> dict[str, Stored]:
    """Send each case as one trace, its spans 1 ms apart; each case as stored, by case."""
    provider = TracerProvider(resource=Resource.create({"service.name": "rules"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{collector.url}/v1/traces")))
    tracer = provider.get_tracer("tests.rules")
    ids: dict[str, str] = {}
    now = time.time_ns()
    count = 0
    for case, spans in cases.items():
        opened: list[trace.Span] = []
        for i, spec in enumerate(spans):
            context = trace.set_span_in_context(opened[spec.parent]) if spec.parent is not None else None
            start = now + i * 1_000_000
            span = tracer.start_span(spec.name, context=context, attributes=spec.attributes, start_time=start)
            for event in spec.events:
                span.add_event("signal", event, timestamp=start)
            if spec.error:
                span.set_status(Status(StatusCode.ERROR, "failed"))
            opened.append(span)
        for span in reversed(opened):
            span.end(end_time=now + 100_000_000)
        ids[case] = f"{opened[0].get_span_context().trace_id:032x}"
        count += len(spans)
        now += 200_000_000
    provider.shutdown()
    collector.wait_for_spans(count)
    with collector.client() as http:
        return {
            case: Stored(trace_id, http.get(f"/api/v1/traces/{trace_id}").json()["spans"])
            for case, trace_id in ids.items()
        }


def _by_agent(http: httpx.Client) -> dict[str, dict[str, Any]]:
    rows = http.get("/api/v1/metrics/breakdown", params={"by": "agent"}).json()["rows"]
    return {row["agent"]: row for row in rows}


# --- task outcome: what counts as true for tracereel.task.success ---------------------------

OUTCOMES: dict[str, tuple[Any, bool, bool]] = {
    # case: (tracereel.task.success, root in ERROR, succeeded)
    "bool-true": (True, True, True),
    "bool-false": (False, False, False),
    "text-true": ("true", False, True),
    "text-TRUE": ("TRUE", True, True),
    "text-1": ("1", True, True),
    "int-1": (1, True, True),
    "int-0": (0, False, False),
    "text-False": ("False", False, False),
    "text-yes": ("yes", False, True),  # neither spelling: the root's status decides
    "text-yes-error": ("yes", True, False),
    "unset": (None, False, True),
    "unset-error": (None, True, False),
}


def test_task_outcome_agrees_in_sql_and_python(collector: Any) -> None:
    cases = {
        name: [_root(name, error=errored, **({} if said is None else {sc.TASK_SUCCESS: said}))]
        for name, (said, errored, _) in OUTCOMES.items()
    }
    stored = _send(collector, cases)
    with collector.client() as http:
        by_agent = _by_agent(http)
        listed = {t["agent_name"]: t for t in http.get("/api/v1/traces", params={"limit": 100}).json()["traces"]}
    for name, (said, _, succeeded) in OUTCOMES.items():
        (root,) = stored[name].spans
        assert task_success(root) is succeeded, name
        assert by_agent[name]["task_success_rate"] == (1.0 if succeeded else 0.0), name
        recorded = None if said is None else flag(str(said).lower())
        assert listed[name]["task_success"] == flag(root["attributes"].get(sc.TASK_SUCCESS)) == recorded, name


# --- escalation -------------------------------------------------------------------------------

ESCALATIONS: dict[str, tuple[Span, bool]] = {
    "span-bool": (Span("escalate human", {sc.ESCALATION: True, sc.ESCALATION_REASON: "angry"}), True),
    "span-1": (Span("escalate", {sc.ESCALATION: "1"}), True),
    "span-TRUE": (Span("escalate", {sc.ESCALATION: "TRUE"}), True),
    "span-false": (Span("escalate", {sc.ESCALATION: "false"}), False),
    "handoff-human": (Span("handoff", {sc.HANDOFF_TARGET_TYPE: "human", sc.ESCALATION_REASON: "refund"}), True),
    "handoff-agent": (Span("handoff", {sc.HANDOFF_TARGET_TYPE: "agent"}), False),
    "event-true": (Span("step", events=[{sc.ESCALATION: True, sc.ESCALATION_REASON: "unsure"}]), True),
    "event-no": (Span("step", events=[{sc.ESCALATION: "no"}]), False),
    "nothing": (Span("step", {"note": "escalation"}), False),
}


def test_escalation_agrees_in_sql_and_python(collector: Any) -> None:
    stored = _send(collector, {name: [_root(name), span] for name, (span, _) in ESCALATIONS.items()})
    with collector.client() as http:
        by_agent = _by_agent(http)
    for name, (_, escalated) in ESCALATIONS.items():
        assert bool(escalation_reasons(stored[name].spans)) is escalated, name
        assert by_agent[name]["human_escalation_rate"] == (1.0 if escalated else 0.0), name
    assert escalation_reasons(stored["span-bool"].spans) == ["angry"]
    assert escalation_reasons(stored["handoff-human"].spans) == ["refund"]
    assert escalation_reasons(stored["event-true"].spans) == ["unsure"]


# --- tokens: summed over LLM spans only -----------------------------------------------------

_CHAT = {sc.OPERATION_NAME: "chat", sc.REQUEST_MODEL: "gpt-4o"}
TOKENS: dict[str, tuple[list[Span], tuple[int, int]]] = {
    # pydantic-ai puts the run's usage on its agent span as well as on each model call.
    "pydantic-ai": (
        [
            Span(
                "agent run",
                {
                    sc.OPERATION_NAME: "invoke_agent",
                    sc.AGENT_NAME: "pydantic-ai",
                    sc.USAGE_INPUT_TOKENS: 330,
                    sc.USAGE_OUTPUT_TOKENS: 27,
                },
                None,
            ),
            Span("chat gpt-4o", {**_CHAT, sc.USAGE_INPUT_TOKENS: 200, sc.USAGE_OUTPUT_TOKENS: 20}),
            Span("chat gpt-4o", {**_CHAT, sc.USAGE_INPUT_TOKENS: 130, sc.USAGE_OUTPUT_TOKENS: 7}),
        ],
        (330, 27),
    ),
    "openinference": (
        [
            _root("openinference"),
            Span("ChatCompletion", {OI: "LLM", "llm.token_count.prompt": 40, "llm.token_count.completion": 4}),
        ],
        (40, 4),
    ),
    "tool-usage-ignored": (
        [
            _root("tool-usage-ignored"),
            Span("execute_tool search", {sc.OPERATION_NAME: "execute_tool", sc.USAGE_INPUT_TOKENS: 99}),
            Span("chat gpt-4o", {**_CHAT, sc.USAGE_INPUT_TOKENS: 5, sc.USAGE_OUTPUT_TOKENS: 1}),
        ],
        (5, 1),
    ),
    "unreadable": (
        [
            _root("unreadable"),
            Span("chat gpt-4o", {**_CHAT, sc.USAGE_INPUT_TOKENS: "12.5", sc.USAGE_OUTPUT_TOKENS: "many"}),
            Span("chat gpt-4o", {**_CHAT, sc.USAGE_INPUT_TOKENS: "", "llm.token_count.prompt": "8"}),
        ],
        (8, 0),
    ),
}


def test_tokens_sum_over_llm_spans_only_in_sql_and_python(collector: Any) -> None:
    stored = _send(collector, {name: spans for name, (spans, _) in TOKENS.items()})
    with collector.client() as http:
        listed = {t["agent_name"]: t for t in http.get("/api/v1/traces", params={"limit": 100}).json()["traces"]}
        by_model = {r["model"]: r for r in http.get("/api/v1/metrics/breakdown", params={"by": "model"}).json()["rows"]}
    for name, (_, expected) in TOKENS.items():
        assert task_tokens(stored[name].spans) == expected, name
        assert (listed[name]["input_tokens"], listed[name]["output_tokens"]) == expected, name
    # The metrics count the same LLM spans.
    llm_in = sum(expected[0] for name, (_, expected) in TOKENS.items() if name != "openinference")
    assert by_model["gpt-4o"]["input_tokens"] == llm_in


# --- the task's agent ------------------------------------------------------------------------


def _sub(agent: str) -> Span:
    return Span(f"invoke_agent {agent}", {sc.OPERATION_NAME: "invoke_agent", sc.AGENT_NAME: agent})


AGENTS: dict[str, tuple[list[Span], tuple[str, str]]] = {
    "named-root": ([_root("support", **{sc.AGENT_VERSION: "v2"}), _sub("billing")], ("support", "v2")),
    "openinference-root": (
        [Span("Agent", {OI: "AGENT", "agent.name": "concierge"}, None), _sub("billing")],
        ("concierge", ""),
    ),
    # LangGraph: the root is a chain; the task belongs to its first agent span.
    "langgraph": (
        [
            Span("LangGraph", {OI: "CHAIN"}, None),
            Span("__start__", {OI: "CHAIN", sc.GRAPH_NODE_ID: "__start__"}),
            Span("router", {OI: "AGENT", sc.GRAPH_NODE_ID: "router", sc.AGENT_VERSION: "g1"}),
            Span("writer", {OI: "AGENT", sc.GRAPH_NODE_ID: "writer", sc.GRAPH_NODE_PARENT_ID: "router"}),
        ],
        ("router", "g1"),
    ),
    # The Agents SDK's "Agent workflow" root names no agent; a handoff span is not an agent.
    "agents-sdk": (
        [
            Span("Agent workflow", {OI: "AGENT"}, None),
            Span("handoff to triage", {OI: "TOOL"}),
            Span("triage", {OI: "AGENT"}),
        ],
        ("triage", ""),
    ),
    "invoke-agent-child": (
        [Span("workflow", {}, None), Span("invoke_agent planner", {sc.OPERATION_NAME: "invoke_agent"})],
        ("planner", ""),
    ),
    "no-agent": ([Span("GET /health", {"http.method": "GET"}, None), Span("db query")], ("", "")),
}


def test_the_tasks_agent_agrees_in_sql_and_python(collector: Any) -> None:
    stored = _send(collector, {name: spans for name, (spans, _) in AGENTS.items()})
    with collector.client() as http:
        by_agent = {(r["agent"], r["version"]): r["tasks"] for r in _by_agent_rows(http)}
        listed = {t["trace_id"]: t for t in http.get("/api/v1/traces", params={"limit": 100}).json()["traces"]}
        for name, (_, (agent, version)) in AGENTS.items():
            trace_id = stored[name].trace_id
            assert task_agent(stored[name].spans) == (agent, version), name
            assert (listed[trace_id]["agent_name"], listed[trace_id]["agent_version"]) == (agent, version), name
            assert by_agent[(agent, version)] == 1, name
            if agent:
                found = http.get("/api/v1/traces", params={"agent": agent, "limit": 100}).json()["traces"]
                assert [t["trace_id"] for t in found] == [trace_id], name
                metrics = http.get("/api/v1/metrics", params={"agent": agent}).json()
                assert metrics["tasks"] == 1, name
        versioned = http.get("/api/v1/traces", params={"agent": "router", "version": "g1"}).json()["traces"]
        assert [t["trace_id"] for t in versioned] == [stored["langgraph"].trace_id]


def _by_agent_rows(http: httpx.Client) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = http.get("/api/v1/metrics/breakdown", params={"by": "agent"}).json()["rows"]
    return rows


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("1", True), (True, True), ("FALSE", False), (0, False), ("yes", None), ("", None), (None, None)],
)
def test_a_flag_reads_true_and_false_in_every_spelling(value: Any, expected: bool | None) -> None:
    assert flag(value) is expected


SCORE_VALUES = [-1.0, -0.01, 0.0, 0.25, 0.4999, 0.5, 0.75, 1.0, 5.0]


def test_a_passing_score_and_negative_feedback_agree_in_sql_and_python(store: Any) -> None:
    rows = store.query(
        f"SELECT x, {score_passes_sql('x')}, {negative_feedback_sql('x')} "
        "FROM (SELECT arrayJoin({values:Array(Float64)}) AS x) ORDER BY x",
        {"values": SCORE_VALUES},
    )
    in_sql = {float(x): (bool(passes), bool(negative)) for x, passes, negative in rows}
    in_python = {x: (score_passes(x), negative_feedback(x)) for x in SCORE_VALUES}
    assert in_sql == in_python
    # What the rules say is right: 0.5 passes, a thumbs-down (-1) is negative, 0 is neither.
    assert in_python[0.5] == (True, False) and in_python[0.4999] == (False, False)
    assert in_python[-1.0] == (False, True) and in_python[0.0] == (False, False)


SEARCH_CASES: list[dict[str, str]] = [
    {},
    {sc.AGENT_NAME: "Not A Payload"},
    {sc.AGENT_INPUT: '{"Ticket": "T-1"}', sc.AGENT_OUTPUT: "Done"},
    {sc.TOOL_CALL_RESULT: "Ok", sc.TOOL_CALL_ARGUMENTS: "", sc.INPUT_VALUE: "Über 100%"},
    {sc.OUTPUT_VALUE: "b", sc.INPUT_MESSAGES: "a", sc.OUTPUT_MESSAGES: "x\ny", "other": "z"},
    dict.fromkeys(PAYLOAD_ATTRIBUTES, "W"),
]


def test_a_spans_search_text_agrees_in_sql_and_python(store: Any) -> None:
    rows = store.query(
        f"SELECT i, {SEARCH_TEXT_SQL} FROM (SELECT arrayJoin(arrayEnumerate({{keys:Array(Array(String))}})) AS i, "
        "CAST(mapFromArrays({keys:Array(Array(String))}[i], {values:Array(Array(String))}[i]), "
        "'Map(LowCardinality(String), String)') AS SpanAttributes)",
        {"keys": [list(case) for case in SEARCH_CASES], "values": [list(case.values()) for case in SEARCH_CASES]},
    )
    in_sql = [text for _, text in sorted(rows)]
    in_python = [search_text({"attributes": case}) for case in SEARCH_CASES]
    assert in_sql == in_python
    # What the rule says: payloads only, in PAYLOAD_ATTRIBUTES order, empty ones left out, lower-cased.
    assert in_python[:4] == ["", "", '{"ticket": "t-1"}\ndone', "ok\nüber 100%"]
    assert in_python[4] == "a\nx\ny\nb"
    assert in_python[5] == "\n".join(["w"] * len(PAYLOAD_ATTRIBUTES))
