"""GET /api/v1/traces and /api/v1/traces/{id}: filters, order, shapes and errors."""

from __future__ import annotations

from tests.collector.otlp_payloads import T0, protobuf_request

PB = {"content-type": "application/x-protobuf"}
HOUR = 3600 * 10**9


def seed(collector) -> None:
    """Four traces: two services, two agents, one failed, one hour apart."""
    bodies = []
    for i, (service, agent, status) in enumerate(
        [("shop", "cart", 0), ("shop", "cart", 2), ("shop", "search", 1), ("bank", "cart", 0)]
    ):
        trace = f"{i + 1:032x}"
        root = f"{i + 1:016x}"
        start = T0 + i * HOUR
        spans = [
            {
                "trace_id": trace,
                "span_id": root,
                "name": f"invoke_agent {agent}",
                "start": start,
                "end": start + 5_000_000,
                "status": status,
                "attributes": {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent},
            },
            {
                "trace_id": trace,
                "span_id": f"{i + 101:016x}",
                "parent": root,
                "name": "execute_tool t",
                "start": start + 1000,
                "attributes": {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "t"},
            },
        ]
        bodies.append(protobuf_request(spans, service=service))
    with collector.client() as http:
        for body in bodies:
            assert http.post("/v1/traces", content=body, headers=PB).status_code == 200


def test_list_is_newest_first_with_summaries(asgi_collector):
    seed(asgi_collector)
    with asgi_collector.client() as http:
        traces = http.get("/api/v1/traces").json()["traces"]
    assert [t["trace_id"] for t in traces] == [f"{i:032x}" for i in (4, 3, 2, 1)]
    newest = traces[0]
    assert newest["root_name"] == "invoke_agent cart"
    assert newest["service_name"] == "bank"
    assert newest["span_count"] == 2
    assert newest["steps"] == 1
    assert newest["duration_ms"] == 5.0
    assert newest["status_code"] == "UNSET"
    assert newest["start_time"] == "2023-11-15T01:13:20Z"  # T0 (2023-11-14T22:13:20Z) + 3 h


def test_filters_and_limit(asgi_collector):
    seed(asgi_collector)
    with asgi_collector.client() as http:

        def ids(**params: object) -> list[str]:
            response = http.get("/api/v1/traces", params=params)
            assert response.status_code == 200, response.text
            return [t["trace_id"][-1] for t in response.json()["traces"]]

        assert ids(service="shop") == ["3", "2", "1"]
        assert ids(agent="cart") == ["4", "2", "1"]
        assert ids(status="error") == ["2"]
        # ok is every root not in error: OpenTelemetry leaves a span that ended well UNSET.
        assert ids(status="OK") == ["4", "3", "1"]
        assert ids(status="unset") == ["4", "1"]
        assert ids(limit=2) == ["4", "3"]
        start = T0 // 10**9
        assert ids(**{"from": start + 3600, "to": start + 3 * 3600}) == ["3", "2"]
        assert ids(**{"from": "2023-11-14T23:13:20Z"}) == ["4", "3", "2"]
        assert ids(service="nope") == []


def test_bad_parameters_are_400_naming_the_parameter(asgi_collector):
    with asgi_collector.client() as http:
        bad_time = http.get("/api/v1/traces", params={"from": "yesterday-ish"})
        assert bad_time.status_code == 400
        assert "from='yesterday-ish' is not an ISO-8601 time or unix seconds" in bad_time.json()["detail"]
        bad_limit = http.get("/api/v1/traces", params={"limit": 0})
        assert bad_limit.status_code == 400
        assert "limit" in bad_limit.json()["detail"]
        bad_status = http.get("/api/v1/traces", params={"status": "broken"})
        assert bad_status.status_code == 400
        assert "status" in bad_status.json()["detail"]


def test_a_parameter_the_route_does_not_take_is_400_naming_it(asgi_collector):
    with asgi_collector.client() as http:
        # A typo must not widen the answer to every agent's traces.
        typo = http.get("/api/v1/traces", params={"agnet": "billing"})
        assert typo.status_code == 400
        assert typo.json()["detail"].startswith("unknown query parameter 'agnet'; this route takes: ")
        assert "agent" in typo.json()["detail"]
        metrics = http.get("/api/v1/metrics", params={"agent": "support", "verison": "2"})
        assert metrics.status_code == 400 and "'verison'" in metrics.json()["detail"]
        # The parameters a route's dependencies read count as its own.
        assert http.get("/api/v1/traces", params={"agent": "support", "limit": 5}).status_code == 200


