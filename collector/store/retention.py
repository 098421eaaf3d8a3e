"""Retention: a TTL on every table of the store, and deleting one trace from every table that holds it.

``--retention-days N`` becomes ``TTL toDateTime(<time column>) + toIntervalDay(N)`` on each data
table, set with ``ALTER TABLE ... MODIFY TTL`` when the store opens (and ``REMOVE TTL`` when no
retention is set), so raw spans, the trace-id lookup, the rollups and the eval runs all expire
together. ClickHouse drops expired rows when it merges parts; the tables that have
``ttl_only_drop_parts = 1`` drop whole daily (or weekly) partitions once all their rows are expired.

Deleting a trace (a data-subject request) removes its rows from every table with a ``TraceId``
column, found in ``system.columns`` so that a table added later is covered without an edit here.
It uses ``ALTER TABLE ... DELETE`` (a mutation that rewrites the affected parts), not a lightweight
``DELETE FROM``: the latter only masks the rows until a later merge, and the point of the request
is that the data is gone from disk. Materialized views do not propagate deletes, which is why the
rollups are deleted from directly; once a trace's rows are gone from the rollup, the metrics
(which read only the rollup) are exactly what they would be had the trace never been stored.

Plain ClickHouse SQL, accepted by chDB and by a ClickHouse server alike. On a cluster (layout.py),
the TTL and the deletes apply to each table's local replicated table, ``ON CLUSTER``, and the
tables are still named by their logical (Distributed) names here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from tracereel.collector.store.tables import (
    ACTIVITY_TABLE,
    AUDIT_TABLE,
    CALLS_TABLE,
    CHANGES_TABLE,
    EVAL_RUNS_TABLE,
    FAILURE_CLUSTERS_TABLE,
    HOURS_TABLE,
    KEYS_TABLE,
    MIGRATIONS_TABLE,
    MONITOR_HISTORY_TABLE,
    MONITOR_STATE_TABLE,
    MONITORS_TABLE,
    ONLINE_RULES_TABLE,
    REVIEW_QUEUES_TABLE,
    REVIEWS_TABLE,
    ROLLUP_TABLE,
    SCORES_TABLE,
    SEAL_CHECKS_TABLE,
    SEARCH_TABLE,
    SWITCHES_TABLE,
    TASK_LIST_TABLE,
    TRACE_ID_TS_TABLE,
    TRACE_STATS_TABLE,
    TRACES_TABLE,
)

if TYPE_CHECKING:
    from tracereel.collector.store.clickhouse import Store

__all__ = [
    "OWN_TTL_TABLES",
    "TTL_COLUMNS",
    "UNEXPIRED_TABLES",
    "apply_retention",
    "current_ttl",
    "delete_trace",
    "trace_tables",
    "ttl_expression",
]

# The time each table's rows expire by: the span's start, the trace's first span (lookup and
# rollups), the eval run's start. Every data table has one; a test fails if a table is added
# to tables.py (or to the database) without an entry here or in UNEXPIRED_TABLES.
TTL_COLUMNS: Final[dict[str, str]] = {
    TRACES_TABLE: "Timestamp",
    TRACE_ID_TS_TABLE: "Start",
    ROLLUP_TABLE: "Start",
    CALLS_TABLE: "Start",
    EVAL_RUNS_TABLE: "StartedAt",
    MONITOR_HISTORY_TABLE: "Time",
    SCORES_TABLE: "Time",
    REVIEWS_TABLE: "Time",
    HOURS_TABLE: "Hour",
    ACTIVITY_TABLE: "Hour",
    SEAL_CHECKS_TABLE: "Hour",
    SEARCH_TABLE: "Timestamp",
    TASK_LIST_TABLE: "Start",
    TRACE_STATS_TABLE: "Start",
}
# Bookkeeping and state, not data: expiring the record of applied migrations would re-run them,
# expiring keys would lock their holders out (and, with none left, turn auth off), the audit log
# is what shows who deleted what (it must outlive the data it is about), a TTL on the kill
# switches would silently revive an agent killed N days ago (a switch's state is its latest row),
# and a monitor's definition and current state must outlive any window of data (its history expires);
# so must a review queue's definition (its verdicts expire with the traces they judge).
# and a monitor's definition and current state must outlive any window of data (its history expires).
# A failure cluster holds a signature and a few terms, no trace: it outlives its failures so that the
# same failure, back after a quiet month, gets its old id.
UNEXPIRED_TABLES: Final = frozenset(
    {
        MIGRATIONS_TABLE,
        KEYS_TABLE,
        AUDIT_TABLE,
        SWITCHES_TABLE,
        MONITORS_TABLE,
        MONITOR_STATE_TABLE,
        ONLINE_RULES_TABLE,  # a rule outlives any window of data, like a monitor
        REVIEW_QUEUES_TABLE,
        FAILURE_CLUSTERS_TABLE,
    }
)

# Tables that keep a fixed, short TTL of their own whatever the retention (the recent changes: a day).
OWN_TTL_TABLES: Final = frozenset({CHANGES_TABLE})

# The TTL clause in system.tables.create_table_query, up to the SETTINGS clause (if any).
_TTL_CLAUSE = re.compile(r"\sTTL\s+(.+?)(?:\s+SETTINGS\s|$)", re.DOTALL)


def ttl_expression(table: str, days: int) -> str:
    """The TTL expression for ``table`` keeping ``days`` days, spelled as ClickHouse prints it back."""
    # toDateTime: a TTL must be a Date or DateTime, and the time columns are DateTime64 (or
    # SimpleAggregateFunction over one). The spelling matches SHOW CREATE TABLE's, so an
    # unchanged setting is recognised and not re-applied.
    return f"toDateTime({TTL_COLUMNS[table]}) + toIntervalDay({days})"


def current_ttl(store: Store, table: str) -> str | None:
    """The table TTL expression of ``table`` as the engine reports it; None if it has none."""
    rows = store.query(
        "SELECT create_table_query FROM system.tables WHERE database = currentDatabase() AND name = {t:String}",
        {"t": store.layout.data_table(table)},
    )
    if not rows:
        return None
    match = _TTL_CLAUSE.search(rows[0][0])
    return match.group(1).strip() if match else None


def apply_retention(store: Store, days: int | None) -> list[str]:
    """Make every data table keep ``days`` days (None: forever); returns the tables changed.

    Idempotent: a table whose TTL is already the wanted one is left alone, because MODIFY TTL
    also re-checks every existing part (materialize_ttl_after_modify), which is not free on a
    large store. A changed ``days`` replaces the TTL, and the rows now past it are removed.
    """
    if days is not None and days < 1:
        raise ValueError(f"retention must be at least 1 day, not {days}")
    changed: list[str] = []
    for table in TTL_COLUMNS:
        have = current_ttl(store, table)
        if days is None:
            if have is None:
                continue
            store.command(store.layout.alter(table, "REMOVE TTL"))
        else:
            want = ttl_expression(table, days)
            if have == want:
                continue
            store.command(store.layout.alter(table, f"MODIFY TTL {want}"))
        changed.append(table)
    return changed


def trace_tables(store: Store) -> list[str]:
    """Every table of the store (not view) with a ``TraceId`` column: where a trace has rows.

    On a cluster these are the logical names (``otel_traces``), of tables whose rows are in ``*_local``.
    """
    rows = store.query(
        """SELECT c.table FROM system.columns AS c
