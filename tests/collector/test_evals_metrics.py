"""Eval case runs are traces like replays: readable, listed when asked, not counted in the production metrics."""

from __future__ import annotations

from tests.collector.otlp_payloads import T0, protobuf_request

PB = {"content-type": "application/x-protobuf"}
PRODUCTION = "0a" * 16
EVAL_REPLAY = "0b" * 16
EVAL_LIVE = "0c" * 16
AGENT = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support"}
EVAL = {
    "tracereel.eval.run_id": "run-1",
    "tracereel.eval.dataset": "support-golden",
    "tracereel.eval.case_id": "refund-lost-order",
}


def _root(trace_id: str, span_id: str, attributes: dict[str, str], **extra: object) -> dict[str, object]:
    return {"trace_id": trace_id, "span_id": span_id, "name": "invoke_agent support", "attributes": attributes, **extra}


def test_an_eval_case_run_is_listed_and_readable_but_not_counted(asgi_collector):
    later = {"start": T0 + 10**9, "end": T0 + 2 * 10**9}
    spans = [
        _root(PRODUCTION, "01" * 8, {**AGENT, "tracereel.task.success": "true"}),
        # A case run from a recorded trace (a replay too) and one of a case without a trace (live).
        _root(
            EVAL_REPLAY,
            "02" * 8,
            {**AGENT, **EVAL, "tracereel.replay.of": PRODUCTION, "tracereel.task.success": "false"},
            status=2,
            **later,
        ),
        _root(EVAL_LIVE, "03" * 8, {**AGENT, **EVAL, "tracereel.task.success": "false"}, status=2, **later),
        # A child span of the live case run: the flag is read from the root.
        {"trace_id": EVAL_LIVE, "span_id": "04" * 8, "parent": "03" * 8, "name": "execute_tool lookup", **later},
    ]
    window = {"from": T0 // 10**9 - 60, "to": T0 // 10**9 + 60}
    with asgi_collector.client() as http:
        assert http.post("/v1/traces", content=protobuf_request(spans), headers=PB).status_code == 200
        metrics = http.get("/api/v1/metrics", params=window).json()
        series = http.get("/api/v1/metrics/timeseries", params=window).json()
        agents = http.get("/api/v1/metrics/breakdown", params={**window, "by": "agent"}).json()["rows"]
        own = {t["trace_id"] for t in http.get("/api/v1/traces", params=window).json()["traces"]}
        every = http.get("/api/v1/traces", params={**window, "include_replays": "true"}).json()["traces"]
        live = http.get(f"/api/v1/traces/{EVAL_LIVE}").json()
    assert metrics["tasks"] == 1
    assert metrics["task_success_rate"] == 1.0  # the failed eval runs do not count
    assert sum(point["tasks"] for point in series["points"]) == 1
    assert [(row["agent"], row["tasks"]) for row in agents] == [("support", 1)]
    assert own == {PRODUCTION}
    marks = {t["trace_id"]: (t["replay_of"], t["eval_run_id"]) for t in every}
    assert marks == {PRODUCTION: ("", ""), EVAL_REPLAY: (PRODUCTION, "run-1"), EVAL_LIVE: ("", "run-1")}
    assert len(live["spans"]) == 2
    root = next(s for s in live["spans"] if not s["parent_span_id"])
    assert root["attributes"]["tracereel.eval.run_id"] == "run-1"
