"""The per-task rollup the metrics read: one row per trace and insert block, kept by a materialized view.

Computing the metrics from raw spans means grouping every span of the window by trace; over
10 million spans that took about 4 s on two cores (bench/query.py). The rollup moves that work
to insert time: for each INSERT into ``otel_traces``, the view folds each trace's spans in the
block into one row of per-task facts. A trace whose spans arrive in several INSERTs has several
rows, which the AggregatingMergeTree merges in the background and the metrics query merges at
read time (SimpleAggregateFunction columns: sums, maxima, concatenated arrays).

Retries and loops need each call's earlier identical siblings, so the row keeps the trace's calls
as (sibling group, start, errored, explicit retry attempt, arguments recorded), sorted by group
then start, and also the retry count and loop flag worked out from them. Those precomputed
values are exact when the row holds the whole trace (``Blocks = 1`` and no other row); otherwise
the metrics query recomputes them from the merged calls.

Everything here is plain ClickHouse SQL, accepted by a ClickHouse server as well as by chDB.
"""

from __future__ import annotations

from typing import Final

from tracereel.collector.store.tables import CALLS_TABLE, ROLLUP_TABLE, TRACES_TABLE
from tracereel.rules import FIRST_AGENT_SQL, NO_AGENT_SQL

__all__ = [
    "ROLLUP_MARKS_STATEMENTS",
    "ROLLUP_STATEMENTS",
    "ROLLUP_TASK_AGENT_STATEMENTS",
    "ROLLUP_TEAM_STATEMENTS",
    "USAGE_COST_SQL",
    "USAGE_PRICED_SQL",
    "looped_sql",
    "retries_sql",
]

_NEVER = "18446744073709551615"  # UInt64 max: "no plan" loses every min() against a real start time


def retries_sql(c: str) -> str:
    """SQL: how many calls of the sorted calls array ``c`` (see the module docstring) are retries."""
    return (
        f"arrayCount(i -> {c}[i].4 OR ({c}[i].5 AND i > 1 AND {c}[i - 1].1 = {c}[i].1 AND {c}[i - 1].3), "
        f"arrayEnumerate({c}))"
    )


def looped_sql(c: str) -> str:
    """SQL: whether the sorted calls array ``c`` holds a loop: three non-retry calls of one keyed sibling group.

    After sorting, such calls of one group are adjacent, so a loop shows as ``g[i] = g[i + 2]``.
    """
    kept = (
        f"arrayFilter((x, i) -> x.5 AND NOT (x.4 OR (i > 1 AND {c}[i - 1].1 = x.1 AND {c}[i - 1].3)), "
        f"{c}, arrayEnumerate({c}))"
    )
    gs = f"kept_groups_{c}"  # an alias, unique per array, for the filtered groups used twice
    return (
        f"arrayExists((g, i) -> i + 2 <= length({gs}) AND g = {gs}[i + 2], "
        f"arrayMap(x -> x.1, {kept}) AS {gs}, arrayEnumerate({gs}))"
    )


# Cost and priced-call count of a ModelUsage tuple ``u`` (models, calls, input tokens, output tokens),
# with the price parameters of price_params in collector/query/metrics.py.
USAGE_COST_SQL: Final = (
    "arraySum((m, i, o) -> i * transform(m, {models:Array(String)}, {in_price:Array(Float64)}, 0.)"
    " + o * transform(m, {models:Array(String)}, {out_price:Array(Float64)}, 0.), u.1, u.3, u.4) / 1e6"
)
USAGE_PRICED_SQL: Final = "arraySum((m, n) -> if(has({models:Array(String)}, m), n, 0), u.1, u.2)"

