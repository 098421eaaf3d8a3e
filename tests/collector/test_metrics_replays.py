"""Replays of recorded runs are not counted as tasks, and are listed next to their originals only when asked."""

from __future__ import annotations

from tests.collector.otlp_payloads import T0, protobuf_request

PB = {"content-type": "application/x-protobuf"}
ORIGINAL = "0a" * 16
REPLAY = "0b" * 16


def test_a_replay_trace_is_listed_when_asked_but_not_counted(asgi_collector):
    agent = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support"}
    spans = [
        {"trace_id": ORIGINAL, "span_id": "01" * 8, "name": "invoke_agent support", "status": 2, "attributes": agent},
        {
            "trace_id": REPLAY,
            "span_id": "02" * 8,
            "name": "invoke_agent support",
            "start": T0 + 10**9,
            "end": T0 + 2 * 10**9,
            "attributes": {**agent, "tracereel.replay.of": ORIGINAL, "tracereel.replay.mode": "strict"},
        },
    ]
    window = {"from": T0 // 10**9 - 60, "to": T0 // 10**9 + 60}
    with asgi_collector.client() as http:
        assert http.post("/v1/traces", content=protobuf_request(spans), headers=PB).status_code == 200
        metrics = http.get("/api/v1/metrics", params=window).json()
        own = http.get("/api/v1/traces", params=window).json()["traces"]
        listed = http.get("/api/v1/traces", params={**window, "include_replays": "true"}).json()["traces"]
    assert [t["trace_id"] for t in own] == [ORIGINAL]
    assert metrics["tasks"] == 1
    assert metrics["task_success_rate"] == 0.0  # only the failed original counts
    assert {t["trace_id"]: t["replay_of"] for t in listed} == {ORIGINAL: "", REPLAY: ORIGINAL}
