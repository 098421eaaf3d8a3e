"""The monitors API in process: definitions checked with a 400 naming the field, 409 and 404, secrets masked, keys."""

from __future__ import annotations

from typing import Any

from tracereel.catalog import METRIC_KEYS

HOOK = "https://hooks.example.com/services/T0/B0/s3cr3t-token"
BASE = {"name": "success", "metric": "task_success_rate", "below": 0.9, "notify": HOOK}


def _post(http: Any, **changes: Any) -> Any:
    body = {k: v for k, v in {**BASE, **changes}.items() if v is not None}
    return http.post("/api/v1/monitors", json=body)


# (what is changed in a good definition, what the 400 says)
BAD: list[tuple[dict[str, Any], str]] = [
    ({"metric": "succes_rate"}, "metric: unknown metric 'succes_rate'; expected one of tasks, task_success_rate"),
    ({"metric": "eval.pass_rate"}, "metric: metric eval.pass_rate is read from eval runs: give the golden set"),
    ({"metric": "eval.score."}, "names no scorer"),
    ({"dataset": "golden"}, "--dataset is only for eval metrics"),
    ({"above": 0.5}, "give exactly one of above or below"),
    ({"below": None}, "give exactly one of above or below"),
    ({"below": "low"}, "below: Input should be a valid number"),
    ({"below": "inf"}, "below: Input should be a finite number"),
    ({"window": "forever"}, "window: window 'forever' is not a duration such as 30m, 1h or 1d"),
    ({"window": "31d"}, "longer than 30 days"),
    ({"name": "no spaces"}, "name: expected 1-64 letters, digits or . _ -"),
    ({"notify": None}, "notify: Field required"),
    ({"notify": "ftp://example.com/x"}, "notify: expected the http(s):// URL"),
    ({"format": "teams"}, "format: Input should be 'pagerduty', 'slack' or 'webhook'"),
    ({"format": "pagerduty"}, "routing_key: the pagerduty format needs the integration's routing key"),
    ({"routing_key": "abc"}, "routing_key: only the pagerduty format takes one, not webhook"),
    ({"min_tasks": 0}, "min_tasks: Input should be greater than or equal to 1"),
    ({"min_tasks": True}, "min_tasks: Input should be a valid integer"),
    ({"version": "1.0"}, "version: give the agent too"),
    ({"severity": "high"}, "severity: Extra inputs are not permitted"),
]


def test_a_bad_definition_is_refused_naming_the_field_and_stores_nothing(asgi_collector):
    # One collector for every case (a store per case would take most of the test's time).
    with asgi_collector.client() as http:
        for changes, message in BAD:
            answer = _post(http, **changes)
            assert answer.status_code == 422, (changes, answer.text)
            assert answer.json()["detail"].startswith("invalid request body: ")
            assert message in answer.json()["detail"], changes
        assert http.get("/api/v1/monitors").json()["monitors"] == []


def test_the_unknown_metric_message_lists_every_accepted_name(asgi_collector):
    with asgi_collector.client() as http:
        detail = _post(http, metric="nope").json()["detail"]
    for key in METRIC_KEYS:
        assert key in detail
    assert "eval.pass_rate, eval.score.<scorer>" in detail


def test_a_body_that_is_not_json_or_not_an_object(asgi_collector):
    with asgi_collector.client() as http:
        answer = http.post("/api/v1/monitors", content=b"{", headers={"content-type": "application/json"})
        assert (answer.status_code, answer.json()["detail"]) == (400, "invalid request body: the body is not JSON")
        answer = http.post("/api/v1/monitors", json=[1])
        assert answer.status_code == 422
        assert answer.json()["detail"] == (
            "invalid request body: Input should be a valid dictionary or object to extract fields from"
        )


def test_add_list_remove_and_the_conflicts(asgi_collector):
    with asgi_collector.client() as http:
        created = _post(http, agent="support", version="1.5.0", window="30m", min_tasks=20)
        assert created.status_code == 201
        shown = created.json()
        # The webhook URL holds its token in the path: shown as scheme and host only.
        assert shown["notify"] == "https://hooks.example.com/…"
        assert shown["format"] == "webhook" and shown["routing_key"] is None
        assert (shown["condition"], shown["threshold"], shown["window_seconds"]) == ("below", 0.9, 1800)
        assert shown["team"] == ""

        again = _post(http, below=0.5)
        assert again.status_code == 409
        assert "a monitor named success already exists" in again.json()["detail"]

        listed = http.get("/api/v1/monitors").json()
        assert [m["name"] for m in listed["monitors"]] == ["success"]
        assert "s3cr3t" not in str(listed)

        assert http.delete("/api/v1/monitors/success").json() == {"removed": "success"}
        gone = http.delete("/api/v1/monitors/success")
        assert (gone.status_code, gone.json()["detail"]) == (404, "no monitor named success")
        assert http.get("/api/v1/monitors/success/history").status_code == 404
        assert http.get("/api/v1/monitors").json()["monitors"] == []
        # The name is free again.
        assert _post(http).status_code == 201


def test_the_format_follows_the_url_unless_given(asgi_collector):
    with asgi_collector.client() as http:
        slack = _post(http, name="s", notify="https://hooks.slack.com/services/T/B/x").json()
        pager = _post(
            http, name="p", notify="https://events.pagerduty.com/v2/enqueue", routing_key="0123456789abcdef"
        ).json()
    assert (slack["format"], pager["format"], pager["routing_key"]) == ("slack", "pagerduty", "****cdef")


def test_with_a_key_every_monitor_endpoint_needs_it(asgi_collector_factory):
    collector = asgi_collector_factory(api_key="monitor-key-3f9a")
    with collector.client() as http:
        assert _post(http).status_code == 401
        assert http.get("/api/v1/monitors").status_code == 401
        assert http.delete("/api/v1/monitors/success").status_code == 401
        assert http.get("/api/v1/monitors/success/history").status_code == 401
        auth = {"authorization": "Bearer monitor-key-3f9a"}
        assert http.post("/api/v1/monitors", json=BASE, headers=auth).status_code == 201
        assert [m["name"] for m in http.get("/api/v1/monitors", headers=auth).json()["monitors"]] == ["success"]
