"""Sealed hours (collector/query/hours.py) give exactly the metrics the per-task rollup gives, and go stale
when anything about their tasks changes: a new score, a late span, a deletion.

The fleet is test_metrics.py's (its expected values worked out by hand), in [T0, T0 + 1h) and one task
an hour later. Sealing is off in the collector here; the tests seal by calling :func:`seal_hours`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from otel_client import OtelClient
from test_metrics import AGENT, EXPECTED, T0, WINDOW, _assert_metrics, build_fleet

from tracereel import semconv as sc
from tracereel.collector.query import EVERYTHING, Scope
from tracereel.collector.query.hours import EVERY_TEAM, plan_hours, seal_hours
from tracereel.collector.query.metrics import TaskFilter, summary
from tracereel.collector.query.prices import load_prices
from tracereel.collector.store import INSERT_COLUMNS

HOUR = datetime.fromtimestamp(T0, tz=timezone.utc)
# Long after the fleet: every hour of it is old enough to seal.
LATER = HOUR + timedelta(days=2)
TWO_HOURS = {**WINDOW, "to": str(T0 + 7200)}


@pytest.fixture
def asgi_collector(asgi_collector_factory: Any) -> Any:
    """The collector without its sealing thread: the tests say when hours are sealed."""
    return asgi_collector_factory(seal_interval=0)


def _reads(collector: Any) -> dict[str, Any]:
    """Every read the sealed hours serve, over the fleet's window."""
    with collector.client() as http:
        got = {
            "metrics": http.get("/api/v1/metrics", params=WINDOW),
            "version": http.get("/api/v1/metrics", params={**WINDOW, "agent": "support", "version": "2.0"}),
            "two hours": http.get("/api/v1/metrics", params=TWO_HOURS),
            "timeseries": http.get("/api/v1/metrics/timeseries", params={**TWO_HOURS, "bucket": "1h"}),
            "by agent": http.get("/api/v1/metrics/breakdown", params={**WINDOW, "by": "agent"}),
            "by service": http.get("/api/v1/metrics/breakdown", params={**WINDOW, "by": "service"}),
            "by model": http.get("/api/v1/metrics/breakdown", params={**WINDOW, "by": "model"}),
        }
    for name, response in got.items():
        assert response.status_code == 200, (name, response.text)
    return {name: response.json() for name, response in got.items()}


def _plan(collector: Any, scope: Scope = EVERYTHING) -> Any:
    return plan_hours(collector.store, TaskFilter(start=HOUR, end=HOUR + timedelta(hours=2)), scope)


