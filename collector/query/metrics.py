"""The agent metrics of DESIGN.md ("Metric definitions"), computed in ClickHouse SQL.

One query computes every metric: it picks the tasks (traces whose root span starts in the
window and matches the filters), folds each task's spans into one row of per-task facts,
then aggregates the rows, either all together, per time bucket, or per task agent and version.
Rates are finished in Python so a zero denominator becomes ``None`` (JSON null).

Filters (service, agent, version) select tasks by their root span's service and the task's agent
(tracereel/rules.py: the root's agent, else the first agent span's); every span of a selected task
counts, whichever agent or service produced it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from tracereel.catalog import score_metric
from tracereel.collector.query.prices import PriceTable
from tracereel.collector.query.scope import EVERYTHING, Scope, scope_sql
from tracereel.collector.store import (
    CALLS_TABLE,
    ROLLUP_TABLE,
    SCORES_FINAL,
    TRACES_TABLE,
    USAGE_COST_SQL,
    USAGE_PRICED_SQL,
    Store,
    looped_sql,
    retries_sql,
)
from tracereel.rules import score_passes_sql, task_agent_sql, task_success_sql

__all__ = [
    "BREAKDOWNS",
    "METRIC_KEYS",
    "SPAN_COST_SQL",
    "SPAN_PRICED_SQL",
    "TaskFilter",
    "breakdown",
    "price_params",
    "summary",
    "task_filter_sql",
    "task_rows_query",
    "timeseries",
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

# A task's spans start inside its root span; the slack admits clock skew between services
# before the root and tasks that run for hours after it, without scanning the whole table.
SKEW_BEFORE: Final = timedelta(minutes=5)
RUN_AFTER: Final = timedelta(hours=6)


@dataclass(frozen=True)
class TaskFilter:
    """Which tasks count: root span start in [start, end), and optional root-span filters."""

    start: datetime
    end: datetime
    service: str | None = None
    agent: str | None = None
    version: str | None = None


def task_filter_sql(flt: TaskFilter, scope: Scope = EVERYTHING) -> tuple[str, dict[str, Any]]:
    """The condition (over per-task rows) and parameters that select the tasks of ``flt`` in ``scope``.

    The scope's team is applied where the rollup is read (``_team_sql``); its globs here, on the
    task's agent (tracereel/rules.py) and root service.
    """
    # Compared with DateTime64 parameters: a DateTime bound on a DateTime64 column matched no rows in chDB 26.9.
    where = [
        "has_root = 1",
        "root_start >= {start:DateTime64(9)}",
        "root_start < {end:DateTime64(9)}",
        # Replays of recorded runs and eval case runs are not production tasks (migrations 0006, 0008).
        f"TraceId NOT IN (SELECT TraceId FROM {TRACES_TABLE} WHERE (IsReplay = 1 OR IsEval = 1) AND IsRoot = 1"
        " AND Timestamp >= {lo:DateTime64(9)} AND Timestamp < {hi:DateTime64(9)})",
    ]
    params: dict[str, Any] = {
        "start": flt.start,
        "end": flt.end,
        "lo": flt.start - SKEW_BEFORE,
        "hi": flt.end + RUN_AFTER,
    }
    for column, name, value in (
        ("root_service", "service", flt.service),
        ("root_agent", "agent", flt.agent),
        ("root_version", "version", flt.version),
    ):
        if value:
            where.append(f"{column} = {{{name}:String}}")
            params[name] = value
    globs, glob_params = scope_sql(
        Scope(agents=scope.agents, services=scope.services),
        team_column=None,
        agent_column="root_agent",
        service_column="root_service",
    )
    where.append(globs)
    params.update(glob_params)
    params.update(_team_sql(scope)[1])
    return " AND ".join(where), params


def _team_sql(scope: Scope) -> tuple[str, dict[str, Any]]:
    """The scope's team as a condition on a table's ``Team`` column ("1" for every team)."""
    return scope_sql(Scope(team=scope.team), name="team_scope")


def price_params(store: Store, prices: PriceTable, lo: datetime, hi: datetime) -> dict[str, Any]:
    """SQL parameters ``models``, ``in_price``, ``out_price``: the priced models among LLM spans in [lo, hi)."""
    # Prefix matching happens in Python over the few distinct models of the window.
    models = store.query(
        f"SELECT DISTINCT Model FROM {TRACES_TABLE} "
        "WHERE Timestamp >= {lo:DateTime64(9)} AND Timestamp < {hi:DateTime64(9)} AND Kind = 'llm'",
        {"lo": lo, "hi": hi},
    )
    names, inputs, outputs = prices.resolve(row[0] for row in models)
    return {"models": names, "in_price": inputs, "out_price": outputs}


# The cost of one LLM span (use with price_params): explicit tracereel.cost.usd, else tokens x price per million.
SPAN_COST_SQL: Final = (
    "ifNull(CostUsd, (InputTokens * transform(Model, {models:Array(String)}, {in_price:Array(Float64)}, 0.)"
    " + OutputTokens * transform(Model, {models:Array(String)}, {out_price:Array(Float64)}, 0.)) / 1e6)"
)
# Whether an LLM span has a cost (explicit or from the price table).
SPAN_PRICED_SQL: Final = "(CostUsd IS NOT NULL OR has({models:Array(String)}, Model))"


# Per-task facts from the rollup (collector/store/rollup.py). A trace stored in one rollup row (the usual
# case) is read as it is; one whose spans came in several INSERTs (several rows, or one row the
# background merge made of them) is merged here, and its retries and loops are recomputed
# from its merged calls. Cost: explicit tracereel.cost.usd, plus tokens x price per million by model.
_ROOT_COLUMNS = (
    "has_root, root_start, root_error, root_success, root_duration, root_service, root_agent, root_version, "
    "llm_calls, tool_calls, tool_ok, tool_timeouts, scores, latest_score, plans, plan_length, explicit_cost, "
    "explicit_calls, u, violated, escalated"
)
# The task's agent (tracereel/rules.py): the root's, else the first agent span's. Its version goes with it.
_AGENT = task_agent_sql("RootAgent", "RootVersion", "FirstAgent")
_SPLIT_AGENT = task_agent_sql("max(RootAgent)", "max(RootVersion)", "min(FirstAgent)")
_TASK_ROWS = f"""
rollup AS (
    SELECT * FROM {ROLLUP_TABLE}
    WHERE Start >= {{{{lo:DateTime64(9)}}}} AND Start < {{{{hi:DateTime64(9)}}}} AND {{team}}
),
split AS (SELECT TraceId FROM rollup GROUP BY TraceId HAVING count() > 1 OR sum(Blocks) > 1),
split_calls AS (
    SELECT TraceId, {retries_sql("c")} AS retries, {looped_sql("c")} AS looped
    FROM (
        SELECT TraceId, arraySort(x -> (x.1, x.2), groupArrayArray(Calls)) AS c
        FROM {CALLS_TABLE}
        WHERE Start >= {{{{lo:DateTime64(9)}}}} AND Start < {{{{hi:DateTime64(9)}}}} AND TraceId IN split
          AND {{team}}
        GROUP BY TraceId
    )
),
task_parts AS (
    SELECT TraceId, HasRoot AS has_root, RootStart AS root_start, RootError AS root_error,
           RootSuccess AS root_success, RootDuration AS root_duration, RootService AS root_service,
           {_AGENT[0]} AS root_agent, {_AGENT[1]} AS root_version, LlmCalls AS llm_calls, ToolCalls AS tool_calls,
           ToolOk AS tool_ok, ToolTimeouts AS tool_timeouts, Scores AS scores, LatestScore.2 AS latest_score,
           Plans AS plans, FirstPlan.2 AS plan_length, ExplicitCost AS explicit_cost,
           ExplicitCostCalls AS explicit_calls, ModelUsage AS u, AnyViolation AS violated,
           AnyEscalation AS escalated, PreRetries AS retries, PreLooped AS looped
    FROM rollup
    WHERE TraceId NOT IN split
    UNION ALL
    SELECT p.TraceId, {_ROOT_COLUMNS}, c.retries AS retries, c.looped AS looped
    FROM (
        SELECT TraceId, max(HasRoot) AS has_root, max(RootStart) AS root_start, max(RootError) AS root_error,
               max(RootSuccess) AS root_success, max(RootDuration) AS root_duration,
               max(RootService) AS root_service, {_SPLIT_AGENT[0]} AS root_agent,
               {_SPLIT_AGENT[1]} AS root_version,
               sum(LlmCalls) AS llm_calls, sum(ToolCalls) AS tool_calls, sum(ToolOk) AS tool_ok,
               sum(ToolTimeouts) AS tool_timeouts, sum(Scores) AS scores, max(LatestScore).2 AS latest_score,
               sum(Plans) AS plans, min(FirstPlan).2 AS plan_length, sum(ExplicitCost) AS explicit_cost,
               sum(ExplicitCostCalls) AS explicit_calls, sumMap(ModelUsage) AS u, max(AnyViolation) AS violated,
               max(AnyEscalation) AS escalated
        FROM rollup
        WHERE TraceId IN split
        GROUP BY TraceId
    ) AS p
    LEFT JOIN split_calls AS c ON p.TraceId = c.TraceId
),
killed AS (
    -- Agent spans a kill switch stopped (migration 0009): a column, so the attribute map stays closed.
    SELECT DISTINCT TraceId FROM {TRACES_TABLE}
    WHERE IsKilled = 1 AND Timestamp >= {{{{lo:DateTime64(9)}}}} AND Timestamp < {{{{hi:DateTime64(9)}}}}
),
task_facts AS (
    SELECT *,
           {task_success_sql("root_success", "root_error")} AS success,
           TraceId IN killed AS was_killed,
           llm_calls + tool_calls AS steps,
           explicit_cost + {USAGE_COST_SQL.replace("{", "{{").replace("}", "}}")} AS cost,
           explicit_calls + {USAGE_PRICED_SQL.replace("{", "{{").replace("}", "}}")} AS priced
    FROM task_parts
    WHERE {{where}}
),
task_scores AS (
    -- Each selected task's latest score of each name, whatever its source (tracereel/rules.py); only
    -- the window's traces are read, by the table's (Team, TraceId) key.
    SELECT TraceId, Name AS name, argMax(Value, (Time, ScoreId)) AS value
    FROM {SCORES_FINAL}
    WHERE {{team}} AND TraceId IN (SELECT TraceId FROM task_facts)
    GROUP BY TraceId, Name
),
task_rows AS (
    SELECT f.*, g.scored AS scored, g.scored AND {score_passes_sql("g.value")} AS grounded
    FROM task_facts AS f
    LEFT JOIN (SELECT TraceId, value, toUInt8(1) AS scored FROM task_scores WHERE name = 'groundedness') AS g
        ON f.TraceId = g.TraceId
)"""

_AGGREGATES = """
    count() AS tasks,
    sum(success) AS successes,
    sum(scored) AS scored_tasks,
    sum(grounded) AS grounded_tasks,
    sum(tool_calls) AS total_tool_calls,
    sum(tool_ok) AS total_tool_ok,
    sum(tool_timeouts) AS total_tool_timeouts,
    sum(steps) AS calls,
    sum(retries) AS total_retries,
    countIf(looped) AS looped_tasks,
    avg(steps) AS steps_mean,
    quantileExactInclusive(0.95)(steps) AS steps_p95,
    avgIf(plan_length, plans > 0) AS plan_mean,
    countIf(plans > 0) AS planned_tasks,
    quantileExactInclusive(0.5)(root_duration) / 1e6 AS p50_ms,
    quantileExactInclusive(0.95)(root_duration) / 1e6 AS p95_ms,
    sum(cost) AS total_cost,
    sum(llm_calls) AS total_llm_calls,
    sum(priced) AS priced_calls,
    countIf(violated) AS violated_tasks,
    countIf(escalated) AS escalated_tasks,
    countIf(was_killed) AS killed_tasks"""


def _rate(numerator: float, denominator: float) -> float | None:
    return None if not denominator else numerator / denominator


def _metrics(row: dict[str, Any]) -> dict[str, Any]:
    """DESIGN.md's metric keys from one row of ``_AGGREGATES``."""
    tasks = int(row["tasks"])
    tool_calls = int(row["total_tool_calls"])
    tool_errors = tool_calls - int(row["total_tool_ok"])
    successes = int(row["successes"])
    cost = float(row["total_cost"]) if tasks else 0.0
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
        "steps_per_task": float(row["steps_mean"]) if tasks else None,
        "steps_per_task_p95": float(row["steps_p95"]) if tasks else None,
        "plan_length": float(row["plan_mean"]) if row["planned_tasks"] else None,
        "p50_latency_ms": float(row["p50_ms"]) if tasks else None,
        "p95_latency_ms": float(row["p95_ms"]) if tasks else None,
        "cost_usd": cost,
        "cost_coverage": _rate(row["priced_calls"], row["total_llm_calls"]),
        "cost_per_successful_task_usd": _rate(cost, successes),
        "safety_violation_rate": _rate(row["violated_tasks"], tasks),
        "human_escalation_rate": _rate(row["escalated_tasks"], tasks),
        "killed_rate": _rate(row["killed_tasks"], tasks),
    }


