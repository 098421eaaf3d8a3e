"""GET /api/v1/metrics against traces built to known answers, sent by a plain OpenTelemetry client.

The fleet below mixes GenAI semantic-convention spans and OpenInference spans; every number
asserted here is worked out by hand in the comments from DESIGN.md's definitions.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from otel_client import T0_NS, OtelClient

from tracereel import semconv as sc

T0 = T0_NS // 10**9
WINDOW = {"from": str(T0), "to": str(T0 + 3600)}
AGENT = {sc.OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.AGENT_NAME: "support"}


def _tool(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {sc.OPERATION_NAME: sc.OP_EXECUTE_TOOL, sc.TOOL_NAME: name, sc.TOOL_CALL_ARGUMENTS: json.dumps(args)}


def _chat(model: str, tokens_in: int, tokens_out: int, **extra: Any) -> dict[str, Any]:
    return {
        sc.OPERATION_NAME: sc.OP_CHAT,
        sc.REQUEST_MODEL: model,
        sc.USAGE_INPUT_TOKENS: tokens_in,
        sc.USAGE_OUTPUT_TOKENS: tokens_out,
        **extra,
    }


def build_fleet(otel: OtelClient) -> None:
    """Four tasks in [T0, T0+1h) and one an hour later; see the expected values in test_every_metric."""
    # Task A: success (attribute), plan of 3, a timeout then its retry, groundedness 0.8; 1000 ms.
    a = otel.span(
        "invoke_agent support",
        start_ms=0,
        duration_ms=1000,
        end=False,
        attributes={**AGENT, sc.AGENT_VERSION: "1.0", sc.TASK_SUCCESS: True, sc.PLAN_STEPS: '["a", "b", "c"]'},
    )
    # gpt-4o: 1000 x 2.50 + 200 x 10.00 per million = 0.0045 USD.
    otel.span(
        "chat gpt-4o",
        start_ms=10,
        duration_ms=100,
        parent=a,
        attributes=_chat("gpt-4o", 1000, 200, **{sc.INPUT_MESSAGES: '[{"role": "user"}]', sc.GROUNDEDNESS: 0.8}),
    )
    otel.span(
        "execute_tool search",
        start_ms=200,
        duration_ms=50,
        parent=a,
        error=True,
        attributes={**_tool("search", {"q": "x"}), sc.ERROR_TYPE: "TimeoutError"},
    )
    otel.span("execute_tool search", start_ms=300, duration_ms=50, parent=a, attributes=_tool("search", {"q": "x"}))
    otel.end(a)

    # Task B: root ERROR (failure), the same lookup three times after success (a loop), a ValueError,
    # an unpriced model, a guardrail violation, groundedness 0.9 then 0.3 (the latest to end wins: not
    # grounded); 3000 ms.
    b = otel.span(
        "invoke_agent support",
        start_ms=2000,
        duration_ms=3000,
        end=False,
        error=True,
        attributes={**AGENT, sc.AGENT_VERSION: "1.0"},
    )
    for start in (2100, 2200, 2300):
        score = {sc.GROUNDEDNESS: 0.9} if start == 2100 else {}
        attributes = {**_tool("lookup", {"id": 1}), **score}
        otel.span("execute_tool lookup", start_ms=start, duration_ms=20, parent=b, attributes=attributes)
    otel.span(
        "execute_tool lookup",
        start_ms=2400,
        duration_ms=20,
        parent=b,
        error=True,
        attributes={**_tool("lookup", {"id": 2}), sc.ERROR_TYPE: "ValueError"},
    )
    otel.span(
        "chat mystery-model",
        start_ms=2500,
        duration_ms=100,
        parent=b,
        attributes=_chat("mystery-model", 500, 100, **{sc.GROUNDEDNESS: 0.3}),
    )
    otel.span(
        "guardrail pii",
        start_ms=2600,
        duration_ms=1,
        parent=b,
        attributes={sc.GUARDRAIL_NAME: "pii", sc.GUARDRAIL_VERDICT: sc.VERDICT_VIOLATION},
    )
    otel.end(b)

    # Task C (version 2.0): success=false despite status OK, explicit cost 0.05 on an explicit retry
    # (attempt 1, no arguments), an escalation span, plan of 1; 500 ms.
    c = otel.span(
        "invoke_agent support",
        start_ms=6000,
        duration_ms=500,
        end=False,
        attributes={**AGENT, sc.AGENT_VERSION: "2.0", sc.TASK_SUCCESS: False, sc.PLAN_STEPS: '["x"]'},
    )
    c.set_status(
        __import__("opentelemetry.trace", fromlist=["Status"]).Status(
            __import__("opentelemetry.trace", fromlist=["StatusCode"]).StatusCode.OK
        )
    )
    otel.span(
        "chat gpt-4o-mini",
        start_ms=6010,
        duration_ms=100,
        parent=c,
        attributes=_chat("gpt-4o-mini", 100, 100, **{sc.COST_USD: 0.05, sc.RETRY_ATTEMPT: 1}),
    )
    otel.span(
        "escalate human",
        start_ms=6200,
        duration_ms=1,
        parent=c,
        attributes={sc.ESCALATION: True, sc.ESCALATION_REASON: "refund over limit"},
    )
    # A sub-agent a kill switch stopped: its span, in ERROR with AgentDisabled, marks C as killed.
    otel.span(
        "invoke_agent refunds",
        start_ms=6300,
        duration_ms=0,
        parent=c,
        error=True,
        attributes={**AGENT, sc.AGENT_NAME: "refunds", sc.KILLED: True, sc.KILLED_REASON: "double charges"},
    )
    otel.end(c)

    # Task D: OpenInference only, another service; success (status not ERROR); 2000 tokens of gpt-4o
    # = 0.005 USD; a tool timing out (exception event only), a GUARDRAIL span in ERROR, an escalation event.
    d = otel.span(
        "AgentRun",
        start_ms=7000,
        duration_ms=2000,
        end=False,
        service="other-svc",
        attributes={sc.OPENINFERENCE_SPAN_KIND: "AGENT"},
    )
    otel.span(
        "ChatCompletion",
        start_ms=7100,
        duration_ms=100,
        parent=d,
        service="other-svc",
        attributes={
            sc.OPENINFERENCE_SPAN_KIND: "LLM",
            "llm.model_name": "gpt-4o",
            "llm.token_count.prompt": 2000,
            "llm.token_count.completion": 0,
            "input.value": "hello",
        },
    )
    otel.span(
        "search_tool",
        start_ms=7300,
        duration_ms=100,
        parent=d,
        service="other-svc",
        error=True,
        attributes={sc.OPENINFERENCE_SPAN_KIND: "TOOL", "input.value": '{"q": "y"}'},
        events=[("exception", {"exception.type": "httpx.ReadTimeout", "exception.message": "timed out"})],
    )
    otel.span(
        "Guard",
        start_ms=7500,
        duration_ms=5,
        parent=d,
        service="other-svc",
        error=True,
        attributes={sc.OPENINFERENCE_SPAN_KIND: "GUARDRAIL"},
        events=[("handoff", {sc.ESCALATION: True})],
    )
    otel.end(d)

    # Task E: an hour later, outside the window (one successful task, one LLM call).
    e = otel.span("invoke_agent support", start_ms=5_400_000, duration_ms=100, end=False, attributes=AGENT)
    otel.span("chat gpt-4o", start_ms=5_400_010, duration_ms=10, parent=e, attributes=_chat("gpt-4o", 0, 0))
    otel.end(e)
    otel.wait()


EXPECTED = {
    "tasks": 4,  # A, B, C, D
    "task_success_rate": 0.5,  # A (attribute), D (not ERROR); B is ERROR, C says false
    "groundedness_rate": 0.5,  # A latest 0.8; B latest 0.3
    "tool_calls": 7,  # A 2, B 4, D 1
    "tool_success_rate": 4 / 7,  # A 1, B 3
    "tool_timeout_rate": 2 / 7,  # A TimeoutError, D ReadTimeout (exception event)
    "tool_error_rate": 1 / 7,  # B ValueError
    "retry_rate": 2 / 11,  # 11 LLM + tool calls; A's second search, C's attempt 1
    "loop_rate": 0.25,  # B's lookup x3
    "steps_per_task": 2.75,  # (3 + 5 + 1 + 2) / 4
    "steps_per_task_p95": 4.7,  # [1, 2, 3, 5] at 0.95 x 3 = 2.85 -> 3 + 0.85 x 2
    "plan_length": 2.0,  # A 3, C 1
    "p50_latency_ms": 1500.0,  # [500, 1000, 2000, 3000]
    "p95_latency_ms": 2850.0,
    "cost_usd": 0.0595,  # 0.0045 + 0.05 + 0.005; mystery-model unpriced
    "cost_coverage": 0.75,  # 3 of 4 LLM spans priced
    "cost_per_successful_task_usd": 0.02975,
    "safety_violation_rate": 0.5,  # B (verdict), D (GUARDRAIL in ERROR)
    "human_escalation_rate": 0.5,  # C (span), D (event)
    "killed_rate": 0.25,  # C's refunds sub-agent
    # Per task its latest score of each name (the SDK's, copied to the scores table): A 0.8, B 0.3.
    "scores": {"groundedness": {"mean": 0.55, "count": 2}},
}


def _assert_metrics(got: dict[str, Any], expected: dict[str, Any]) -> None:
    assert set(got) == set(expected)
    for key, value in expected.items():
        if key == "scores":
            assert {n: (s["mean"], s["count"]) for n, s in got[key].items()} == {
                n: (pytest.approx(s["mean"]), s["count"]) for n, s in value.items()
            }
        elif value is None or (
            isinstance(value, int) and not isinstance(value, bool) and key in ("tasks", "tool_calls")
        ):
            assert got[key] == value, key
        else:
            assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


def test_every_metric(asgi_collector, otel):
    build_fleet(otel)
    with asgi_collector.client() as http:
        response = http.get("/api/v1/metrics", params=WINDOW)
    assert response.status_code == 200, response.text
    _assert_metrics(response.json(), EXPECTED)
    # Both ways a task reaches the rollup are covered: whole (one INSERT) or in pieces (many INSERTs).
    most_blocks = asgi_collector.store.query(
        "SELECT max(b) FROM (SELECT sum(Blocks) AS b FROM tracereel_task_rollup GROUP BY TraceId)"
    )
    assert (most_blocks[0][0] == 1) == otel.batch


def _metrics(collector: Any, **params: Any) -> dict[str, Any]:
    with collector.client() as http:
        response = http.get("/api/v1/metrics", params={**WINDOW, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_filters_select_tasks_by_their_root_span(asgi_collector, otel):
    build_fleet(otel)
    canary = _metrics(asgi_collector, agent="support", version="2.0")
    assert canary["tasks"] == 1
    assert canary["task_success_rate"] == 0.0
    assert canary["cost_usd"] == pytest.approx(0.05)
    assert canary["retry_rate"] == 1.0
    assert canary["tool_calls"] == 0
    assert canary["killed_rate"] == 1.0
    other = _metrics(asgi_collector, service="other-svc")
    assert other["tasks"] == 1
    assert other["tool_timeout_rate"] == 1.0
    assert other["human_escalation_rate"] == 1.0
    assert _metrics(asgi_collector, agent="nobody")["tasks"] == 0
    # The window is half-open on the root's start: E starts at T0 + 1.5 h.
    assert _metrics(asgi_collector, to=str(T0 + 2 * 3600))["tasks"] == 5
    assert _metrics(asgi_collector, **{"from": str(T0 + 3600), "to": str(T0 + 2 * 3600)})["tasks"] == 1


def test_empty_window_gives_zero_counts_and_null_rates(asgi_collector):
    got = _metrics(asgi_collector)
    assert got == {
        key: (0 if key in ("tasks", "tool_calls") else 0.0 if key == "cost_usd" else {} if key == "scores" else None)
        for key in EXPECTED
    }


def test_tasks_without_tools_or_prices(asgi_collector, otel):
    root = otel.span("invoke_agent solo", start_ms=0, duration_ms=40, end=False, attributes=AGENT)
    otel.span("chat local-llama", start_ms=1, duration_ms=5, parent=root, attributes=_chat("local-llama", 10, 10))
    otel.end(root)
    otel.wait()
    got = _metrics(asgi_collector)
    assert got["tasks"] == 1
    assert got["tool_calls"] == 0
    assert got["tool_success_rate"] is None
    assert got["tool_timeout_rate"] is None
    assert got["tool_error_rate"] is None
    assert got["cost_usd"] == 0.0
    assert got["cost_coverage"] == 0.0
    assert got["cost_per_successful_task_usd"] == 0.0
    assert got["groundedness_rate"] is None
    assert got["plan_length"] is None
    assert got["retry_rate"] == 0.0
    assert got["steps_per_task"] == 1.0


def test_retry_and_loop_inference(asgi_collector, otel):
    """Retries need recorded arguments and a failed latest identical sibling; loops need three non-retries."""
    root = otel.span("invoke_agent r", start_ms=0, duration_ms=1000, end=False, attributes=AGENT)
    # No arguments: ERROR then OK is not inferred to be a retry.
    bare = {sc.OPERATION_NAME: sc.OP_EXECUTE_TOOL, sc.TOOL_NAME: "ping"}
    otel.span("execute_tool ping", start_ms=1, duration_ms=1, parent=root, attributes=bare, error=True)
    otel.span("execute_tool ping", start_ms=2, duration_ms=1, parent=root, attributes=bare)
    # OK, ERROR (not a retry: the latest identical sibling succeeded), OK (retry): two non-retries, no loop.
    for start, error in ((10, False), (11, True), (12, False)):
        otel.span(
            "execute_tool get",
            start_ms=start,
            duration_ms=1,
            parent=root,
            attributes=_tool("get", {"k": 1}),
            error=error,
        )
    # The same arguments under another parent are not siblings: no retry, no loop.
    sub = otel.span("invoke_agent sub", start_ms=20, duration_ms=10, parent=root, end=False, attributes=AGENT)
    otel.span("execute_tool get", start_ms=21, duration_ms=1, parent=sub, attributes=_tool("get", {"k": 1}))
    otel.end(sub)
    # LLM calls with the same args hash: ERROR, ERROR (retry), OK (retry).
    hashed = _chat("gpt-4o", 1, 1, **{sc.ARGS_HASH: "abc"})
    for start, error in ((30, True), (31, True), (32, False)):
        otel.span("chat gpt-4o", start_ms=start, duration_ms=1, parent=root, attributes=hashed, error=error)
    otel.end(root)
    otel.wait()
    got = _metrics(asgi_collector)
    assert got["tasks"] == 1
    assert got["retry_rate"] == pytest.approx(3 / 9)  # get #3, chat #2, chat #3 of 9 calls
    assert got["loop_rate"] == 0.0
    assert got["steps_per_task"] == 9.0


def test_tracereel_sdk_signals_count(sdk_to):
    """The SDK's own signals (outcome, score, plan, guardrail, escalation, usage) reach the metrics."""
    import tracereel

    @tracereel.tool
    def fetch(x: int) -> int:
        return x * 2

    @tracereel.llm(model="gpt-4o-mini", provider="openai")
    def think(prompt: str) -> str:
        tracereel.record_usage(1_000_000, 0)
        return "ok"

    @tracereel.agent(name="sdk-agent", version="3")
    def run(n: int) -> int:
        tracereel.plan(["fetch", "think"])
        think("hi")
        tracereel.score("groundedness", 0.4 + n * 0.3)
        tracereel.guardrail("pii", passed=n == 1)
        if n == 0:
            tracereel.escalate("unsure")
        tracereel.set_outcome(n == 1)
        return fetch(n)

    run(0)
    run(1)
    assert tracereel.flush()
    sdk_to.wait_for_spans(11)
    with sdk_to.client() as http:
        got = http.get("/api/v1/metrics", params={"agent": "sdk-agent"}).json()
    assert got["tasks"] == 2
    assert got["task_success_rate"] == 0.5
    assert got["groundedness_rate"] == 0.5  # 0.4 and 0.7
    assert got["plan_length"] == 2.0
    assert got["safety_violation_rate"] == 0.5
    assert got["human_escalation_rate"] == 0.5
    assert got["tool_calls"] == 2 and got["tool_success_rate"] == 1.0
    assert got["cost_usd"] == pytest.approx(2 * 0.15)  # 1M input tokens of gpt-4o-mini, twice
    assert got["cost_per_successful_task_usd"] == pytest.approx(0.30)
    assert got["steps_per_task"] == 2.0


