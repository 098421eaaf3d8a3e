"""The trace list's own table: one narrow row per task entry, in start-time order (migration 0020).

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
as it already must for a root span a client re-sent. Plain ClickHouse SQL, for chDB and a server.
"""

from __future__ import annotations

from typing import Final

from tracereel import semconv as sc
from tracereel.collector.store.tables import TASK_LIST_TABLE, TRACES_TABLE

__all__ = ["TASK_LIST_STATEMENTS"]

# IsMarker = 0: a root span (IsRoot); 1: an SDK task-start marker (a child of the root, exported when
# the task starts). TaskSuccess is otel_traces' flag column (1, 0, -1 for unset), read as the list reads it.
_SELECT = f"""SELECT Timestamp AS Start, TraceId, Team, ServiceName, SpanName AS RootName, AgentName, AgentVersion,
    Duration, Status, StatusMessage, TaskSuccess, SpanAttributes['{sc.REPLAY_OF}'] AS ReplayOf,
    SpanAttributes['{sc.EVAL_RUN_ID}'] AS EvalRunId, toUInt8(IsRoot = 0) AS IsMarker
FROM {TRACES_TABLE}
WHERE IsRoot = 1 OR startsWith(SpanName, '{sc.TASK_START_SPAN_PREFIX}')"""

TASK_LIST_STATEMENTS: Final = (
    # The skip index on TraceId serves "has this run a root?" and trace deletion; the ordering serves the list.
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
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1
) ENGINE = MergeTree()
PARTITION BY toDate(Start)
ORDER BY Start
SETTINGS index_granularity = 1024, ttl_only_drop_parts = 1""",
    f"CREATE MATERIALIZED VIEW IF NOT EXISTS {TASK_LIST_TABLE}_mv TO {TASK_LIST_TABLE} AS {_SELECT}",
    f"INSERT INTO {TASK_LIST_TABLE} {_SELECT}",
)
