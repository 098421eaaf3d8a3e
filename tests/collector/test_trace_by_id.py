"""A trace read by id from otel_traces's projection ordered by trace id (migration 0023), exactly as from the table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from tests.support import migrated_store, store_before
from tracereel.collector import Store
from tracereel.collector.query import get_trace, trace_team
from tracereel.collector.store import TRACE_ID_PROJECTION, delete_trace

# 2,000 traces of 20 spans each over 40 seconds, every span of a trace with its own name: the table's order
# (service, span name, time) spreads a trace over several of its 8,192-row granules, the projection's keeps it
# in one of 256 rows. A trace's id is the hex of its number's MD5; span ids are distinct, and each trace's
# first span is its root.
SPANS = f"""INSERT INTO otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, ServiceName, SpanAttributes,
    Duration, StatusCode)
SELECT toDateTime64('2024-05-01 10:00:00', 9) + toIntervalMillisecond(number),
       lower(hex(MD5(toString(intDiv(number, 20))))), lower(hex(number + 1)),
       if(number % 20 = 0, '', lower(hex(number - number % 20 + 1))),
       if(number % 20 = 0, 'invoke_agent a', concat('chat step ', toString(number % 20))), 'svc',
       map('gen_ai.operation.name', if(number % 20 = 0, 'invoke_agent', 'chat'), 'gen_ai.agent.name', 'a',
           'gen_ai.request.model', 'm', 'gen_ai.usage.input_tokens', toString(number % 7)),
       1000000, 'Ok'
FROM numbers({2000 * 20})"""
TRACE = "SELECT lower(hex(MD5(toString({n:UInt32}))))"
# What get_trace selects of a span (collector/query/traces.py) and trace_team: the projection must hold it all.
BY_ID = """SELECT SpanId, ParentSpanId, SpanName, Kind, Timestamp, Duration, Status, StatusMessage, SpanKind,
    ServiceName, ScopeName, SpanAttributes, ResourceAttributes, `Events.Timestamp`, `Events.Name`,
    `Events.Attributes`, `Links.TraceId`, `Links.SpanId`, `Links.Attributes`, Model, InputTokens, OutputTokens,
    CostUsd, Team, IsRoot
FROM otel_traces WHERE TraceId = {id:String}
    AND Timestamp >= '2024-05-01 10:00:00' AND Timestamp < '2024-05-01 10:01:00'"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A migrated store holding SPANS."""
    opened = Store.open(migrated_store(tmp_path))
    try:
        opened.command(SPANS)
        yield opened
    finally:
        opened.close()


def _trace_id(store: Store, n: int) -> str:
    return str(store.query(TRACE, {"n": n})[0][0])


def _projection_rows(store: Store, trace_id: str) -> int:
    """The trace's rows as the projection holds them (refused by the engine if it cannot read the projection)."""
    rows = store.query(
        f"SELECT count() FROM otel_traces WHERE TraceId = {{id:String}} "
        f"SETTINGS force_optimize_projection_name = '{TRACE_ID_PROJECTION}'",
        {"id": trace_id},
    )
    return int(rows[0][0])


def test_a_trace_is_read_from_the_projection_and_is_the_same_trace(store: Store):
    trace_id = _trace_id(store, 777)
    plan = "\n".join(row[0] for row in store.query(f"EXPLAIN projections = 1 {BY_ID}", {"id": trace_id}))
    assert f"ReadFromMergeTree ({TRACE_ID_PROJECTION})" in plan, plan
    trace = get_trace(store, trace_id)
    assert trace is not None
    table = store.query(
        "SELECT SpanId, SpanName, Kind, InputTokens FROM otel_traces WHERE TraceId = {id:String} "
        "ORDER BY Timestamp, SpanId SETTINGS optimize_use_projections = 0",
        {"id": trace_id},
    )
    assert len(table) == 20
    got = [(s["span_id"], s["name"], s["kind"], s["input_tokens"]) for s in trace["spans"]]
    assert got == [tuple(row) for row in table]
    assert trace_team(store, trace_id) == ""


def test_a_deleted_trace_is_gone_from_the_projection_too(store: Store):
    deleted, kept = _trace_id(store, 5), _trace_id(store, 7)
    assert [_projection_rows(store, t) for t in (deleted, kept)] == [20, 20]
    assert delete_trace(store, deleted) == 20
    assert [_projection_rows(store, t) for t in (deleted, kept)] == [0, 20]
    assert get_trace(store, deleted) is None
    kept_trace = get_trace(store, kept)
    assert kept_trace is not None and len(kept_trace["spans"]) == 20


def test_a_lightweight_delete_is_refused_rather_than_leaving_the_rows_in_the_projection(store: Store):
    trace_id = _trace_id(store, 6)
    with pytest.raises(DatabaseError, match="has projections"):
        store.command("DELETE FROM otel_traces WHERE TraceId = {id:String}", {"id": trace_id})
    assert _projection_rows(store, trace_id) == 20
    trace = get_trace(store, trace_id)
    assert trace is not None and len(trace["spans"]) == 20


def test_spans_stored_before_the_migration_get_the_projection(tmp_path: Path):
    raw = store_before(tmp_path, "0023")
    raw.command(SPANS)
    raw.close()

    store = Store.open(f"chdb://{tmp_path}")
    try:
        assert "0023_trace_id_projection" in store.applied_migrations()
        in_projection = store.query(
            "SELECT sum(rows) FROM system.projection_parts "
            "WHERE table = 'otel_traces' AND active AND name = {p:String}",
            {"p": TRACE_ID_PROJECTION},
        )
        assert in_projection == [(40_000,)]
        assert _projection_rows(store, _trace_id(store, 1999)) == 20
    finally:
        store.close()