def test_a_single_value_parameter_given_twice_is_400_naming_it(asgi_collector):
    with asgi_collector.client() as http:
        # Taking the last value would answer for version 2 alone while the user asked for both.
        twice = http.get("/api/v1/metrics", params=[("version", "1"), ("version", "2")])
        assert twice.status_code == 400
        assert twice.json()["detail"] == "query parameter 'version' given more than once; it takes one value"
        # A parameter that takes a list may repeat.
        compare = http.get(
            "/api/v1/compare",
            params=[
                ("agent", "a"),
                ("baseline", "1"),
                ("canary", "2"),
                ("tolerance", "p95_latency_ms=5"),
                ("tolerance", "loop_rate=1%"),
            ],
        )
        assert compare.status_code == 200, compare.text


def test_trace_detail_and_its_errors(asgi_collector):
    seed(asgi_collector)
    with asgi_collector.client() as http:
        detail = http.get(f"/api/v1/traces/{2:032X}")  # upper case is accepted, answered lower case
        assert detail.status_code == 200
        body = detail.json()
        assert body["trace_id"] == f"{2:032x}"
        root, tool = body["spans"]
        assert (root["parent_span_id"], tool["parent_span_id"]) == ("", root["span_id"])
        assert (root["kind"], tool["kind"]) == ("agent", "tool")
        assert root["status_code"] == "ERROR"
        assert set(root) >= {
            "span_id", "parent_span_id", "name", "kind", "start_time_unix_nano", "duration_ns",
            "status_code", "status_message", "attributes", "events",
        }  # fmt: skip

        missing = http.get(f"/api/v1/traces/{99:032x}")
        assert missing.status_code == 404
        assert f"no trace with id {99:032x}" in missing.json()["detail"]
        malformed = http.get("/api/v1/traces/not-a-trace")
        assert malformed.status_code == 400
        assert "is not 32 hex digits" in malformed.json()["detail"]


def test_healthz_reports_the_store_and_the_log(asgi_collector):
    seed(asgi_collector)
    asgi_collector.wait_for_spans(8)
    with asgi_collector.client() as http:
        health = http.get("/healthz").json()
    assert 1 <= health.pop("inserts") <= 4
    lag = health["log"].pop("stored_lag_seconds")
    assert 0 <= lag["p50"] <= lag["p99"] <= lag["max"] < 60
    assert health == {
        "status": "ok",
        "store": "chdb",
        "stored_spans": 8,
        "store_error": None,
        "duplicate_spans_dropped": 0,
        "log": {
            "depth_bytes": 0,
            "depth_records": 0,
            "lag_seconds": 0.0,
            "max_bytes": 1024**3,
            "drain_interval_seconds": 1.0,
        },
        "redactions": {},
    }


def test_a_run_that_never_finished_is_listed_as_incomplete(asgi_collector):
    crashed, finished = "0e" * 16, "0f" * 16
    marker = {"tracereel.task.start": True, "gen_ai.agent.name": "support", "gen_ai.agent.version": "2"}
    agent = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support"}
    spans = [
        # The crashed run: its root never ended, so only the marker and a finished tool call arrived.
        {"trace_id": crashed, "span_id": "a1" * 8, "parent": "a0" * 8, "name": "task_start support",
         "start": T0 + 1000, "end": T0 + 1000, "attributes": marker},
        {"trace_id": crashed, "span_id": "a2" * 8, "parent": "a0" * 8, "name": "execute_tool lookup",
         "start": T0 + 2000, "end": T0 + 7_000_000, "attributes": {"gen_ai.operation.name": "execute_tool"}},
        # A finished run has a root as well as its marker: listed once.
        {"trace_id": finished, "span_id": "b0" * 8, "name": "invoke_agent support", "start": T0 - HOUR,
         "end": T0 - HOUR + 5_000_000, "attributes": agent},
        {"trace_id": finished, "span_id": "b1" * 8, "parent": "b0" * 8, "name": "task_start support",
         "start": T0 - HOUR + 10, "end": T0 - HOUR + 10, "attributes": marker},
    ]  # fmt: skip
    with asgi_collector.client() as http:
        assert http.post("/v1/traces", content=protobuf_request(spans), headers=PB).status_code == 200
        listed = http.get("/api/v1/traces").json()["traces"]
        only_agent = http.get("/api/v1/traces", params={"agent": "support"}).json()["traces"]
        by_status = http.get("/api/v1/traces", params={"status": "unset"}).json()["traces"]
    assert [t["trace_id"] for t in listed] == [crashed, finished]
    incomplete, complete = listed
    assert incomplete["complete"] is False and complete["complete"] is True
    assert incomplete["root_name"] == "invoke_agent support"
    assert incomplete["agent_version"] == "2"
    assert incomplete["status_code"] == "UNSET"
    assert incomplete["span_count"] == 2
    assert incomplete["duration_ms"] == 6.999  # from the marker to the end of the last span that arrived
    assert [t["trace_id"] for t in only_agent] == [crashed, finished]
    assert [t["trace_id"] for t in by_status] == [finished]  # a status filter lists finished runs only