def test_timeseries_buckets_the_window(asgi_collector, otel):
    build_fleet(otel)
    with asgi_collector.client() as http:
        all_keys = http.get("/api/v1/metrics/timeseries", params={**WINDOW, "to": str(T0 + 7200), "bucket": "1h"})
        one = http.get("/api/v1/metrics/timeseries", params={**WINDOW, "bucket": "30m", "metric": "cost_usd"})
        auto = http.get("/api/v1/metrics/timeseries", params=WINDOW)
    assert all_keys.status_code == 200, all_keys.text
    body = all_keys.json()
    assert body["bucket_seconds"] == 3600
    assert [p["start"] for p in body["points"]] == [T0, T0 + 3600]
    assert [p["tasks"] for p in body["points"]] == [4, 1]
    _assert_metrics({k: v for k, v in body["points"][0].items() if k != "start"}, EXPECTED)
    assert body["points"][1]["task_success_rate"] == 1.0
    points = one.json()["points"]
    assert points == [{"start": T0, "cost_usd": pytest.approx(0.0595)}, {"start": T0 + 1800, "cost_usd": 0.0}]
    assert auto.json()["bucket_seconds"] == 300 and len(auto.json()["points"]) == 12


def test_breakdowns(asgi_collector, otel):
    build_fleet(otel)
    with asgi_collector.client() as http:
        models = http.get("/api/v1/metrics/breakdown", params={**WINDOW, "by": "model"}).json()["rows"]
        tools = http.get("/api/v1/metrics/breakdown", params={**WINDOW, "by": "tool"}).json()["rows"]
        agents = http.get("/api/v1/metrics/breakdown", params={**WINDOW, "by": "agent"}).json()["rows"]
    assert [(m["model"], m["llm_calls"], round(m["cost_usd"], 6), m["cost_coverage"]) for m in models] == [
        ("gpt-4o-mini", 1, 0.05, 1.0),
        ("gpt-4o", 2, 0.0095, 1.0),
        ("mystery-model", 1, 0.0, 0.0),
    ]
    by_tool = {t["tool"]: t for t in tools}
    assert by_tool["lookup"]["tool_calls"] == 4 and by_tool["lookup"]["tool_error_rate"] == 0.25
    assert by_tool["search"]["tool_timeout_rate"] == 0.5
    assert by_tool["search_tool"]["tool_timeout_rate"] == 1.0
    assert [(a["agent"], a["version"], a["tasks"]) for a in agents] == [
        ("support", "1.0", 2),
        ("", "", 1),
        ("support", "2.0", 1),
    ]
    assert agents[0]["p95_latency_ms"] == pytest.approx(1000 + 0.95 * 2000)