def task_rows_query(
    store: Store, prices: PriceTable, flt: TaskFilter, scope: Scope = EVERYTHING
) -> tuple[str, dict[str, Any]]:
    """``WITH ... task_rows AS (...)`` and its parameters: per-task facts of each task ``flt`` selects in ``scope``.

    A query appends its ``SELECT ... FROM task_rows``. The columns: success, steps, cost, priced,
    root_* (start, duration in ns, service; agent and version are the task's, tracereel/rules.py),
    llm_calls, tool_calls, tool_ok, tool_timeouts, retries, looped, violated, escalated, and scored /
    grounded (the task has a groundedness score of any source / its latest one passes). ``task_scores``
    holds each task's latest ``value`` of each score ``name`` (join it on TraceId).
    """
    where, params = task_filter_sql(flt, scope)
    params.update(price_params(store, prices, flt.start - SKEW_BEFORE, flt.end + RUN_AFTER))
    return f"WITH {_TASK_ROWS.format(where=where, team=_team_sql(scope)[0])}\n", params


def _run(
    store: Store,
    prices: PriceTable,
    flt: TaskFilter,
    *,
    group: str = "",
    extra_params: dict[str, Any] | None = None,
    scope: Scope = EVERYTHING,
) -> list[dict[str, Any]]:
    with_tasks, params = task_rows_query(store, prices, flt, scope)
    params.update(extra_params or {})
    select_group = f"{group} AS grp," if group else ""
    group_by = "GROUP BY grp ORDER BY grp" if group else ""
    sql = f"{with_tasks}SELECT {select_group}{_AGGREGATES}\nFROM task_rows\n{group_by}"
    return store.query_dicts(sql, params)


