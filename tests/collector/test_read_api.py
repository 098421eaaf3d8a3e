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


def test_list_is_newest_first_with_summaries(collector):
    seed(collector)
    with collector.client() as http:
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


def test_filters_and_limit(collector):
    seed(collector)
    with collector.client() as http:

        def ids(**params: object) -> list[str]:
            response = http.get("/api/v1/traces", params=params)
            assert response.status_code == 200, response.text
            return [t["trace_id"][-1] for t in response.json()["traces"]]

        assert ids(service="shop") == ["3", "2", "1"]
        assert ids(agent="cart") == ["4", "2", "1"]
        assert ids(status="error") == ["2"]
        assert ids(status="OK") == ["3"]
        assert ids(limit=2) == ["4", "3"]
        start = T0 // 10**9
        assert ids(**{"from": start + 3600, "to": start + 3 * 3600}) == ["3", "2"]
        assert ids(**{"from": "2023-11-14T23:13:20Z"}) == ["4", "3", "2"]
        assert ids(service="nope") == []


def test_bad_parameters_are_400_naming_the_parameter(collector):
    with collector.client() as http:
        bad_time = http.get("/api/v1/traces", params={"from": "yesterday-ish"})
        assert bad_time.status_code == 400
        assert "from='yesterday-ish' is not an ISO-8601 time or unix seconds" in bad_time.json()["detail"]
        bad_limit = http.get("/api/v1/traces", params={"limit": 0})
        assert bad_limit.status_code == 400
        assert "limit" in bad_limit.json()["detail"]
        bad_status = http.get("/api/v1/traces", params={"status": "broken"})
        assert bad_status.status_code == 400
        assert "status" in bad_status.json()["detail"]


def test_trace_detail_and_its_errors(collector):
    seed(collector)
    with collector.client() as http:
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


def test_healthz_reports_the_store(collector):
    seed(collector)
    with collector.client() as http:
        health = http.get("/healthz").json()
    assert health == {"status": "ok", "store": "chdb", "stored_spans": 8, "pending_spans": 0, "inserts": 4}
