"""A monitor's current value: the metrics engine over its window, or its dataset's latest eval run.

Trace metrics go through the same :func:`~tracereel.collector.query.summary` as
``GET /api/v1/metrics``, with the monitor's agent, version and service as the task filter over
[now - window, now): a monitor and the dashboard never disagree on a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tracereel.catalog import score_metric
from tracereel.collector.monitors.definitions import Monitor
from tracereel.collector.query import EVERYTHING, PriceTable, Scope, TaskFilter, summary
from tracereel.collector.store import EVAL_RUNS_TABLE, Store
from tracereel.monitors import EVAL_PASS_RATE, EVAL_SCORE_PREFIX, is_eval_metric

__all__ = ["Reading", "read_metric"]


@dataclass(frozen=True)
class Reading:
    """The metric's value (None when it is undefined) and how much it rests on.

    ``count``: tasks in the window for trace metrics (``score.NAME``: those with a NAME score);
    cases of the latest run for eval metrics.
    """

    value: float | None
    count: int


def read_metric(store: Store, prices: PriceTable, monitor: Monitor, now: datetime) -> Reading:
    """``monitor``'s metric over [now - window, now)."""
    start = now - timedelta(seconds=monitor.window_seconds)
    if is_eval_metric(monitor.metric):
        return _eval_reading(store, monitor, start, now)
    flt = TaskFilter(
        start=start,
        end=now,
        service=monitor.service or None,
        agent=monitor.agent or None,
        version=monitor.version or None,
    )
    # A team's monitor judges its team's tasks only, as its team's read keys would see them.
    scope = Scope(team=monitor.team) if monitor.team else EVERYTHING
    values: dict[str, Any] = summary(store, prices, flt, scope)
    name = score_metric(monitor.metric)
    if name is not None:
        # A score's mean rests on the tasks that have one, so min_tasks counts those.
        stat = values["scores"].get(name)
        return Reading(None, 0) if stat is None else Reading(float(stat["mean"]), int(stat["count"]))
    value = values[monitor.metric]
    return Reading(None if value is None else float(value), int(values["tasks"]))


def _eval_reading(store: Store, monitor: Monitor, start: datetime, end: datetime) -> Reading:
    # The latest run of the dataset that started in the window: a nightly run is judged once a
    # night, and a missing run is "insufficient", not a pass or a failure.
    where = "Dataset = {dataset:String} AND StartedAt >= {start:DateTime64(6)} AND StartedAt < {end:DateTime64(6)}"
    params: dict[str, object] = {"dataset": monitor.dataset, "start": start, "end": end}
    if monitor.agent:
        where += " AND Agent = {agent:String}"
        params["agent"] = monitor.agent
    if monitor.team:
        where += " AND Team = {team:String}"
        params["team"] = monitor.team
    rows = store.query(
        f"SELECT PassRate, Scores, CaseCount FROM {EVAL_RUNS_TABLE} WHERE {where} "
        "ORDER BY StartedAt DESC, RunId DESC LIMIT 1",
        params,
    )
    if not rows:
        return Reading(None, 0)
    pass_rate, scores, cases = rows[0]
    if monitor.metric == EVAL_PASS_RATE:
        return Reading(float(pass_rate), int(cases))
    score = dict(scores).get(monitor.metric[len(EVAL_SCORE_PREFIX) :])
    return Reading(None if score is None else float(score), int(cases))
