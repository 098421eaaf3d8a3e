"""The per-task facts every metric is made of, in ClickHouse SQL, and their states per group.

The tasks are the traces whose root span starts in the window and matches the filters; each is
folded into one row of per-task facts from the rollup (collector/store/rollup.py) and its latest
scores. ``STATES_SQL`` aggregates such rows into the states the metrics are finished from, the same
states a sealed hour keeps (collector/query/hours.py), so both merge in one query.

Filters (service, agent, version) select tasks by their root span's service and the task's agent
(tracereel/rules.py: the root's agent, else the first agent span's); every span of a selected task
counts, whichever agent or service produced it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from tracereel.collector.query.prices import PriceTable
from tracereel.collector.query.scope import EVERYTHING, Scope, scope_sql
from tracereel.collector.store import (
    CALLS_TABLE,
    ROLLUP_TABLE,
    SCORES_TABLE,
    TASK_LIST_TABLE,
    USAGE_COST_SQL,
    USAGE_PRICED_SQL,
    Store,
    looped_sql,
    retries_sql,
)
from tracereel.rules import score_passes_sql, task_agent_sql, task_success_sql

__all__ = [
    "RUN_AFTER",
    "SKEW_BEFORE",
    "SPAN_COST_SQL",
    "SPAN_PRICED_SQL",
    "STATES_SQL",
    "TaskFilter",
    "live_states_sql",
    "price_params",
    "task_filter_sql",
    "task_rows_query",
]

# A task's spans start inside its root span; the slack admits clock skew between services
# before the root and tasks that run for hours after it, without scanning the whole table.
SKEW_BEFORE: Final = timedelta(minutes=5)
RUN_AFTER: Final = timedelta(hours=6)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)


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
        # Replays of recorded runs and eval case runs are not production tasks (migrations 0006, 0008); the
        # rollup marks them (0022), so the rows that select tasks need an ``excluded`` column.
        "excluded = 0",
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
    # The models that need a price are those of calls without an explicit cost: the rollup's usage keys
    # (a small read, where the spans' Model column is every span's). Prefix matching happens in Python
    # over the few distinct models of the window.
    models = store.query(
        f"SELECT DISTINCT arrayJoin(ModelUsage.1) FROM {ROLLUP_TABLE} "
        "WHERE Start >= {lo:DateTime64(9)} AND Start < {hi:DateTime64(9)}",
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
    "llm_calls, tool_calls, tool_ok, tool_timeouts, plans, plan_length, explicit_cost, "
    "explicit_calls, u, eu, violated, escalated, excluded, was_killed"
)
# The task's agent (tracereel/rules.py): the root's, else the first agent span's. Its version goes with it.
_SPLIT_AGENT = task_agent_sql("max(RootAgent)", "max(RootVersion)", "min(FirstAgent)")
_TASK_ROWS = f"""
rollup AS (
    SELECT * FROM {ROLLUP_TABLE}
    WHERE ({{rollup_window}}) AND (HasRoot = 0 OR {{root_rows}}) AND {{team}} AND ({{rollup_rows}})
),
split_calls AS (
    -- Retries and loops of the traces stored in more than one rollup row, from their merged calls.
    SELECT TraceId, {retries_sql("c")} AS retries, {looped_sql("c")} AS looped
    FROM (
        SELECT TraceId, arraySort(x -> (x.1, x.2), groupArrayArray(Calls)) AS c
        FROM {CALLS_TABLE}
        WHERE ({{rollup_window}}) AND {{team}} AND TraceId IN (
            SELECT TraceId FROM rollup GROUP BY TraceId HAVING ({{with_calls}}) AND (count() > 1 OR sum(Blocks) > 1)
        )
        GROUP BY TraceId
    )
),
task_parts AS (
    -- One pass over the rollup rows: a trace's rows merged (most traces have one); the precomputed
    -- retries and loop flag hold only for a trace in one row, the others take split_calls'.
    SELECT p.TraceId AS TraceId, {_ROOT_COLUMNS},
           if(p.split, c.retries, p.pre_retries) AS retries, if(p.split, c.looped, p.pre_looped) AS looped
    FROM (
        SELECT TraceId, count() > 1 OR sum(Blocks) > 1 AS split, sum(PreRetries) AS pre_retries,
               max(PreLooped) AS pre_looped,
               max(HasRoot) AS has_root, max(RootStart) AS root_start, max(RootError) AS root_error,
               max(RootSuccess) AS root_success, max(RootDuration) AS root_duration,
               max(RootService) AS root_service, {_SPLIT_AGENT[0]} AS root_agent,
               {_SPLIT_AGENT[1]} AS root_version,
               sum(LlmCalls) AS llm_calls, sum(ToolCalls) AS tool_calls, sum(ToolOk) AS tool_ok,
               sum(ToolTimeouts) AS tool_timeouts,
               sum(Plans) AS plans, min(FirstPlan).2 AS plan_length, sum(ExplicitCost) AS explicit_cost,
               sum(ExplicitCostCalls) AS explicit_calls, sumMap(ModelUsage) AS u, sumMap(ExplicitUsage) AS eu,
               max(AnyViolation) AS violated, max(AnyEscalation) AS escalated, max(Excluded) AS excluded,
               max(Killed) AS was_killed
        FROM rollup
        GROUP BY TraceId
    ) AS p
    LEFT JOIN split_calls AS c ON p.TraceId = c.TraceId
),
task_facts AS (
    SELECT *,
           {task_success_sql("root_success", "root_error")} AS success,
           llm_calls + tool_calls AS steps,
           explicit_cost + {{usage_cost}} AS cost,
           explicit_calls + {{usage_priced}} AS priced
    FROM task_parts
    WHERE {{where}}
),
task_scores AS (
    -- Each selected task's latest score of each name, whatever its source (tracereel/rules.py). A score is
    -- its id's newest row (what FINAL keeps of the ReplacingMergeTree); the scores are found by their
    -- trace's start (TraceStart, migration 0022), which a projection orders, so only the window's are read,
    -- and only those of the tasks rooted in the ranges (the trace list's roots): the window is widened by hours.
    SELECT TraceId, name, argMax(value, (time, score_id)) AS value
    FROM (
        SELECT TraceId, ScoreId AS score_id, argMax((Name, Value), Time) AS latest, latest.1 AS name,
               latest.2 AS value, max(Time) AS time
        FROM {SCORES_TABLE}
        WHERE ({{score_window}}) AND {{team}}
          AND TraceId IN (SELECT TraceId FROM {TASK_LIST_TABLE} WHERE IsMarker = 0 AND ({{root_list}}))
        GROUP BY Team, TraceId, ScoreId
    )
    GROUP BY TraceId, name
)"""
# The last CTE: the per-task rows with the groundedness facts (task_rows), or with every latest score (scored_rows,
# for STATES_SQL). Only one is written: the engine analyses every CTE of a query, used or not.
_TASK_ROWS_LAST = f"""
task_rows AS (
    SELECT f.*, g.scored AS scored, g.scored AND {score_passes_sql("g.value")} AS grounded
    FROM task_facts AS f
    LEFT JOIN (SELECT TraceId, value, toUInt8(1) AS scored FROM task_scores WHERE name = 'groundedness') AS g
        ON f.TraceId = g.TraceId
)"""
_SCORED_ROWS_LAST = f"""
scored_rows AS (
    -- task_rows with every latest score of the task (score_names, score_values), for STATES_SQL: one join.
    SELECT f.*, has(s.names, 'groundedness') AS scored,
           scored AND {score_passes_sql("s.values[indexOf(s.names, 'groundedness')]")} AS grounded,
           s.names AS score_names, s.values AS score_values
    FROM task_facts AS f
    LEFT JOIN (SELECT TraceId, groupArray(name) AS names, groupArray(value) AS values FROM task_scores GROUP BY TraceId)
        AS s ON f.TraceId = s.TraceId
)"""

# The states of every metric over a group of tasks, named as the sealed hours' columns (collector/store/hours.py),
# so live tasks and sealed hours merge in one query.
STATES_SQL: Final = """
    count() AS Tasks,
    sum(success) AS Successes,
    sum(scored) AS ScoredTasks,
    sum(grounded) AS GroundedTasks,
    sum(tool_calls) AS ToolCalls,
    sum(tool_ok) AS ToolOk,
    sum(tool_timeouts) AS ToolTimeouts,
    sum(steps) AS Calls,
    sum(retries) AS Retries,
    countIf(looped) AS LoopedTasks,
    quantileExactInclusiveState(0.95)(steps) AS StepsState,
    sumIf(toInt64(plan_length), plans > 0) AS PlanSum,
    countIf(plans > 0) AS PlannedTasks,
    quantilesExactInclusiveState(0.5, 0.95)(root_duration) AS DurationState,
    sum(explicit_cost) AS ExplicitCost,
    sum(explicit_calls) AS ExplicitCalls,
    sum(llm_calls) AS LlmCalls,
    sumMap(u) AS Usage,
    sumMap(eu) AS ExplicitUsage,
    countIf(violated) AS Violated,
    countIf(escalated) AS Escalated,
    countIf(was_killed) AS Killed,
    sumMap((score_names, score_values, arrayMap(x -> toUInt64(1), score_names))) AS ScoreSums"""


def _windows(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """The root-start ``ranges`` widened by the skew before and the run after, merged where they overlap."""
    widened = sorted((max(start - SKEW_BEFORE, _EPOCH), end + RUN_AFTER) for start, end in ranges)
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in widened:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _range_sql(column: str, ranges: list[tuple[datetime, datetime]], name: str) -> tuple[str, dict[str, Any]]:
    """``column`` in any of ``ranges`` (half open), as SQL with parameters ``{name}_lo_i``/``{name}_hi_i``."""
    if not ranges:
        return "0", {}
    parts: list[str] = []
    params: dict[str, Any] = {}
    for i, (lo, hi) in enumerate(ranges):
        parts.append(f"({column} >= {{{name}_lo_{i}:DateTime64(9)}} AND {column} < {{{name}_hi_{i}:DateTime64(9)}})")
        params[f"{name}_lo_{i}"] = lo
        params[f"{name}_hi_{i}"] = hi
    return " OR ".join(parts), params


def task_rows_query(
    store: Store | None,
    prices: PriceTable | None,
    flt: TaskFilter,
    scope: Scope = EVERYTHING,
    ranges: list[tuple[datetime, datetime]] | None = None,
    *,
    scored: bool = False,
    rollup_rows: str = "1",
    with_calls: bool = True,
) -> tuple[str, dict[str, Any]]:
    """``WITH ... task_rows AS (...)`` and its parameters: per-task facts of each task ``flt`` selects in ``scope``.

    A query appends its ``SELECT ... FROM task_rows``. The columns: success, steps, cost, priced,
    root_* (start, duration in ns, service; agent and version are the task's, tracereel/rules.py),
    llm_calls, tool_calls, tool_ok, tool_timeouts, retries, looped, violated, escalated, and scored /
    grounded (the task has a groundedness score of any source / its latest one passes). ``task_scores``
    holds each task's latest ``value`` of each score ``name`` (join it on TraceId).

    ``ranges``: only the tasks whose root starts in one of these (within ``flt``'s window); default the
    whole window. ``scored``: the last CTE is ``scored_rows`` instead of task_rows, with score_names /
    score_values (the task's latest score of each name), for STATES_SQL. ``cost``/``priced`` need ``store``
    and ``prices`` (the price table as parameters); without them every model is unpriced there (the metrics
    price merged usage in Python instead).
    ``rollup_rows``: a further condition on the rollup rows read (a sample of traces); it must keep every row
    of a trace it keeps the root row of. ``with_calls`` False: a read that uses neither ``retries`` nor ``looped``
    leaves out the calls of traces stored in several rows (then wrong for those traces), a scan of the window.
    """
    where, params = task_filter_sql(flt, scope)
    ranges = [(flt.start, flt.end)] if ranges is None else ranges
    root_range, root_params = _range_sql("root_start", ranges, "live")
    where += f" AND ({root_range})"
    params.update(root_params)
    windows = _windows(ranges)
    rollup_window, rollup_params = _range_sql("Start", windows, "rollup")
    # A row with a root outside the ranges is of a task not selected: skipped before its columns are read (the
    # window is widened by hours after each range for the task's later rows, most of them other tasks' roots).
    root_rows, root_row_params = _range_sql("RootStart", ranges, "root_row")
    root_list = root_rows.replace("RootStart", "Start")
    params.update(root_row_params)
    score_window, score_params = _range_sql("TraceStart", windows, "score")
    params.update(rollup_params)
    params.update(score_params)
    # Without a price table every model is unpriced: the terms are 0, not an expression over empty arrays (the
    # engine's analysis of a query is a large part of its time).
    usage_cost, usage_priced = "0.", "0"
    if store is not None and prices is not None:
        params.update(price_params(store, prices, flt.start - SKEW_BEFORE, flt.end + RUN_AFTER))
        usage_cost, usage_priced = USAGE_COST_SQL, USAGE_PRICED_SQL
    sql = (_TASK_ROWS + ",\n" + (_SCORED_ROWS_LAST if scored else _TASK_ROWS_LAST)).format(
        where=where,
        team=_team_sql(scope)[0],
        rollup_window=rollup_window,
        root_rows=root_rows,
        root_list=root_list,
        score_window=score_window,
        rollup_rows=rollup_rows,
        with_calls="1" if with_calls else "0",
        usage_cost=usage_cost,
        usage_priced=usage_priced,
    )
    return f"WITH {sql}\n", params


def live_states_sql(
    flt: TaskFilter, scope: Scope, group: str, ranges: list[tuple[datetime, datetime]]
) -> tuple[str, dict[str, Any]]:
    """SQL: the ``_STATES`` of the tasks rooted in ``ranges``, per ``group`` (an expression over task_rows)."""
    with_tasks, params = task_rows_query(None, None, flt, scope, ranges, scored=True)
    return f"{with_tasks}SELECT {group} AS grp, {STATES_SQL}\nFROM scored_rows\nGROUP BY grp", params