@pytest.mark.parametrize(
    ("path", "params", "names"),
    [
        ("/api/v1/metrics", {"from": "yesterday"}, "from="),
        ("/api/v1/metrics", {"to": "soon"}, "to="),
        ("/api/v1/metrics", {"from": str(T0 + 10), "to": str(T0)}, "from="),
        ("/api/v1/metrics/timeseries", {"metric": "happiness"}, "metric="),
        ("/api/v1/metrics/timeseries", {"bucket": "fortnight"}, "bucket="),
        ("/api/v1/metrics/timeseries", {"bucket": "1s", "from": "0"}, "bucket="),
        ("/api/v1/metrics/breakdown", {"by": "mood"}, "by: Input should be 'model', 'tool', 'agent' or 'service'"),
        ("/api/v1/metrics", {"to": "9999-01-01"}, "to='9999-01-01' is outside the times the store holds"),
        ("/api/v1/metrics/breakdown", {}, "by"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(asgi_collector, path, params, names):
    with asgi_collector.client() as http:
        response = http.get(path, params=params)
    assert response.status_code == 400
    assert names in response.json()["detail"]


def test_trace_list_and_trace_carry_cost(asgi_collector, otel):
    build_fleet(otel)
    with asgi_collector.client() as http:
        traces = http.get("/api/v1/traces", params={**WINDOW, "agent": "support"}).json()["traces"]
        by_version = {t["agent_version"]: t for t in traces}
        assert by_version["2.0"]["cost_usd"] == pytest.approx(0.05)
        assert by_version["2.0"]["cost_coverage"] == 1.0
        task_b = next(t for t in traces if t["status_code"] == "ERROR")
        assert task_b["cost_usd"] == 0.0 and task_b["cost_coverage"] == 0.0
        task_a = next(t for t in traces if t["task_success"])
        assert task_a["cost_usd"] == pytest.approx(0.0045)
        spans = http.get(f"/api/v1/traces/{task_a['trace_id']}").json()["spans"]
    costs = {s["name"]: s["cost_usd"] for s in spans}
    assert costs["chat gpt-4o"] == pytest.approx(0.0045)
    assert costs["execute_tool search"] is None
    with asgi_collector.client() as http:
        spans_b = http.get(f"/api/v1/traces/{task_b['trace_id']}").json()["spans"]
    assert {s["name"]: s["cost_usd"] for s in spans_b}["chat mystery-model"] is None
