"""TRACEREEL_API_KEY: every endpoint but /healthz needs ``Authorization: Bearer <key>``; a 401 says nothing more."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.collector.otlp_payloads import ROOT, protobuf_request
from tests.eval_reports import report
from tracereel.collector.api import OPEN_ROUTERS, ROUTERS

KEY = "s3cret"
UNAUTHORIZED = {"detail": "missing or wrong API key (Authorization: Bearer ...)"}
PB = {"content-type": "application/x-protobuf"}
# A body each write route accepts (the trace it names is not stored: "no trace with id").
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/scores"): {"trace_id": "ab" * 16, "name": "q", "value": 1},
    ("POST", "/api/v1/scores/batch"): {"scores": [{"trace_id": "ab" * 16, "name": "q", "value": 1}]},
    ("POST", "/api/v1/online/rules"): {"name": "m1", "scorers": ["escalated"]},
    ("POST", "/api/v1/review/queues"): {"name": "m1", "when": "status = error"},
    ("POST", f"/api/v1/review/queues/m1/items/{'ab' * 16}"): {"verdict": "pass"},
}
REQUIRED_PARAMS = {
    "/api/v1/metrics/breakdown": {"by": "model"},
    "/api/v1/compare": {"agent": "support", "baseline": "1.0", "canary": "2.0"},
}


@pytest.fixture
def keyed(asgi_collector_factory: Any) -> TestClient:
    """An in-process collector that wants the key; its client sends none unless told."""
    return asgi_collector_factory(api_key=KEY).http


def _protected_endpoints() -> list[tuple[str, str]]:
    """(method, path) of every route the collector serves that needs the key, path parameters filled in."""
    endpoints = []
    for router in ROUTERS:
        if router in OPEN_ROUTERS:
            continue
        for route in router.routes:
            path = (
                route.path.replace("{trace_id}", "ab" * 16)
                .replace("{run_id}", "run-1")
                .replace("{key_id}", "trk_000000000000")
                .replace("{name}", "m1")
            )
            endpoints.extend((method, path) for method in sorted(route.methods))
    return endpoints


def test_every_endpoint_but_healthz_refuses_a_missing_or_wrong_key_alike(keyed):
    endpoints = _protected_endpoints()
    assert ("POST", "/v1/traces") in endpoints and ("GET", "/openapi.json") in endpoints
    for method, path in endpoints:
        for authorization in (None, "Bearer wrong", f"bearer {KEY}", KEY, f"Bearer {KEY} "):
            headers = {"authorization": authorization} if authorization else {}
            response = keyed.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path, authorization)
            if method != "HEAD":
                assert response.json() == UNAUTHORIZED, (method, path, authorization)


def test_every_endpoint_answers_with_the_key(keyed):
    good = {"authorization": f"Bearer {KEY}"}
    for method, path in _protected_endpoints():
        if path == "/v1/traces":
            response = keyed.post(path, content=protobuf_request([{"span_id": ROOT}]), headers={**good, **PB})
        elif (method, path) == ("POST", "/api/v1/evals/runs"):
            response = keyed.post(path, json=report("run-1"), headers=good)
        elif (method, path) == ("POST", "/api/v1/keys"):
            response = keyed.post(path, json={"team": "t", "role": "read"}, headers=good)
        elif (method, path) == ("POST", "/api/v1/switches"):
            response = keyed.post(path, json={"agent": "a", "reason": "test"}, headers=good)
        elif (method, path) == ("POST", "/api/v1/switches/revive"):  # after the kill above (routes in order)
            response = keyed.post(path, json={"agent": "a"}, headers=good)
        elif (method, path) == ("POST", "/api/v1/monitors"):
            monitor = {"name": "m1", "metric": "loop_rate", "above": 0.1, "notify": "http://127.0.0.1:9/hook"}
            response = keyed.post(path, json=monitor, headers=good)
        elif (method, path) in BODIES:
            response = keyed.request(method, path, json=BODIES[method, path], headers=good)
        else:
            response = keyed.request(method, path, headers=good, params=REQUIRED_PARAMS.get(path))
        # The only 404s: the trace id or key id asked for is not stored; the monitor's history after
        # it was removed; the review queue's items and the online rule's pending traces after they were removed.
        assert (
            response.status_code in (200, 201)
            or "no trace with id" in response.json()["detail"]
            or "no key with id" in response.json()["detail"]
            or response.json()["detail"]
            in ("no monitor named m1", "no review queue named m1", "no online rule named m1")
        ), (method, path, response.text)


def test_healthz_is_open(keyed):
    assert keyed.get("/healthz").json()["status"] == "ok"
    assert keyed.get("/healthz", headers={"authorization": "Bearer wrong"}).status_code == 200


def test_unknown_paths_and_methods_are_401_without_the_key_and_404_or_405_with_it(keyed):
    good = {"authorization": f"Bearer {KEY}"}
    for method, path, routed in [("GET", "/nope", 404), ("DELETE", "/v1/traces", 405), ("PUT", "/openapi.json", 405)]:
        assert keyed.request(method, path).json() == UNAUTHORIZED
        assert keyed.request(method, path, headers=good).status_code == routed
    # /healthz stays open whatever the method.
    assert keyed.post("/healthz").status_code == 405


def test_the_key_is_checked_before_parameters_and_body(keyed):
    assert keyed.get("/api/v1/traces", params={"limit": 0}).json() == UNAUTHORIZED
    assert keyed.get("/api/v1/metrics", params={"from": "yesterday-ish"}).json() == UNAUTHORIZED
    assert keyed.post("/v1/traces", content=b"\x0a\xff\xff", headers=PB).json() == UNAUTHORIZED
    assert keyed.post("/api/v1/evals/runs", json=report("run-1")).json() == UNAUTHORIZED
    assert keyed.get("/api/v1/evals/runs/run-1").json() == UNAUTHORIZED
    assert keyed.app.state.log.appended_records == 0


def test_without_a_key_everything_is_open(asgi_collector):
    with asgi_collector.client() as http:
        assert http.get("/api/v1/traces").status_code == 200
        assert http.get("/openapi.json").json()["info"]["title"] == "tracereel collector"
        assert http.get("/nope").status_code == 404