def _score_stats(
    store: Store,
    prices: PriceTable,
    flt: TaskFilter,
    *,
    group: str = "",
    extra_params: dict[str, Any] | None = None,
    names: Iterable[str] | None = None,
    scope: Scope = EVERYTHING,
) -> dict[Any, dict[str, dict[str, float | int]]]:
    """Per group (``None`` without one): ``{NAME: {"mean", "count"}}`` of the tasks' latest scores.

    ``count`` is the tasks that have a NAME score and ``mean`` the mean of their latest one;
    ``names`` narrows the names read (default: every name present).
    """
    with_tasks, params = task_rows_query(store, prices, flt, scope)
    params.update(extra_params or {})
    where = ""
    if names is not None:
        where = "WHERE s.name IN {score_names:Array(String)}"
        params["score_names"] = list(names)
    rows = store.query(
        f"""{with_tasks}SELECT {group or "NULL"} AS grp, s.name, avg(s.value), count()
FROM task_scores AS s INNER JOIN task_rows AS t ON s.TraceId = t.TraceId
{where}
GROUP BY grp, s.name ORDER BY grp, s.name""",
        params,
    )
    out: dict[Any, dict[str, dict[str, float | int]]] = defaultdict(dict)
    for grp, name, mean, count in rows:
        out[grp][str(name)] = {"mean": float(mean), "count": int(count)}
    return out