INNER JOIN system.tables AS t ON t.database = c.database AND t.name = c.table
WHERE c.database = currentDatabase() AND c.name = 'TraceId' AND t.engine LIKE '%MergeTree%'
ORDER BY c.table"""
    )
    return [store.layout.logical_table(row[0]) for row in rows]


def delete_trace(store: Store, trace_id: str) -> int:
    """Remove the trace ``trace_id`` (normalised: 32 lower-case hex) from every table; returns its span count.

    0 means the store has no span of that trace, and nothing is changed (no mutation is queued).
    """
    spans = int(
        store.query(f"SELECT count() FROM {TRACES_TABLE} WHERE TraceId = {{id:String}}", {"id": trace_id})[0][0]
    )
    if not spans:
        return 0
    bounds = store.query(
        f"SELECT min(Start), max(End) FROM {TRACE_ID_TS_TABLE} WHERE TraceId = {{id:String}}", {"id": trace_id}
    )[0]
    # Raw spans last: if a delete is interrupted, the trace is still found by id, so deleting it
    # again finishes the job instead of answering 404 over rollup rows left behind.
    tables = sorted(trace_tables(store), key=lambda table: table == TRACES_TABLE)
    for table in tables:
        store.command(
            store.layout.alter(table, "DELETE WHERE TraceId = {id:String}"),
            parameters={"id": trace_id},
            # 2: wait until the mutation is done (on every replica), so the answer means "gone". On a
            # cluster the statement is ON CLUSTER: it returns once every node has run it (within
            # distributed_ddl_task_timeout), and the trace's one shard (TraceId-sharded) is rewritten.
            settings={"mutations_sync": 2},
        )
    # A deletion writes nothing the activity views see: count it, so the seals of its hours go stale, and record
    # it as a change of its task (whose root started at most SKEW_BEFORE after its first span: both hours). The
    # change names the hours, not the trace: nothing of a deleted trace stays behind.
    store.command(
        f"INSERT INTO {ACTIVITY_TABLE} (Hour, Changes) SELECT arrayJoin(arrayMap(h -> toStartOfHour(h), "
        "timeSlots({start:DateTime('UTC')}, toUInt32(dateDiff('second', {start:DateTime('UTC')}, "
        "{end:DateTime('UTC')}) + 1), 3600))), 1",
        parameters={"start": bounds[0], "end": bounds[1]},
    )
    store.command(
        f"INSERT INTO {CHANGES_TABLE} (TraceId, HasRoot, RootStart) "
        "SELECT '', 1, arrayJoin([{start:DateTime64(9)}, {start:DateTime64(9)} + toIntervalMinute(5)])",
        parameters={"start": bounds[0]},
    )
    return spans
