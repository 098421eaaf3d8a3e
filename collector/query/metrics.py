"""The agent metrics of DESIGN.md ("Metric definitions"), computed in ClickHouse SQL.

One query computes every metric over a window, either all together, per time bucket, or per task
agent and version (or service): the states of the window's sealed hours (collector/query/hours.py)
merged with those of the remaining tasks, read live (collector/query/tasks.py). Rates and costs are
finished in Python, so a zero denominator becomes ``None`` (JSON null) and the price table applies
to the merged usage per model.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from tracereel.catalog import score_metric
from tracereel.collector.query.hours import plan_hours, sealed_states_sql
from tracereel.collector.query.prices import PriceTable
from tracereel.collector.query.scope import EVERYTHING, Scope, scope_sql
from tracereel.collector.query.tasks import (
    RUN_AFTER,
    SKEW_BEFORE,
    SPAN_COST_SQL,
    SPAN_PRICED_SQL,
    TaskFilter,
    live_states_sql,
    price_params,
    task_filter_sql,
    task_rows_query,
)
from tracereel.collector.store import TRACES_TABLE, Store

__all__ = [
    "BREAKDOWNS",
    "METRIC_KEYS",
    "RUN_AFTER",
    "SKEW_BEFORE",
    "SPAN_COST_SQL",
    "SPAN_PRICED_SQL",
    "TaskFilter",
    "breakdown",
    "price_params",
    "summary",
    "task_filter_sql",
    "task_rows_query",
    "timeseries",
    "version_totals",
]

METRIC_KEYS: Final = (
    "tasks",
    "task_success_rate",
    "groundedness_rate",
    "tool_calls",
    "tool_success_rate",
    "tool_timeout_rate",
    "tool_error_rate",
    "retry_rate",
    "loop_rate",
    "steps_per_task",
    "steps_per_task_p95",
    "plan_length",
    "p50_latency_ms",
    "p95_latency_ms",
    "cost_usd",
    "cost_coverage",
    "cost_per_successful_task_usd",
    "safety_violation_rate",
    "human_escalation_rate",
    "killed_rate",
)

BREAKDOWNS: Final = ("model", "tool", "agent", "service")

# The merge of _STATES rows (live groups and sealed hours alike) into the metrics' inputs.
_MERGED = """
    sum(Tasks) AS tasks,
    sum(Successes) AS successes,
    sum(ScoredTasks) AS scored_tasks,
    sum(GroundedTasks) AS grounded_tasks,
    sum(ToolCalls) AS total_tool_calls,
    sum(ToolOk) AS total_tool_ok,
    sum(ToolTimeouts) AS total_tool_timeouts,
    sum(Calls) AS calls,
    sum(Retries) AS total_retries,
    sum(LoopedTasks) AS looped_tasks,
    quantileExactInclusiveMerge(0.95)(StepsState) AS steps_p95,
    sum(PlanSum) AS plan_sum,
    sum(PlannedTasks) AS planned_tasks,
    quantilesExactInclusiveMerge(0.5, 0.95)(DurationState) AS durations,
    sum(ExplicitCost) AS explicit_cost,
    sum(ExplicitCalls) AS explicit_calls,
    sum(LlmCalls) AS total_llm_calls,
    sumMap(Usage) AS usage,
    sumMap(ExplicitUsage) AS explicit_usage,
    sum(Violated) AS violated_tasks,
    sum(Escalated) AS escalated_tasks,
    sum(Killed) AS killed_tasks,
    sumMap(ScoreSums) AS score_sums"""


def _rate(numerator: float, denominator: float) -> float | None:
    return None if not denominator else numerator / denominator


def _usage_cost(usage: Any, prices: PriceTable) -> tuple[float, int]:
    """The cost and the priced calls of merged usage (models, calls, input tokens, output tokens) by the price table."""
    cost, priced = 0.0, 0
    for model, calls, tokens_in, tokens_out in zip(*usage, strict=True):
        price = prices.lookup(model) if model else None
        if price is not None:
            cost += (tokens_in * price.input_per_million + tokens_out * price.output_per_million) / 1e6
            priced += calls
    return cost, priced


def _metrics(row: dict[str, Any], prices: PriceTable) -> dict[str, Any]:
    """DESIGN.md's metric keys from one row of ``_MERGED``."""
    tasks = int(row["tasks"])
    tool_calls = int(row["total_tool_calls"])
    tool_errors = tool_calls - int(row["total_tool_ok"])
    successes = int(row["successes"])
    usage_cost, usage_priced = _usage_cost(row["usage"], prices)
    cost = float(row["explicit_cost"]) + usage_cost if tasks else 0.0
    durations = row["durations"] or [0.0, 0.0]
    return {
        "tasks": tasks,
        "task_success_rate": _rate(successes, tasks),
        "groundedness_rate": _rate(row["grounded_tasks"], row["scored_tasks"]),
        "tool_calls": tool_calls,
        "tool_success_rate": _rate(row["total_tool_ok"], tool_calls),
        "tool_timeout_rate": _rate(row["total_tool_timeouts"], tool_calls),
        "tool_error_rate": _rate(tool_errors - int(row["total_tool_timeouts"]), tool_calls),
        "retry_rate": _rate(row["total_retries"], row["calls"]),
        "loop_rate": _rate(row["looped_tasks"], tasks),
        "steps_per_task": int(row["calls"]) / tasks if tasks else None,
        "steps_per_task_p95": float(row["steps_p95"]) if tasks else None,
        "plan_length": int(row["plan_sum"]) / int(row["planned_tasks"]) if row["planned_tasks"] else None,
        "p50_latency_ms": float(durations[0]) / 1e6 if tasks else None,
        "p95_latency_ms": float(durations[1]) / 1e6 if tasks else None,
        "cost_usd": cost,
        "cost_coverage": _rate(int(row["explicit_calls"]) + usage_priced, row["total_llm_calls"]),
        "cost_per_successful_task_usd": _rate(cost, successes),
        "safety_violation_rate": _rate(row["violated_tasks"], tasks),
        "human_escalation_rate": _rate(row["escalated_tasks"], tasks),
        "killed_rate": _rate(row["killed_tasks"], tasks),
    }


