"""The trace list's own tables (migration 0020): its entries in start-time order, and each trace's counts.

Listing the newest tasks from ``otel_traces`` meant finding root spans in a table sorted by
service and span name, and opening each root's attribute map to leave replays out: over 10
million spans that read every span of the window (about half a second on two cores, much more
under load). This table holds, for each root span and each SDK ``task_start`` marker (a run
that never finished is listed from its marker), exactly the columns the list shows and filters
on. It is sorted by the start time, so "the newest 50" reads the last granules in reverse order
and stops once it has them (``optimize_read_in_order``).

A materialized view copies the entries of every INSERT into ``otel_traces``; the migration
copies those stored before it. The view is created before the copy, so a span arriving while it
runs may be stored twice, which is harmless: the list keeps one row per trace (``LIMIT 1 BY``),
as it already must for a root span a client re-sent.

The list also shows each trace's spans, errors, steps, tokens and cost. Counting them from
``otel_traces`` for 50 traces read every span stored in the seconds those traces ran (its sort key
is the span name, so each name's granules over that time: some 475,000 rows at 10 million spans).
``tracereel_trace_stats`` keeps them per trace and team (AggregatingMergeTree, merged at read
time like the task rollup), sorted by the hour of the trace's first span in each INSERT, then
TraceId: the newest traces sit together, and their rows are found by the hours the tasks ran (the
metrics' slack around each root's start), then by id. (A key of TraceId alone put 50 random ids in
50 granules of every part, which read most of the table.) Span ids are kept as a set, so a re-sent
span counts once, as ``uniqExact(SpanId)`` did; the cost is kept as explicit cost plus tokens per
model, priced when read (the price table can change). Plain ClickHouse SQL, for chDB and a server.
"""

from __future__ import annotations

from typing import Final

from tracereel import semconv as sc
from tracereel.collector.store.tables import TASK_LIST_TABLE, TRACE_STATS_TABLE, TRACES_TABLE

__all__ = ["TASK_LIST_STATEMENTS"]

# IsMarker = 0: a root span (IsRoot); 1: an SDK task-start marker (a child of the root, exported when
# the task starts). TaskSuccess is otel_traces' flag column (1, 0, -1 for unset), read as the list reads it.
_SELECT = f"""SELECT Timestamp AS Start, TraceId, Team, ServiceName, SpanName AS RootName, AgentName, AgentVersion,
    Duration, Status, StatusMessage, TaskSuccess, SpanAttributes['{sc.REPLAY_OF}'] AS ReplayOf,
    SpanAttributes['{sc.EVAL_RUN_ID}'] AS EvalRunId, toUInt8(IsRoot = 0) AS IsMarker
FROM {TRACES_TABLE}
WHERE IsRoot = 1 OR startsWith(SpanName, '{sc.TASK_START_SPAN_PREFIX}')"""

# Per trace and team within one INSERT block. Aliases differ from otel_traces' columns (an alias that
# shadows a column it aggregates is an error in ClickHouse).
_STATS_SELECT = f"""SELECT toStartOfHour(min(Timestamp)) AS Hour, TraceId, Team, min(Timestamp) AS Start,
    groupUniqArray(SpanId) AS SpanIds,
    countIf(Status = 'ERROR') AS Errors, countIf(Kind IN ('llm', 'tool')) AS Steps, countIf(Kind = 'llm') AS LlmCalls,
    sumIf(InputTokens, Kind = 'llm') AS LlmInputTokens, sumIf(OutputTokens, Kind = 'llm') AS LlmOutputTokens,
    sumIf(ifNull(CostUsd, 0.), Kind = 'llm' AND CostUsd IS NOT NULL) AS ExplicitCost,
    countIf(Kind = 'llm' AND CostUsd IS NOT NULL) AS ExplicitCostCalls,
    sumMapIf(([toString(Model)], [toUInt64(1)], [InputTokens], [OutputTokens]), Kind = 'llm' AND CostUsd IS NULL)
        AS ModelUsage,
    max(toUInt64(toUnixTimestamp64Nano(Timestamp)) + toUInt64(Duration)) AS LastEnd
FROM {TRACES_TABLE}
GROUP BY TraceId, Team"""

TASK_LIST_STATEMENTS: Final = (
    # The ordering serves the list. Skip indexes: TraceId for "has this run a root?" and deletion; the
    # filters' columns so that a rare or absent agent, version, service or team skips the granules without it.
    f"""CREATE TABLE IF NOT EXISTS {TASK_LIST_TABLE} (
    Start DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    Team LowCardinality(String),
    ServiceName LowCardinality(String),
    RootName LowCardinality(String),
    AgentName LowCardinality(String),
    AgentVersion LowCardinality(String),
    Duration UInt64 CODEC(T64, ZSTD(1)),
    Status LowCardinality(String),
    StatusMessage String CODEC(ZSTD(1)),
    TaskSuccess Int8,
    ReplayOf String CODEC(ZSTD(1)),
    EvalRunId String CODEC(ZSTD(1)),
    IsMarker UInt8,
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_agent AgentName TYPE set(64) GRANULARITY 1,
    INDEX idx_version AgentVersion TYPE set(64) GRANULARITY 1,
    INDEX idx_service ServiceName TYPE set(64) GRANULARITY 1,
    INDEX idx_team Team TYPE set(64) GRANULARITY 1
) ENGINE = MergeTree()
PARTITION BY toDate(Start)
ORDER BY Start
SETTINGS index_granularity = 1024, ttl_only_drop_parts = 1""",
    f"CREATE MATERIALIZED VIEW IF NOT EXISTS {TASK_LIST_TABLE}_mv TO {TASK_LIST_TABLE} AS {_SELECT}",
    f"INSERT INTO {TASK_LIST_TABLE} {_SELECT}",
    f"""CREATE TABLE IF NOT EXISTS {TRACE_STATS_TABLE} (
    Hour DateTime CODEC(Delta(4), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    Team LowCardinality(String),
    Start SimpleAggregateFunction(min, DateTime64(9)) CODEC(Delta(8), ZSTD(1)),
    SpanIds SimpleAggregateFunction(groupUniqArrayArray, Array(String)) CODEC(ZSTD(1)),
    Errors SimpleAggregateFunction(sum, UInt64),
    Steps SimpleAggregateFunction(sum, UInt64),
    LlmCalls SimpleAggregateFunction(sum, UInt64),
    LlmInputTokens SimpleAggregateFunction(sum, UInt64),
    LlmOutputTokens SimpleAggregateFunction(sum, UInt64),
    ExplicitCost SimpleAggregateFunction(sum, Float64),
    ExplicitCostCalls SimpleAggregateFunction(sum, UInt64),
    ModelUsage SimpleAggregateFunction(sumMap, Tuple(Array(String), Array(UInt64), Array(UInt64), Array(UInt64))),
    LastEnd SimpleAggregateFunction(max, UInt64)
) ENGINE = AggregatingMergeTree()
PARTITION BY toDate(Hour)
ORDER BY (Hour, TraceId, Team)
SETTINGS index_granularity = 1024, ttl_only_drop_parts = 1""",
    f"CREATE MATERIALIZED VIEW IF NOT EXISTS {TRACE_STATS_TABLE}_mv TO {TRACE_STATS_TABLE} AS {_STATS_SELECT}",
    f"INSERT INTO {TRACE_STATS_TABLE} {_STATS_SELECT}",
)