def summary(store: Store, prices: PriceTable, flt: TaskFilter, scope: Scope = EVERYTHING) -> dict[str, Any]:
    """Every metric of DESIGN.md over the tasks ``flt`` selects, among those ``scope`` may see.

    Beside the catalog's keys, ``scores``: per score name, the mean of each task's latest score of
    that name over the tasks that have one, and how many tasks those are.
    """
    rows = _run(store, prices, flt, scope=scope)
    scores = _score_stats(store, prices, flt, scope=scope).get(None, {})
    return {**_metrics(rows[0]), "scores": scores}


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
    bucket = "toUnixTimestamp(toStartOfInterval(root_start, toIntervalSecond({bucket:UInt32})))"
    by_start: dict[int, dict[str, Any]] = {}
    if wanted:
        rows = _run(store, prices, flt, group=bucket, extra_params={"bucket": bucket_seconds}, scope=scope)
        by_start = {int(row["grp"]): _metrics(row) for row in rows}
    # A bucket without tasks: every count 0, so every rate None.
    empty = _metrics(defaultdict(int))
    scores: dict[Any, dict[str, dict[str, float | int]]] = {}
    if score_names or with_scores:
        scores = _score_stats(
            store,
            prices,
            flt,
            group=bucket,
            extra_params={"bucket": bucket_seconds},
            names=None if with_scores else score_names,
            scope=scope,
        )
    first = int(flt.start.timestamp()) // bucket_seconds * bucket_seconds
    points: list[dict[str, Any]] = []
    for t in range(first, int(flt.end.timestamp()), bucket_seconds):
        values = by_start.get(t, empty)
        point: dict[str, Any] = {"start": t, **{k: values[k] for k in wanted}}
        if score_names or with_scores:
            point["scores"] = scores.get(t, {})
        points.append(point)
    return points