def _scores(row: dict[str, Any]) -> dict[str, dict[str, float | int]]:
    """``{NAME: {"mean", "count"}}`` from one row's merged score sums (each task's latest score of each name)."""
    names, sums, counts = row["score_sums"]
    return {
        str(name): {"mean": float(total) / int(count), "count": int(count)}
        for name, total, count in zip(names, sums, counts, strict=True)
        if count
    }


def _run(
    store: Store,
    flt: TaskFilter,
    *,
    group: str = "0",
    sealed_group: str = "0",
    bucket_seconds: int | None = None,
    extra_params: dict[str, Any] | None = None,
    scope: Scope = EVERYTHING,
) -> list[dict[str, Any]]:
    """Rows of ``_MERGED`` per group: sealed hours (where current) and the remaining tasks, read live."""
    plan = plan_hours(store, flt, scope, bucket_seconds)
    parts: list[str] = []
    params: dict[str, Any] = dict(extra_params or {})
    if plan.live:
        live_sql, live_params = live_states_sql(flt, scope, group, plan.live)
        parts.append(f"SELECT * FROM ({live_sql})")
        params.update(live_params)
    if plan.sealed:
        sealed_sql, sealed_params = sealed_states_sql(flt, scope, sealed_group, plan)
        parts.append(sealed_sql)
        params.update(sealed_params)
    if not parts:
        return []
    sql = f"SELECT grp, {_MERGED}\nFROM (\n" + "\nUNION ALL\n".join(parts) + "\n)\nGROUP BY grp ORDER BY grp"
    return [row for row in store.query_dicts(sql, params) if row["tasks"]]


def summary(store: Store, prices: PriceTable, flt: TaskFilter, scope: Scope = EVERYTHING) -> dict[str, Any]:
    """Every metric of DESIGN.md over the tasks ``flt`` selects, among those ``scope`` may see.

    Beside the catalog's keys, ``scores``: per score name, the mean of each task's latest score of
    that name over the tasks that have one, and how many tasks those are.
    """
    rows = _run(store, flt, scope=scope)
    if not rows:
        return {**_metrics(_EMPTY, prices), "scores": {}}
    return {**_metrics(rows[0], prices), "scores": _scores(rows[0])}


_EMPTY: Final[dict[str, Any]] = {
    **{key: 0 for key in ("tasks", "successes", "scored_tasks", "grounded_tasks", "total_tool_calls", "total_tool_ok")},
    **{key: 0 for key in ("total_tool_timeouts", "calls", "total_retries", "looped_tasks", "steps_p95", "plan_sum")},
    **{key: 0 for key in ("planned_tasks", "explicit_cost", "explicit_calls", "total_llm_calls", "violated_tasks")},
    "escalated_tasks": 0,
    "killed_tasks": 0,
    "durations": [],
    "usage": ([], [], [], []),
    "explicit_usage": ([], [], [], [], []),
    "score_sums": ([], [], []),
}