_COLUMNS = """
    TraceId String CODEC(ZSTD(1)),
    Start SimpleAggregateFunction(min, DateTime64(9)) CODEC(Delta(8), ZSTD(1)),
    Blocks SimpleAggregateFunction(sum, UInt64),
    HasRoot SimpleAggregateFunction(max, UInt8),
    RootStart SimpleAggregateFunction(max, DateTime64(9)) CODEC(Delta(8), ZSTD(1)),
    RootError SimpleAggregateFunction(max, UInt8),
    RootSuccess SimpleAggregateFunction(max, Int8),
    RootDuration SimpleAggregateFunction(max, UInt64) CODEC(T64, ZSTD(1)),
    RootService SimpleAggregateFunction(max, String) CODEC(ZSTD(1)),
    RootAgent SimpleAggregateFunction(max, String) CODEC(ZSTD(1)),
    RootVersion SimpleAggregateFunction(max, String) CODEC(ZSTD(1)),
    LlmCalls SimpleAggregateFunction(sum, UInt64),
    ToolCalls SimpleAggregateFunction(sum, UInt64),
    ToolOk SimpleAggregateFunction(sum, UInt64),
    ToolTimeouts SimpleAggregateFunction(sum, UInt64),
    Scores SimpleAggregateFunction(sum, UInt64),
    LatestScore SimpleAggregateFunction(max, Tuple(UInt64, Float64)),
    Plans SimpleAggregateFunction(sum, UInt64),
    FirstPlan SimpleAggregateFunction(min, Tuple(UInt64, Int32)),
    ExplicitCost SimpleAggregateFunction(sum, Float64),
    ExplicitCostCalls SimpleAggregateFunction(sum, UInt64),
    ModelUsage SimpleAggregateFunction(sumMap, Tuple(Array(String), Array(UInt64), Array(UInt64), Array(UInt64))),
    AnyViolation SimpleAggregateFunction(max, UInt8),
    AnyEscalation SimpleAggregateFunction(max, UInt8),
    PreRetries SimpleAggregateFunction(sum, UInt64),
    PreLooped SimpleAggregateFunction(max, UInt8)"""


_MARKS = """
        toUInt8(max(IsRoot = 1 AND (IsReplay = 1 OR IsEval = 1))) AS Excluded,
        max(IsKilled) AS Killed,
        sumMapIf(([toString(Model)], [toUInt64(1)], [InputTokens], [OutputTokens], [ifNull(CostUsd, 0.)]),
                 Kind = 'llm' AND CostUsd IS NOT NULL) AS ExplicitUsage,"""


# Per trace within one INSERT block. Column aliases avoid the source's names (an alias that shadows
# a column it aggregates is an error in ClickHouse). Duration is cast: a stock exporter's table has Int64.
def _select(team: bool, first_agent: bool = False, marks: bool = False) -> str:
    # ``team``: the rollups as of migration 0009, one row per trace and team (the ingest key's).
    # ``first_agent``: as of migration 0015, the first agent span below the root (the task's agent when
    # the root names none).
    # ``marks``: as of migration 0022, whether the task is a replay or an eval case (its root says so), whether
    # a kill switch stopped it, and its explicitly priced LLM calls per model, so the metrics and the model
    # breakdown never go back to the spans.
    team_column, team_group = ("Team,", ", Team") if team else ("", "")
    first_agent_column = f"\n        {FIRST_AGENT_SQL} AS FirstAgent," if first_agent else ""
    if marks:
        first_agent_column += _MARKS
    return f"""SELECT *, {retries_sql("Calls")} AS PreRetries, {looped_sql("Calls")} AS PreLooped
FROM (
    SELECT
        TraceId,{team_column}{first_agent_column}
        min(Timestamp) AS Start,
        toUInt64(1) AS Blocks,
        max(IsRoot) AS HasRoot,
        maxIf(Timestamp, IsRoot = 1) AS RootStart,
        toUInt8(maxIf(Status = 'ERROR', IsRoot = 1)) AS RootError,
        toInt8(if(max(IsRoot) = 1, maxIf(TaskSuccess, IsRoot = 1), -2)) AS RootSuccess,
        maxIf(toUInt64(Duration), IsRoot = 1) AS RootDuration,
        maxIf(toString(ServiceName), IsRoot = 1) AS RootService,
        maxIf(toString(AgentName), IsRoot = 1) AS RootAgent,
        maxIf(toString(AgentVersion), IsRoot = 1) AS RootVersion,
        countIf(Kind = 'llm') AS LlmCalls,
        countIf(Kind = 'tool') AS ToolCalls,
        countIf(Kind = 'tool' AND Status != 'ERROR') AS ToolOk,
        countIf(Kind = 'tool' AND Status = 'ERROR' AND positionCaseInsensitive(ErrorClass, 'timeout') > 0)
            AS ToolTimeouts,
        countIf(Groundedness IS NOT NULL) AS Scores,
        -- The latest score to be recorded: the one on the span that ended last.
        max(if(Groundedness IS NULL, (toUInt64(0), 0.),
               (toUInt64(toUnixTimestamp64Nano(Timestamp)) + toUInt64(Duration), assumeNotNull(Groundedness))))
            AS LatestScore,
        countIf(PlanLength >= 0) AS Plans,
        -- The first plan recorded (the outermost agent's, as it starts first).
        min(if(PlanLength >= 0, (toUInt64(toUnixTimestamp64Nano(Timestamp)), PlanLength),
               (toUInt64({_NEVER}), toInt32(-1)))) AS FirstPlan,
        sumIf(ifNull(CostUsd, 0.), Kind = 'llm' AND CostUsd IS NOT NULL) AS ExplicitCost,
        countIf(Kind = 'llm' AND CostUsd IS NOT NULL) AS ExplicitCostCalls,
        sumMapIf(([toString(Model)], [toUInt64(1)], [InputTokens], [OutputTokens]), Kind = 'llm' AND CostUsd IS NULL)
            AS ModelUsage,
        max(GuardrailViolation) AS AnyViolation,
        max(Escalated) AS AnyEscalation,
        arraySort(x -> (x.1, x.2), groupArrayIf(
            (cityHash64(ParentSpanId, Kind, SpanName, CallKey), Timestamp, toUInt8(Status = 'ERROR'),
             toUInt8(RetryAttempt >= 1), toUInt8(CallKey != 0)),
            Kind IN ('llm', 'tool'))) AS Calls
    FROM {TRACES_TABLE}
    GROUP BY TraceId{team_group}
)"""