def breakdown(
    store: Store, prices: PriceTable, flt: TaskFilter, by: str, scope: Scope = EVERYTHING
) -> list[dict[str, Any]]:
    """Rows per model (cost, tokens), per tool (calls, outcome rates), or with every metric per task agent
    and version (the root's, else the first agent span's) or per service."""
    if by == "agent":
        group = "(root_agent, root_version)"
        rows = _run(store, prices, flt, group=group, scope=scope)
        scores = _score_stats(store, prices, flt, group=group, scope=scope)
        out = [
            {"agent": row["grp"][0], "version": row["grp"][1], **_metrics(row), "scores": scores.get(row["grp"], {})}
            for row in rows
        ]
        return sorted(out, key=lambda r: (-r["tasks"], r["agent"], r["version"]))
    if by == "service":
        rows = _run(store, prices, flt, group="root_service", scope=scope)
        scores = _score_stats(store, prices, flt, group="root_service", scope=scope)
        return sorted(
            ({"service": row["grp"], **_metrics(row), "scores": scores.get(row["grp"], {})} for row in rows),
            key=lambda r: (-r["tasks"], r["service"]),
        )
    with_tasks, params = task_rows_query(store, prices, flt, scope)
    team = _team_sql(scope)[0]
    # The selected tasks come from the rollup; their spans (the scope's team's only) from the span table.
    spans = f"""FROM {TRACES_TABLE}
WHERE Timestamp >= {{lo:DateTime64(9)}} AND Timestamp < {{hi:DateTime64(9)}} AND {team}
  AND TraceId IN (SELECT TraceId FROM task_rows)"""
    if by == "model":
        rows = store.query_dicts(
            f"""{with_tasks}SELECT Model AS model, count() AS llm_calls, sum(InputTokens) AS input_tokens,
       sum(OutputTokens) AS output_tokens,
       sum({SPAN_COST_SQL}) AS cost_usd,
       countIf({SPAN_PRICED_SQL}) AS priced_calls
{spans} AND Kind = 'llm'
GROUP BY model ORDER BY cost_usd DESC, llm_calls DESC, model""",
            params,
        )
        return [
            {
                "model": r["model"],
                "llm_calls": int(r["llm_calls"]),
                "input_tokens": int(r["input_tokens"]),
                "output_tokens": int(r["output_tokens"]),
                "cost_usd": float(r["cost_usd"]),
                "cost_coverage": _rate(r["priced_calls"], r["llm_calls"]),
            }
            for r in rows
        ]
    if by == "tool":
        rows = store.query_dicts(
            f"""{with_tasks}SELECT if(ToolName != '', ToolName, SpanName) AS tool, count() AS calls,
       countIf(Status != 'ERROR') AS ok,
       countIf(Status = 'ERROR' AND positionCaseInsensitive(ErrorClass, 'timeout') > 0) AS timeouts,
       quantileExactInclusive(0.95)(Duration) / 1e6 AS p95_ms
{spans} AND Kind = 'tool'
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
    raise ValueError(f"by={by!r}: expected one of {', '.join(BREAKDOWNS)}")