def timeseries(
    store: Store,
    prices: PriceTable,
    flt: TaskFilter,
    bucket_seconds: int,
    metrics: Iterable[str] = METRIC_KEYS,
    scope: Scope = EVERYTHING,
    *,
    with_scores: bool = False,
) -> list[dict[str, Any]]:
    """The metrics per time bucket (by root start), every bucket of the window present, oldest first.

    Each point is ``{"start": unix seconds, **metrics}``; a bucket without tasks has ``tasks=0``
    and null rates. A ``score.NAME`` among ``metrics`` (or ``with_scores``: every name) adds
    ``"scores": {NAME: {"mean", "count"}}`` to each point, the names without a score in a bucket absent.
    """
    wanted = [k for k in metrics if score_metric(k) is None]
    score_names = [name for k in metrics if (name := score_metric(k)) is not None]
    rows = _run(
        store,
        flt,
        group="toUnixTimestamp(toStartOfInterval(root_start, toIntervalSecond({bucket:UInt32})))",
        sealed_group="toUnixTimestamp(toStartOfInterval(Hour, toIntervalSecond({bucket:UInt32})))",
        bucket_seconds=bucket_seconds,
        extra_params={"bucket": bucket_seconds},
        scope=scope,
    )
    by_start = {int(row["grp"]): row for row in rows}
    empty = _metrics(_EMPTY, prices)  # a bucket without tasks: every count 0, so every rate None
    first = int(flt.start.timestamp()) // bucket_seconds * bucket_seconds
    points: list[dict[str, Any]] = []
    for t in range(first, int(flt.end.timestamp()), bucket_seconds):
        row = by_start.get(t)
        values = _metrics(row, prices) if row is not None else empty
        point: dict[str, Any] = {"start": t, **{k: values[k] for k in wanted}}
        if score_names or with_scores:
            found = _scores(row) if row is not None else {}
            point["scores"] = found if with_scores else {k: v for k, v in found.items() if k in score_names}
        points.append(point)
    return points


def breakdown(
    store: Store, prices: PriceTable, flt: TaskFilter, by: str, scope: Scope = EVERYTHING
) -> list[dict[str, Any]]:
    """Rows per model (cost, tokens), per tool (calls, outcome rates), or with every metric per task agent
    and version (the root's, else the first agent span's) or per service."""
    if by == "agent":
        rows = _run(store, flt, group="(root_agent, root_version)", sealed_group="(Agent, Version)", scope=scope)
        out = [
            {"agent": row["grp"][0], "version": row["grp"][1], **_metrics(row, prices), "scores": _scores(row)}
            for row in rows
        ]
        return sorted(out, key=lambda r: (-r["tasks"], r["agent"], r["version"]))
    if by == "service":
        rows = _run(store, flt, group="root_service", sealed_group="Service", scope=scope)
        return sorted(
            ({"service": row["grp"], **_metrics(row, prices), "scores": _scores(row)} for row in rows),
            key=lambda r: (-r["tasks"], r["service"]),
        )
    if by == "model":
        return _by_model(store, prices, flt, scope)
    if by == "tool":
        return _by_tool(store, prices, flt, scope)
    raise ValueError(f"by={by!r}: expected one of {', '.join(BREAKDOWNS)}")


def _by_model(store: Store, prices: PriceTable, flt: TaskFilter, scope: Scope) -> list[dict[str, Any]]:
    """Per model: LLM calls, tokens, cost and coverage, from the tasks' usage (explicitly priced calls and the rest)."""
    rows = _run(store, flt, scope=scope)
    if not rows:
        return []
    models: dict[str, dict[str, Any]] = {}

    def entry(model: str) -> dict[str, Any]:
        return models.setdefault(
            model, {"model": model, "llm_calls": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0, "priced": 0}
        )

    for model, calls, tokens_in, tokens_out in zip(*rows[0]["usage"], strict=True):
        e = entry(str(model))
        e["llm_calls"] += int(calls)
        e["input_tokens"] += int(tokens_in)
        e["output_tokens"] += int(tokens_out)
        price = prices.lookup(str(model)) if model else None
        if price is not None:
            e["cost_usd"] += (tokens_in * price.input_per_million + tokens_out * price.output_per_million) / 1e6
            e["priced"] += int(calls)
    for model, calls, tokens_in, tokens_out, cost in zip(*rows[0]["explicit_usage"], strict=True):
        e = entry(str(model))
        e["llm_calls"] += int(calls)
        e["input_tokens"] += int(tokens_in)
        e["output_tokens"] += int(tokens_out)
        e["cost_usd"] += float(cost)
        e["priced"] += int(calls)
    out = [
        {
            "model": e["model"],
            "llm_calls": e["llm_calls"],
            "input_tokens": e["input_tokens"],
            "output_tokens": e["output_tokens"],
            "cost_usd": float(e["cost_usd"]),
            "cost_coverage": _rate(e["priced"], e["llm_calls"]),
        }
        for e in models.values()
        if e["llm_calls"]
    ]
    return sorted(out, key=lambda r: (-r["cost_usd"], -r["llm_calls"], r["model"]))