# The calls themselves, in their own table: read only for traces stored in more than one row.
_CALLS_COLUMNS = """
    TraceId String CODEC(ZSTD(1)),
    Start SimpleAggregateFunction(min, DateTime64(9)) CODEC(Delta(8), ZSTD(1)),
    Calls SimpleAggregateFunction(groupArrayArray, Array(Tuple(UInt64, DateTime64(9), UInt8, UInt8, UInt8)))
        CODEC(ZSTD(1))"""
_SELECT = _select(team=False)
_CALLS_SELECT = f"SELECT TraceId, Start, Calls FROM ({_SELECT})"
_TASK_SELECT = f"SELECT * EXCEPT Calls FROM ({_SELECT})"

ROLLUP_STATEMENTS: Final = (
    f"""CREATE TABLE IF NOT EXISTS {ROLLUP_TABLE} ({_COLUMNS}
) ENGINE = AggregatingMergeTree()
PARTITION BY toDate(Start)
ORDER BY TraceId""",
    f"""CREATE TABLE IF NOT EXISTS {CALLS_TABLE} ({_CALLS_COLUMNS}
) ENGINE = AggregatingMergeTree()
PARTITION BY toDate(Start)
ORDER BY TraceId""",
    # Spans stored before this migration (the views only see new INSERTs).
    f"INSERT INTO {ROLLUP_TABLE} {_TASK_SELECT}",
    f"INSERT INTO {CALLS_TABLE} {_CALLS_SELECT}",
    f"CREATE MATERIALIZED VIEW IF NOT EXISTS {ROLLUP_TABLE}_mv TO {ROLLUP_TABLE} AS {_TASK_SELECT}",
    f"CREATE MATERIALIZED VIEW IF NOT EXISTS {CALLS_TABLE}_mv TO {CALLS_TABLE} AS {_CALLS_SELECT}",
)

# Migration 0009: the rollups get the spans' Team as part of their key, so the metrics of one
# team read only its rows. A column added to a sorting key cannot have a default expression
# (ClickHouse refuses), and needs none: a String column's implicit default is '' (no team).
# The views are replaced by ones that group by team; rows already in the rollups keep Team ''.
_TEAM_SELECT = _select(team=True)
ROLLUP_TEAM_STATEMENTS: Final = (
    *(
        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS Team LowCardinality(String) AFTER TraceId, "
        "MODIFY ORDER BY (TraceId, Team)"
        for table in (ROLLUP_TABLE, CALLS_TABLE)
    ),
    f"DROP VIEW IF EXISTS {ROLLUP_TABLE}_mv",
    f"DROP VIEW IF EXISTS {CALLS_TABLE}_mv",
    f"CREATE MATERIALIZED VIEW IF NOT EXISTS {ROLLUP_TABLE}_mv TO {ROLLUP_TABLE} AS "
    f"SELECT * EXCEPT Calls FROM ({_TEAM_SELECT})",
    f"CREATE MATERIALIZED VIEW IF NOT EXISTS {CALLS_TABLE}_mv TO {CALLS_TABLE} AS "
    f"SELECT TraceId, Team, Start, Calls FROM ({_TEAM_SELECT})",
)

