"""Monitors end to end: a real collector under uvicorn, tasks sent over OTLP, notifications to a local receiver.

Each test waits for what it expects (requests at the receiver, evaluation cycles of the
runner), never for a time. "Nothing more was sent" is checked after several more evaluation
cycles have run.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from inline_snapshot import snapshot

from tests.conftest import RunningCollector, start_collector
from tests.eval_reports import report
from tests.monitor_support import Receiver, receiver, send_tasks
from tests.support import wait_until
from tracereel.client import CollectorClient
from tracereel.contracts.monitors import MonitorDefinition, MonitorView

FAST = {"monitor_interval": 0.1, "monitor_backoff": 0.05}


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    """A local webhook receiver."""
    with receiver() as rec:
        yield rec


@pytest.fixture
def monitored(store: Any) -> Iterator[RunningCollector]:
    """A collector evaluating monitors every 0.1 s, retrying failed deliveries after 0.05 s (doubling)."""
    running, _ = start_collector(store, **FAST)
    yield running
    running.stop()


def _cycles(running: RunningCollector, more: int = 5) -> None:
    """Wait until the runner has evaluated every monitor ``more`` more times."""
    runner = running.app.state.monitors
    target = runner.cycles + more
    wait_until(lambda: runner.cycles >= target, f"{more} more evaluation cycles")


def _received(hooks: Receiver, count: int, path: str | None = None) -> list[Any]:
    wait_until(
        lambda: hooks.count(path) >= count,
        f"{count} notification(s) at {path or 'the receiver'}",
        state=lambda: f"received {hooks.bodies()}",
    )
    return hooks.bodies(path)


def _status(api: CollectorClient, name: str) -> dict[str, Any]:
    status = next(m for m in api.monitors() if m.name == name).status
    return status.model_dump() if status else {}


def _history(api: CollectorClient, name: str) -> list[dict[str, Any]]:
    # As the API shows each entry: only the fields of its kind.
    return [entry.model_dump(exclude_unset=True) for entry in api.monitor_history(name)]


def _add(api: CollectorClient, hooks: Receiver, name: str = "success", **extra: Any) -> MonitorView:
    definition = {
        "name": name,
        "metric": "task_success_rate",
        "below": 0.5,
        "window": "1h",
        "agent": "pager",
        "min_tasks": 3,
        "notify": hooks.url(),
        "format": "webhook",
        **extra,
    }
    return api.add_monitor(MonitorDefinition.model_validate(definition))


def _timeless(body: dict[str, Any]) -> dict[str, Any]:
    """A webhook body with its times checked for form and replaced, so it can be compared whole."""
    out = dict(body)
    for key in ("since", "time"):
        assert datetime.fromisoformat(out[key]).tzinfo is not None
        out[key] = "<time>"
    return out


def test_a_monitor_fires_once_while_firing_and_resolves_once(monitored, hooks):
    api = CollectorClient(monitored.url)
    _add(api, hooks)
    send_tasks(monitored.url, 4, success=False)
    [fired] = _received(hooks, 1)
    _cycles(monitored)
    assert hooks.count() == 1  # deduplicated: still firing, nothing more sent
    status = _status(api, "success")
    assert status["state"] == "firing" and status["notified"] == "trigger" and status["pending"] is None
    dedup = status["dedup_key"]
    assert dedup.startswith("tracereel-success-") and dedup.endswith("-1")

    send_tasks(monitored.url, 12, success=True)  # 12 of 16 succeed: 75%, above the threshold again
    fired, resolved = _received(hooks, 2)
    _cycles(monitored)
    assert hooks.count() == 2
    assert _timeless(fired) == snapshot(
        {
            "monitor": "success",
            "event": "firing",
            "dedup_key": dedup,
            "metric": "task_success_rate",
            "value": 0.0,
            "condition": "below",
            "threshold": 0.5,
            "window_seconds": 3600,
            "tasks": 4,
            "filters": {"agent": "pager", "version": None, "service": None, "dataset": None},
            "since": "<time>",
            "time": "<time>",
            "summary": "tracereel monitor success firing: task_success_rate = 0.0%, below 50.0% over the last 1h "
            "(agent pager; 4 tasks)",
        }
    )
    assert _timeless(resolved) == snapshot(
        {
            "monitor": "success",
            "event": "resolved",
            "dedup_key": dedup,
            "metric": "task_success_rate",
            "value": 0.75,
            "condition": "below",
            "threshold": 0.5,
            "window_seconds": 3600,
            "tasks": 16,
            "filters": {"agent": "pager", "version": None, "service": None, "dataset": None},
            "since": "<time>",
            "time": "<time>",
            "summary": "tracereel monitor success resolved: task_success_rate = 75.0%, no longer below 50.0% over "
            "the last 1h (agent pager; 16 tasks)",
        }
    )
    status = _status(api, "success")
    assert (status["state"], status["value"], status["tasks"], status["notified"]) == ("ok", 0.75, 16, "resolve")

    history = api.monitor_history("success")
    compact = [(e.kind, e.state, e.action, e.attempt, e.outcome) for e in reversed(history)]
    assert compact == [
        ("state", "firing", None, None, None),
        ("delivery", None, "trigger", 1, "delivered"),
        ("state", "ok", None, None, None),
        ("delivery", None, "resolve", 1, "delivered"),
    ]
    assert history[0].status_code == 202


def test_min_tasks_judges_nothing_below_it(monitored, hooks):
    api = CollectorClient(monitored.url)
    _add(api, hooks, min_tasks=5)
    send_tasks(monitored.url, 4, success=False)
    wait_until(lambda: _status(api, "success").get("tasks") == 4, "the monitor to see the 4 tasks")
    _cycles(monitored)
    assert _status(api, "success")["state"] == "insufficient"
    assert hooks.count() == 0
    send_tasks(monitored.url, 1, success=False)
    [fired] = _received(hooks, 1)
    assert fired["tasks"] == 5 and fired["event"] == "firing"


def test_other_agents_versions_and_services_do_not_count(monitored, hooks):
    api = CollectorClient(monitored.url)
    _add(api, hooks, version="2.0", service="support-prod", min_tasks=1)
    send_tasks(monitored.url, 3, success=False, version="1.0")
    send_tasks(monitored.url, 3, success=False, agent="other", version="2.0")
    send_tasks(monitored.url, 3, success=False, version="2.0", service="staging")
    send_tasks(monitored.url, 2, success=True, version="2.0")
    wait_until(lambda: _status(api, "success").get("tasks") == 2, "the monitor to count its 2 tasks only")
    _cycles(monitored)
    assert _status(api, "success")["state"] == "ok" and hooks.count() == 0
    send_tasks(monitored.url, 3, success=False, version="2.0")
    [fired] = _received(hooks, 1)
    assert (fired["tasks"], fired["value"]) == (5, 0.4)
    # The traces behind it (what the dashboard links to): the same filters on the trace list.
    behind = api.traces(agent="pager", version="2.0", service="support-prod", limit=100)
    assert len(behind) == 5 and {t["agent_version"] for t in behind} == {"2.0"}


def test_a_receiver_that_hangs_delays_no_other_monitor(monitored, hooks):
    api = CollectorClient(monitored.url)
    hooks.held.add("/hangs")
    try:
        _add(api, hooks, name="stuck", notify=hooks.url("/hangs"))
        _add(api, hooks, name="fine", notify=hooks.url("/fine"))
        send_tasks(monitored.url, 4, success=False)
        _received(hooks, 1, "/hangs")  # arrived, and not answered
        _received(hooks, 1, "/fine")
        _cycles(monitored)  # evaluation goes on meanwhile
        assert _status(api, "stuck")["pending"] == "trigger" and _status(api, "fine")["notified"] == "trigger"
    finally:
        hooks.release.set()
    wait_until(lambda: _status(api, "stuck").get("notified") == "trigger", "the held delivery to complete")


def test_a_trigger_delivered_after_the_monitor_resolved_is_followed_by_its_resolve(monitored, hooks):
    api = CollectorClient(monitored.url)
    hooks.held.add("/hook")
    try:
        _add(api, hooks)
        send_tasks(monitored.url, 4, success=False)
        _received(hooks, 1)  # the trigger is at the receiver, not yet answered
        send_tasks(monitored.url, 12, success=True)
        wait_until(lambda: _status(api, "success").get("state") == "ok", "the monitor to resolve")
    finally:
        hooks.release.set()
    fired, resolved = _received(hooks, 2)
    assert (fired["event"], resolved["event"]) == ("firing", "resolved")
    assert fired["dedup_key"] == resolved["dedup_key"]
    _cycles(monitored)
    assert hooks.count() == 2


def test_a_trigger_never_delivered_is_not_resolved_and_a_new_incident_is_not_delayed(store, hooks):
    running, _ = start_collector(store, monitor_interval=0.1, monitor_backoff=3600, monitor_max_attempts=10)
    try:
        api = CollectorClient(running.url)
        hooks.answer(503)
        _add(api, hooks)
        send_tasks(running.url, 4, success=False)
        _received(hooks, 1)  # failed; the retry is an hour away
        send_tasks(running.url, 12, success=True)
        wait_until(lambda: _status(api, "success").get("state") == "ok", "the monitor to resolve")
        skipped = api.monitor_history("success")[0]
        assert (skipped.action, skipped.outcome) == ("resolve", "skipped")
        assert skipped.error == "the trigger was never delivered, so there is nothing to resolve"
        assert _status(api, "success")["pending"] is None
        # A new incident is delivered at once: the job waiting out its backoff was woken.
        send_tasks(running.url, 20, success=False)
        first, second = _received(hooks, 2)
        assert first["dedup_key"].endswith("-1") and second["dedup_key"].endswith("-2")
        wait_until(lambda: _status(api, "success").get("notified") == "trigger", "the second incident's page")
    finally:
        running.stop()


def test_pagerduty_and_slack_bodies(monitored, hooks):
    api = CollectorClient(monitored.url)
    key = "R0UTINGKEY0123456789abcdef012345"
    shown = _add(api, hooks, name="pd", notify=hooks.url("/pd"), format="pagerduty", routing_key=key)
    assert shown.routing_key == "****2345" and shown.notify == f"{hooks.base}/…"
    _add(api, hooks, name="slack", notify=hooks.url("/slack"), format="slack")
    send_tasks(monitored.url, 4, success=False)
    [trigger] = _received(hooks, 1, "/pd")
    [firing] = _received(hooks, 1, "/slack")
    dedup = _status(api, "pd")["dedup_key"]
    timestamp = trigger["payload"].pop("timestamp")
    assert datetime.fromisoformat(timestamp) <= datetime.now(timezone.utc)
    assert trigger == snapshot(
        {
            "routing_key": key,
            "event_action": "trigger",
            "dedup_key": dedup,
            "payload": {
                "summary": "tracereel monitor pd firing: task_success_rate = 0.0%, below 50.0% over the last 1h "
                "(agent pager; 4 tasks)",
                "source": "tracereel:pager",
                "severity": "error",
                "component": "pager",
                "class": "task_success_rate",
                "custom_details": {
                    "monitor": "pd",
                    "metric": "task_success_rate",
                    "value": 0.0,
                    "condition": "below",
                    "threshold": 0.5,
                    "window_seconds": 3600,
                    "tasks": 4,
                    "agent": "pager",
                },
            },
            "client": "tracereel",
        }
    )
    assert firing == snapshot(
        {
            "text": ":rotating_light: tracereel monitor slack firing: task_success_rate = 0.0%, below 50.0% over the "
            "last 1h (agent pager; 4 tasks)"
        }
    )
    send_tasks(monitored.url, 12, success=True)
    resolve = _received(hooks, 2, "/pd")[1]
    resolved = _received(hooks, 2, "/slack")[1]
    assert resolve == {"routing_key": key, "event_action": "resolve", "dedup_key": dedup}
    assert resolved == snapshot(
        {
            "text": ":white_check_mark: tracereel monitor slack resolved: task_success_rate = 75.0%, no longer below "
            "50.0% over the last 1h (agent pager; 16 tasks)"
        }
    )
    # The key and the URL are secrets: the API shows them masked, and so does the history.
    listed = {m.name: m for m in api.monitors()}
    assert listed["pd"].routing_key == "****2345" and key not in str(api.monitors())
    assert hooks.base + "/pd" not in str(api.monitor_history("pd"))


def test_failed_deliveries_are_retried_with_backoff_and_recorded(monitored, hooks):
    api = CollectorClient(monitored.url)
    hooks.answer(500, 503, (429, {"Retry-After": "1"}))
    _add(api, hooks)
    send_tasks(monitored.url, 4, success=False)
    requests = _received(hooks, 4)
    assert [b["event"] for b in requests] == ["firing"] * 4
    assert len({b["dedup_key"] for b in requests}) == 1
    arrivals = [r.at for r in hooks.requests]
    # Backoff doubles (0.05, 0.1 s), and the receiver's Retry-After (1 s) is respected.
    assert arrivals[1] - arrivals[0] >= 0.05
    assert arrivals[2] - arrivals[1] >= 0.1
    assert arrivals[3] - arrivals[2] >= 1.0
    wait_until(lambda: _status(api, "success").get("notified") == "trigger", "the delivery to be recorded")
    deliveries = [e for e in reversed(_history(api, "success")) if e["kind"] == "delivery"]
    assert [(e["attempt"], e["outcome"], e["status_code"]) for e in deliveries] == [
        (1, "retrying", 500),
        (2, "retrying", 503),
        (3, "retrying", 429),
        (4, "delivered", 202),
    ]
    assert deliveries[0]["error"] == '{"status": "error"}'
    _cycles(monitored)
    assert hooks.count() == 4


def test_a_4xx_is_a_permanent_failure_and_attempts_are_bounded(store, hooks):
    running, _ = start_collector(store, monitor_max_attempts=3, **FAST)
    try:
        api = CollectorClient(running.url)
        hooks.answer(400)
        _add(api, hooks, name="bad-request", notify=hooks.url("/a"))
        send_tasks(running.url, 4, success=False)
        _received(hooks, 1, "/a")
        wait_until(lambda: _history(api, "bad-request")[0]["kind"] == "delivery", "the attempt in history")
        _cycles(running)
        assert hooks.count("/a") == 1  # not retried
        [attempt] = [e for e in _history(api, "bad-request") if e["kind"] == "delivery"]
        assert (attempt["outcome"], attempt["status_code"]) == ("failed", 400)

        hooks.answer(503, 503, 503, 503)
        _add(api, hooks, name="down", notify=hooks.url("/b"))
        _received(hooks, 3, "/b")
        wait_until(lambda: _status(api, "down").get("pending") is None, "the runner to give up")
        _cycles(running)
        assert hooks.count("/b") == 3
        outcomes = [e["outcome"] for e in reversed(_history(api, "down")) if e["kind"] == "delivery"]
        assert outcomes == ["retrying", "retrying", "gave_up"]
        assert _status(api, "down")["state"] == "firing"
    finally:
        running.stop()


def test_a_restart_keeps_the_state_and_does_not_page_again(store, hooks):
    first, _ = start_collector(store, **FAST)
    api = CollectorClient(first.url)
    _add(api, hooks)
    send_tasks(first.url, 4, success=False)
    [fired] = _received(hooks, 1)
    wait_until(lambda: _status(api, "success").get("notified") == "trigger", "the page to be recorded as delivered")
    first.stop()

    second, _ = start_collector(store, **FAST)
    try:
        api = CollectorClient(second.url)
        _cycles(second)
        assert hooks.count() == 1  # no second page for the same incident
        status = _status(api, "success")
        assert (status["state"], status["dedup_key"]) == ("firing", fired["dedup_key"])
        send_tasks(second.url, 12, success=True)
        resolved = _received(hooks, 2)[1]
        assert (resolved["event"], resolved["dedup_key"]) == ("resolved", fired["dedup_key"])
        _cycles(second)
        assert hooks.count() == 2
    finally:
        second.stop()


def test_a_page_not_yet_delivered_is_delivered_after_a_restart(store, hooks):
    # The receiver is down, and the next retry is far off when the collector stops.
    first, _ = start_collector(store, monitor_interval=0.1, monitor_backoff=3600)
    api = CollectorClient(first.url)
    hooks.answer(502)
    _add(api, hooks)
    send_tasks(first.url, 4, success=False)
    _received(hooks, 1)
    wait_until(lambda: _history(api, "success")[0]["kind"] == "delivery", "the failed attempt in history")
    assert _status(api, "success")["pending"] == "trigger"
    first.stop()

    second, _ = start_collector(store, **FAST)
    try:
        api = CollectorClient(second.url)
        first_try, retried = _received(hooks, 2)
        assert _timeless(retried) == _timeless(first_try)  # the same trigger, same dedup key
        wait_until(lambda: _status(api, "success").get("notified") == "trigger", "the delivery to be recorded")
        _cycles(second)
        assert hooks.count() == 2
    finally:
        second.stop()


def test_an_eval_pass_rate_monitor(monitored, hooks):
    api = CollectorClient(monitored.url)
    api.add_monitor(
        {
            "name": "nightly",
            "metric": "eval.pass_rate",
            "dataset": "support-golden",
            "below": 0.9,
            "window": "1d",
            "notify": hooks.url(),
        }
    )
    api.add_monitor(
        {
            "name": "judge",
            "metric": "eval.score.llm_judge",
            "dataset": "support-golden",
            "below": 0.8,
            "window": "1d",
            "notify": hooks.url("/judge"),
        }
    )
    _cycles(monitored)
    assert _status(api, "nightly")["state"] == "insufficient"  # no run in the last day
    now = datetime.now(timezone.utc).replace(microsecond=0)
    api.upload_eval_run(
        report("night-1", started_at=(now - timedelta(minutes=2)).isoformat(), failing=("order-status",))
    )
    [fired] = _received(hooks, 1, "/hook")
    assert (fired["value"], fired["tasks"], fired["filters"]["dataset"]) == (0.75, 4, "support-golden")
    [judged] = _received(hooks, 1, "/judge")
    assert judged["value"] == pytest.approx((3 * 0.9 + 0.2) / 4)  # the judge's mean score over the run
    assert "eval.pass_rate = 75.0%, below 90.0% over the last 1d (dataset support-golden; 4 cases" in fired["summary"]
    api.upload_eval_run(report("night-2", started_at=(now - timedelta(minutes=1)).isoformat()))  # the latest run
    resolved = _received(hooks, 2, "/hook")[1]
    assert (resolved["event"], resolved["value"]) == ("resolved", 1.0)
    assert _received(hooks, 2, "/judge")[1]["event"] == "resolved"