def _approx(value: Any) -> Any:
    """``value`` with every float compared approximately (sums of floats may add up in another order)."""
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-9, abs=1e-12)
    if isinstance(value, dict):
        return {k: _approx(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_approx(v) for v in value]
    return value


def test_sealed_hours_answer_as_the_rollup_does(asgi_collector: Any, otel: OtelClient) -> None:
    build_fleet(otel)
    live = _reads(asgi_collector)
    assert _plan(asgi_collector).sealed == []

    sealed = seal_hours(asgi_collector.store, now=LATER)
    # The hours that have tasks (T0's and the next) or could (the one before: a task's spans may start
    # 5 minutes before its root), each for every team together and the fleet's one team ('').
    assert sealed == 3
    plan = _plan(asgi_collector)
    assert [hour for hour, _ in plan.sealed] == [HOUR, HOUR + timedelta(hours=1)]
    assert plan.live == []
    assert plan.team == EVERY_TEAM
    assert _reads(asgi_collector) == _approx(live)
    _assert_metrics(_reads(asgi_collector)["metrics"], EXPECTED)
    # Nothing changed: nothing to seal again.
    assert seal_hours(asgi_collector.store, now=LATER) == 0


def test_a_seal_goes_stale_when_its_tasks_change(asgi_collector: Any, otel: OtelClient) -> None:
    build_fleet(otel)
    seal_hours(asgi_collector.store, now=LATER)
    store = asgi_collector.store
    task_a = store.query("SELECT TraceId FROM otel_traces WHERE IsRoot = 1 AND PlanLength = 3")[0][0]
    # A's latest groundedness now fails: of A (0.8 -> 0.1) and B (0.3), none passes.
    with asgi_collector.client() as http:
        posted = http.post("/api/v1/scores", json={"trace_id": task_a, "name": "groundedness", "value": 0.1})
        assert posted.status_code == 201, posted.text
        # Stale: A's hour only. The next one's activity moved too (its tasks' spans could start in A's hour), but
        # the changes since its seal, trace by trace, touch none of its tasks.
        assert [hour for hour, _ in _plan(asgi_collector).sealed] == [HOUR + timedelta(hours=1)]
        assert http.get("/api/v1/metrics", params=WINDOW).json()["groundedness_rate"] == 0.0
    assert seal_hours(asgi_collector.store, now=LATER) >= 1
    assert [hour for hour, _ in _plan(asgi_collector).sealed] == [HOUR, HOUR + timedelta(hours=1)]
    after_score = _reads(asgi_collector)
    assert after_score["metrics"]["groundedness_rate"] == 0.0
    assert after_score["metrics"]["scores"]["groundedness"]["mean"] == pytest.approx((0.1 + 0.3) / 2)

    # A late span of A (a tool call that timed out) arrives after its hour was sealed.
    root = store.query(f"SELECT SpanId FROM otel_traces WHERE TraceId = '{task_a}' AND IsRoot = 1")[0][0]
    _post_late_span(asgi_collector, task_a, root)
    assert HOUR not in [hour for hour, _ in _plan(asgi_collector).sealed]
    with asgi_collector.client() as http:
        metrics = http.get("/api/v1/metrics", params=WINDOW).json()
    assert metrics["tool_calls"] == EXPECTED["tool_calls"] + 1
    assert metrics["tool_timeout_rate"] == pytest.approx(3 / 8)
    seal_hours(asgi_collector.store, now=LATER)
    assert _reads(asgi_collector)["metrics"] == _approx(metrics)

    # Deleting a trace makes its hour stale too.
    with asgi_collector.client() as http:
        assert http.delete(f"/api/v1/traces/{task_a}").status_code == 200
        assert HOUR not in [hour for hour, _ in _plan(asgi_collector).sealed]
        assert http.get("/api/v1/metrics", params=WINDOW).json()["tasks"] == 3


def test_a_seal_stays_current_while_later_hours_are_ingested(asgi_collector: Any, otel: OtelClient) -> None:
    """Spans of tasks rooted in later hours move every recent hour's activity, not their seals: the seals are
    checked against the changes trace by trace, and the collector records the check rather than sealing again."""
    build_fleet(otel)
    store = asgi_collector.store
    assert seal_hours(store, now=LATER) == 3
    before = _reads(asgi_collector)
    sealed = _plan(asgi_collector).sealed
    # Tasks two hours after T0: within the six hours whose activity every seal of the fleet compares.
    _insert_roots(store, "", [100, 200], start=T0 + 2 * 3600)
    assert _plan(asgi_collector).sealed == sealed
    assert _reads(asgi_collector) == _approx(before)
    # The pass seals the new tasks' hour (the one before it is sealed already), and checks the fleet's three
    # instead of sealing them again, for every team together and for the fleet's team.
    assert seal_hours(store, now=LATER) == 1
    checked = store.query("SELECT Team, Hour FROM tracereel_seal_checks FINAL ORDER BY Hour, Team")
    fleet = [HOUR + timedelta(hours=k) for k in (-1, 0, 1)]
    assert [(team, hour.replace(tzinfo=timezone.utc)) for team, hour in checked] == [
        (team, hour) for hour in fleet for team in ("", "*")
    ]
    assert _plan(asgi_collector).sealed == sealed
    # Checked, the seals no longer need the changes: the hours read the same with the changes gone.
    store.command("TRUNCATE TABLE tracereel_changes")
    assert _plan(asgi_collector).sealed == sealed


def test_an_hour_is_sealed_ten_minutes_after_it_ends(asgi_collector: Any) -> None:
    store = asgi_collector.store
    _insert_roots(store, "", [100, 200])
    end = HOUR + timedelta(hours=1)
    assert seal_hours(store, now=end + timedelta(minutes=9)) == 1  # only the hour before T0's: no task of its own
    assert HOUR not in [hour for hour, _ in _plan(asgi_collector).sealed]
    assert seal_hours(store, now=end + timedelta(minutes=10)) == 1
    assert HOUR in [hour for hour, _ in _plan(asgi_collector).sealed]


def _post_late_span(collector: Any, trace_id: str, parent: str) -> None:
    """A tool call of ``trace_id`` that timed out, 600 ms after T0, as OTLP/JSON; waits until it is stored."""
    start = T0 * 10**9 + 600 * 10**6
    attributes = {
        sc.OPERATION_NAME: sc.OP_EXECUTE_TOOL,
        sc.TOOL_NAME: "search",
        sc.TOOL_CALL_ARGUMENTS: '{"q": "late"}',
        sc.ERROR_TYPE: "TimeoutError",
    }
    span = {
        "traceId": trace_id,
        "spanId": "00000000000000aa",
        "parentSpanId": parent,
        "name": "execute_tool search",
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + 10 * 10**6),
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()],
        "status": {"code": 2},
    }
    body = {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": [span]}]}]}
    before = collector.store.query("SELECT count() FROM otel_traces")[0][0]
    with collector.client() as http:
        assert http.post("/v1/traces", json=body).status_code == 200
    collector.wait_for_spans(before + 1)


def _insert_roots(store: Any, team: str, durations_ms: list[int], start: int = T0) -> None:
    """Root spans of the agent ``support`` a minute apart from ``start`` (default T0), stamped with ``team``
    (as the ingest key's team is), success on every other one."""
    columns: list[list[Any]] = [[] for _ in INSERT_COLUMNS]
    for i, duration in enumerate(durations_ms):
        row = {
            "Timestamp": (start + 60 * i) * 10**9,
            "TraceId": hashlib.md5(f"{team}/{start}/{i}".encode()).hexdigest(),
            "SpanId": f"{i + 1:016x}",
            "SpanName": "invoke_agent support",
            "ServiceName": "svc",
            "SpanAttributes": {**{k: str(v) for k, v in AGENT.items()}, sc.TASK_SUCCESS: str(i % 2 == 0).lower()},
            "Duration": duration * 10**6,
            "StatusCode": "Unset",
            "Team": team,
        }
        for j, name in enumerate(INSERT_COLUMNS):
            default: Any = [] if "." in name else ({} if name.endswith("Attributes") else "")
            columns[j].append(row.get(name, default))
    store.insert_spans(columns)


def test_each_team_has_its_own_seal(asgi_collector: Any) -> None:
    """A team's key sees its team's tasks, from its team's seal; every team together is a seal of its own."""
    store = asgi_collector.store
    _insert_roots(store, "red", [100, 200])
    _insert_roots(store, "blue", [100, 200, 300])
    flt = TaskFilter(start=HOUR, end=HOUR + timedelta(hours=1))
    prices = load_prices(None)
    live = {team: summary(store, prices, flt, Scope(team=team)) for team in ("red", "blue")}
    live["*"] = summary(store, prices, flt, EVERYTHING)
    assert seal_hours(store, now=LATER) == 2  # T0's hour and the one before
    for team, scope, tasks, success in (
        ("red", Scope(team="red"), 2, 1 / 2),
        ("blue", Scope(team="blue"), 3, 2 / 3),
        ("*", EVERYTHING, 5, 3 / 5),
    ):
        assert [hour for hour, _ in plan_hours(store, flt, scope).sealed] == [HOUR]
        got = summary(store, prices, flt, scope)
        assert got == _approx(live[team])
        assert got["tasks"] == tasks
        assert got["task_success_rate"] == pytest.approx(success)


def test_the_collector_seals_finished_hours_by_itself(asgi_collector_factory: Any) -> None:
    """With a seal interval, the collector's own thread seals the hours its store holds, and the metrics read them."""
    from tests.support import wait_until

    collector = asgi_collector_factory(seal_interval=0.2)
    _insert_roots(collector.store, "red", [100, 200, 300])
    flt = TaskFilter(start=HOUR, end=HOUR + timedelta(hours=1))
    wait_until(
        lambda: [hour for hour, _ in plan_hours(collector.store, flt, EVERYTHING).sealed] == [HOUR],
        "the collector to seal T0's hour",
    )
    with collector.client() as http:
        metrics = http.get("/api/v1/metrics", params=WINDOW).json()
    assert metrics["tasks"] == 3
    assert metrics["p50_latency_ms"] == 200.0
