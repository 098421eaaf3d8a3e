"""The store's side of sealed hours: per-hour metric states, and the activity that says when one is stale.

The metrics over a long window would otherwise fold every task of it (collector/query/metrics.py). A
sealed hour holds, for the tasks whose root started in that hour, the states of every metric
(sums, exact quantile states, per-model usage, per-score sums) per service, agent and version,
computed by the same per-task SQL as the live path, once per team and once for every team ('*').

A sealed hour is used only while it is current. ``tracereel_activity`` counts, per hour, every row
that reaches the per-task rollup and every score, by the time of the trace they are about (views on
both tables, so any writer counts, a stock OpenTelemetry Collector's too), and every trace deletion.
It only grows. A seal keeps the sum of the counts of the hours that can hold data of its tasks, and
a reader compares it with the sum now: any span, score or deletion about those tasks since makes
them differ, and the hour is read live instead, until it is sealed again.

Everything here is plain ClickHouse SQL, accepted by a ClickHouse server as well as by chDB.
"""

from __future__ import annotations

from typing import Final

from tracereel.collector.store.tables import (
    ACTIVITY_TABLE,
    CHANGES_TABLE,
    HOURS_TABLE,
    ROLLUP_TABLE,
    SCORES_TABLE,
    SEAL_CHECKS_TABLE,
)

__all__ = [
    "ACTIVITY_HOURS_AFTER",
    "ACTIVITY_HOURS_BEFORE",
    "CHANGES_KEPT_HOURS",
    "CHANGES_STATEMENTS",
    "HOURS_STATEMENTS",
    "STATE_COLUMNS",
]

# The hours whose activity can change a sealed hour H: a task's rows start up to 5 minutes before its
# root and up to 6 hours after (collector/query/metrics.py SKEW_BEFORE, RUN_AFTER), so H - 1 to H + 6.
ACTIVITY_HOURS_BEFORE: Final = 1
ACTIVITY_HOURS_AFTER: Final = 6

# How long the changes are kept: a seal last checked longer ago than this cannot be checked again (it is re-sealed).
CHANGES_KEPT_HOURS: Final = 24

# Name, type: the metric states of one (hour, team, service, agent, version).
STATE_COLUMNS: Final = (
    ("Tasks", "UInt64"),
    ("Successes", "UInt64"),
    ("ScoredTasks", "UInt64"),
    ("GroundedTasks", "UInt64"),
    ("ToolCalls", "UInt64"),
    ("ToolOk", "UInt64"),
    ("ToolTimeouts", "UInt64"),
    ("Calls", "UInt64"),
    ("Retries", "UInt64"),
    ("LoopedTasks", "UInt64"),
    ("StepsState", "AggregateFunction(quantileExactInclusive(0.95), UInt64)"),
    ("PlanSum", "Int64"),
    ("PlannedTasks", "UInt64"),
    ("DurationState", "AggregateFunction(quantilesExactInclusive(0.5, 0.95), UInt64)"),
    ("ExplicitCost", "Float64"),
    ("ExplicitCalls", "UInt64"),
    ("LlmCalls", "UInt64"),
    ("Usage", "Tuple(Array(String), Array(UInt64), Array(UInt64), Array(UInt64))"),
    ("ExplicitUsage", "Tuple(Array(String), Array(UInt64), Array(UInt64), Array(UInt64), Array(Float64))"),
    ("Violated", "UInt64"),
    ("Escalated", "UInt64"),
    ("Killed", "UInt64"),
    ("ScoreSums", "Tuple(Array(String), Array(Float64), Array(UInt64))"),
)

_STATES = ",\n    ".join(f"{name} {type_}" for name, type_ in STATE_COLUMNS)