# Migration 0015: the first agent span of each task (tracereel/rules.py, the task's agent). The view is
# replaced by one that keeps it, and the rollup is rebuilt from the spans, so tasks stored before
# get it too. A writer that does not know the column (none should) writes NO_AGENT, which loses
# every min(). Spans that arrive while the rollup is rebuilt miss it, as in migration 0005.
_AGENT_SELECT = _select(team=True, first_agent=True)
_ROLLUP_COLUMNS = (
    "TraceId, Team, FirstAgent, Start, Blocks, HasRoot, RootStart, RootError, RootSuccess, RootDuration, "
    "RootService, RootAgent, RootVersion, LlmCalls, ToolCalls, ToolOk, ToolTimeouts, Scores, LatestScore, Plans, "
    "FirstPlan, ExplicitCost, ExplicitCostCalls, ModelUsage, AnyViolation, AnyEscalation, PreRetries, PreLooped"
)
ROLLUP_TASK_AGENT_STATEMENTS: Final = (
    f"ALTER TABLE {ROLLUP_TABLE} ADD COLUMN IF NOT EXISTS FirstAgent "
    f"SimpleAggregateFunction(min, Tuple(UInt64, String, String)) DEFAULT {NO_AGENT_SQL}",
    f"DROP VIEW IF EXISTS {ROLLUP_TABLE}_mv",
    # A mutation touches only the parts that exist when it is made, so the rebuilt rows below stay;
    # waited for, so no query counts a task twice (the old rows and the rebuilt ones).
    f"ALTER TABLE {ROLLUP_TABLE} DELETE WHERE 1 SETTINGS mutations_sync = 2",
    f"INSERT INTO {ROLLUP_TABLE} ({_ROLLUP_COLUMNS}) SELECT {_ROLLUP_COLUMNS} FROM ({_AGENT_SELECT})",
    f"CREATE MATERIALIZED VIEW IF NOT EXISTS {ROLLUP_TABLE}_mv TO {ROLLUP_TABLE} AS "
    f"SELECT * EXCEPT Calls FROM ({_AGENT_SELECT})",
)


# Migration 0022: the marks of ``_select`` (``marks``) as columns of the rollup, which is rebuilt from the spans
# as in migration 0015.
_MARKS_SELECT = _select(team=True, first_agent=True, marks=True)
_MARKED_COLUMNS = f"{_ROLLUP_COLUMNS}, Excluded, Killed, ExplicitUsage"
ROLLUP_MARKS_STATEMENTS: Final = (
    f"ALTER TABLE {ROLLUP_TABLE} ADD COLUMN IF NOT EXISTS Excluded SimpleAggregateFunction(max, UInt8), "
    "ADD COLUMN IF NOT EXISTS Killed SimpleAggregateFunction(max, UInt8), "
    "ADD COLUMN IF NOT EXISTS ExplicitUsage SimpleAggregateFunction(sumMap, "
    "Tuple(Array(String), Array(UInt64), Array(UInt64), Array(UInt64), Array(Float64)))",
    # The rows of a few hours, read without the rest of their days (the live part of the metrics, sealing an
    # hour): the table is ordered by trace, so without this every row of the day is read.
    f"ALTER TABLE {ROLLUP_TABLE} MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild'",
    f"ALTER TABLE {ROLLUP_TABLE} ADD PROJECTION IF NOT EXISTS by_start (SELECT * ORDER BY Start)",
    f"DROP VIEW IF EXISTS {ROLLUP_TABLE}_mv",
    f"ALTER TABLE {ROLLUP_TABLE} DELETE WHERE 1 SETTINGS mutations_sync = 2",
    f"INSERT INTO {ROLLUP_TABLE} ({_MARKED_COLUMNS}) SELECT {_MARKED_COLUMNS} FROM ({_MARKS_SELECT})",
    f"CREATE MATERIALIZED VIEW IF NOT EXISTS {ROLLUP_TABLE}_mv TO {ROLLUP_TABLE} AS "
    f"SELECT * EXCEPT Calls FROM ({_MARKS_SELECT})",
)