def _by_tool(store: Store, prices: PriceTable, flt: TaskFilter, scope: Scope) -> list[dict[str, Any]]:
    """Per tool: calls, outcome rates and p95 duration, from the selected tasks' tool spans."""
    with_tasks, params = task_rows_query(store, prices, flt, scope)
    team = scope_sql(Scope(team=scope.team), name="team_scope")[0]
    # The selected tasks come from the rollup; their spans (the scope's team's only) from the span table.
    rows = store.query_dicts(
        f"""{with_tasks}SELECT if(ToolName != '', ToolName, SpanName) AS tool, count() AS calls,
       countIf(Status != 'ERROR') AS ok,
       countIf(Status = 'ERROR' AND positionCaseInsensitive(ErrorClass, 'timeout') > 0) AS timeouts,
       quantileExactInclusive(0.95)(Duration) / 1e6 AS p95_ms
FROM {TRACES_TABLE}
WHERE Timestamp >= {{lo:DateTime64(9)}} AND Timestamp < {{hi:DateTime64(9)}} AND {team}
  AND TraceId IN (SELECT TraceId FROM task_rows) AND Kind = 'tool'
GROUP BY tool ORDER BY calls DESC, tool""",
        params,
    )
    return [
        {
            "tool": r["tool"],
            "tool_calls": int(r["calls"]),
            "tool_success_rate": _rate(r["ok"], r["calls"]),
            "tool_timeout_rate": _rate(r["timeouts"], r["calls"]),
            "tool_error_rate": _rate(int(r["calls"]) - int(r["ok"]) - int(r["timeouts"]), r["calls"]),
            "p95_latency_ms": float(r["p95_ms"]),
        }
        for r in rows
    ]


def version_totals(
    store: Store, prices: PriceTable, flt: TaskFilter, versions: tuple[str, ...], scope: Scope = EVERYTHING
) -> dict[str, dict[str, float]]:
    """Per version among ``versions`` (of the tasks ``flt`` selects): the sums the canary gate's rates are
    made of, the cost, and the exact p50 and p95 durations in ms; from the sealed hours and the live tail, as
    :func:`summary`. A version without tasks is absent.

    Keys: tasks, successes, scored_tasks, grounded_tasks, tool_calls, tool_ok, tool_timeouts, tool_errors,
    calls, retries, looped_tasks, llm_calls, priced_calls, violated_tasks, escalated_tasks, cost_usd,
    p50_ms, p95_ms.
    """
    out: dict[str, dict[str, float]] = {}
    for row in _run(store, flt, group="root_version", sealed_group="Version", scope=scope):
        if row["grp"] not in versions:
            continue
        usage_cost, usage_priced = _usage_cost(row["usage"], prices)
        tool_calls, tool_ok, timeouts = (
            int(row[k]) for k in ("total_tool_calls", "total_tool_ok", "total_tool_timeouts")
        )
        p50, p95 = row["durations"]
        out[str(row["grp"])] = {
            "tasks": int(row["tasks"]),
            "successes": int(row["successes"]),
            "scored_tasks": int(row["scored_tasks"]),
            "grounded_tasks": int(row["grounded_tasks"]),
            "tool_calls": tool_calls,
            "tool_ok": tool_ok,
            "tool_timeouts": timeouts,
            "tool_errors": tool_calls - tool_ok - timeouts,
            "calls": int(row["calls"]),
            "retries": int(row["total_retries"]),
            "looped_tasks": int(row["looped_tasks"]),
            "llm_calls": int(row["total_llm_calls"]),
            "priced_calls": int(row["explicit_calls"]) + usage_priced,
            "violated_tasks": int(row["violated_tasks"]),
            "escalated_tasks": int(row["escalated_tasks"]),
            "cost_usd": float(row["explicit_cost"]) + usage_cost,
            "p50_ms": float(p50) / 1e6,
            "p95_ms": float(p95) / 1e6,
        }
    return out