HOURS_STATEMENTS: Final = (
    f"""CREATE TABLE IF NOT EXISTS {ACTIVITY_TABLE} (
    Hour DateTime('UTC'),
    Changes UInt64
) ENGINE = SummingMergeTree()
PARTITION BY toYYYYMM(Hour)
ORDER BY Hour
SETTINGS ttl_only_drop_parts = 1""",
    # Every row the rollup's view writes (one per trace and INSERT), by the hour its spans start in.
    f"""CREATE MATERIALIZED VIEW IF NOT EXISTS {ACTIVITY_TABLE}_rollup_mv TO {ACTIVITY_TABLE} AS
SELECT toStartOfHour(toDateTime(Start, 'UTC')) AS Hour, count() AS Changes FROM {ROLLUP_TABLE} GROUP BY Hour""",
    f"""CREATE MATERIALIZED VIEW IF NOT EXISTS {ACTIVITY_TABLE}_scores_mv TO {ACTIVITY_TABLE} AS
SELECT toStartOfHour(toDateTime(TraceStart, 'UTC')) AS Hour, count() AS Changes FROM {SCORES_TABLE} GROUP BY Hour""",
    # What the store held before the views (a seal compares sums of these counts, so any start will do).
    f"""INSERT INTO {ACTIVITY_TABLE} (Hour, Changes)
SELECT toStartOfHour(toDateTime(Start, 'UTC')) AS Hour, count() FROM {ROLLUP_TABLE} GROUP BY Hour""",
    # A seal: one generation per (team, hour), the newest wins; an hour without tasks has one row of no task
    # (empty service, agent and version) so its seal is recorded.
    f"""CREATE TABLE IF NOT EXISTS {HOURS_TABLE} (
    Team LowCardinality(String),
    Hour DateTime('UTC'),
    SealedAt DateTime64(6, 'UTC'),
    Signature UInt64,
    Service LowCardinality(String),
    Agent LowCardinality(String),
    Version LowCardinality(String),
    {_STATES}
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(Hour)
ORDER BY (Team, Hour, SealedAt)
SETTINGS ttl_only_drop_parts = 1""",
)

# The changes since a seal, trace by trace (migration 0026). The activity of an hour moves with every span of the
# six hours after it, so under steady ingest every recent seal looks stale by its signature; these rows say which
# tasks really changed: a row with its root names its task's hour (HasRoot, RootStart), a row without one (a span
# exported before its root, a score) is resolved to its trace's root in the rollup when it is read.
CHANGES_STATEMENTS: Final = (
    f"""CREATE TABLE IF NOT EXISTS {CHANGES_TABLE} (
    InsertedAt DateTime64(6, 'UTC') DEFAULT now64(6, 'UTC'),
    TraceId String CODEC(ZSTD(1)),
    HasRoot UInt8,
    RootStart DateTime64(9)
) ENGINE = MergeTree()
PARTITION BY toStartOfHour(InsertedAt)
ORDER BY InsertedAt
TTL toDateTime(InsertedAt) + toIntervalHour({CHANGES_KEPT_HOURS})
SETTINGS ttl_only_drop_parts = 1""",
    f"""CREATE MATERIALIZED VIEW IF NOT EXISTS {CHANGES_TABLE}_rollup_mv TO {CHANGES_TABLE} AS
SELECT TraceId, HasRoot, if(HasRoot = 1, RootStart, toDateTime64(0, 9)) AS RootStart FROM {ROLLUP_TABLE}""",
    f"""CREATE MATERIALIZED VIEW IF NOT EXISTS {CHANGES_TABLE}_scores_mv TO {CHANGES_TABLE} AS
SELECT TraceId, toUInt8(0) AS HasRoot, toDateTime64(0, 9) AS RootStart FROM {SCORES_TABLE}""",
    # A check that found a seal current at CheckedAt with the activity then (Signature): the newest per seal wins.
    f"""CREATE TABLE IF NOT EXISTS {SEAL_CHECKS_TABLE} (
    Team LowCardinality(String),
    Hour DateTime('UTC'),
    SealedAt DateTime64(6, 'UTC'),
    CheckedAt DateTime64(6, 'UTC'),
    Signature UInt64
) ENGINE = ReplacingMergeTree(CheckedAt)
PARTITION BY toYYYYMM(Hour)
ORDER BY (Team, Hour, SealedAt)
SETTINGS ttl_only_drop_parts = 1""",
)
