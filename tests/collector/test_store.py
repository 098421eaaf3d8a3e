"""The store: migrations recorded in the database, and tables written by a stock OTel Collector."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.support import store_before
from tracereel.collector import Store, StoreError
from tracereel.collector.query import get_trace, list_traces
from tracereel.collector.store import MIGRATIONS

# The stock OpenTelemetry Collector ClickHouse exporter's DDL as older versions wrote it:
# ORDER BY without Timestamp, STATUS_CODE_* / SPAN_KIND_* spellings, a plain MergeTree lookup.
STOCK_TRACES = """CREATE TABLE otel_traces (
    Timestamp DateTime64(9) CODEC(Delta, ZSTD(1)), TraceId String CODEC(ZSTD(1)), SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)), TraceState String CODEC(ZSTD(1)), SpanName LowCardinality(String),
    SpanKind LowCardinality(String), ServiceName LowCardinality(String),
    ResourceAttributes Map(LowCardinality(String), String), ScopeName String, ScopeVersion String,
    SpanAttributes Map(LowCardinality(String), String), Duration Int64, StatusCode LowCardinality(String),
    StatusMessage String,
    Events Nested (Timestamp DateTime64(9), Name LowCardinality(String),
                   Attributes Map(LowCardinality(String), String)),
    Links Nested (TraceId String, SpanId String, TraceState String, Attributes Map(LowCardinality(String), String)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1
) ENGINE = MergeTree() PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, SpanName, toUnixTimestamp(Timestamp), TraceId)"""
STOCK_LOOKUP = """CREATE TABLE otel_traces_trace_id_ts (TraceId String, Start DateTime64(9), End DateTime64(9))
ENGINE = MergeTree() ORDER BY (TraceId, toUnixTimestamp(Start))"""
STOCK_MV = """CREATE MATERIALIZED VIEW otel_traces_trace_id_ts_mv TO otel_traces_trace_id_ts AS
SELECT TraceId, min(Timestamp) AS Start, max(Timestamp) AS End FROM otel_traces WHERE TraceId != '' GROUP BY TraceId"""
STOCK_ROWS = """INSERT INTO otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName,
    SpanAttributes, Duration, StatusCode, StatusMessage) VALUES
 ('2024-05-01 10:00:00.000000000', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', '1111111111111111', '', 'invoke_agent planner',
  'SPAN_KIND_INTERNAL', 'otel-svc', {'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'planner'},
  4000000, 'STATUS_CODE_ERROR', 'failed'),
 ('2024-05-01 10:00:00.001000000', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', '2222222222222222', '1111111111111111',
  'chat gpt-4o', 'SPAN_KIND_CLIENT', 'otel-svc',
  {'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': '40'},
  1000000, 'STATUS_CODE_UNSET', '')"""


def test_migrations_are_ordered_recorded_and_applied_once(tmp_path: Path):
    names = [name for name, _ in MIGRATIONS]
    assert names == sorted(names)
    store = Store.open(f"chdb://{tmp_path}")
    try:
        assert store.applied_migrations() == names
        assert store.migrate() == []
        columns = {row[0] for row in store.query("SELECT name FROM system.columns WHERE table = 'otel_traces'")}
        assert {"Kind", "Status", "AgentName", "ToolName", "Model", "InputTokens", "ArgsHash"} <= columns
    finally:
        store.close()


def test_a_table_written_by_a_stock_otel_collector_is_migrated_and_readable(tmp_path: Path):
    import clickhouse_connect

    raw = clickhouse_connect.get_client(dsn=f"chdb://{tmp_path}")
    for statement in (STOCK_TRACES, STOCK_LOOKUP, STOCK_MV, STOCK_ROWS):
        raw.command(statement)
    raw.close()

    store = Store.open(f"chdb://{tmp_path}")
    try:
        (summary,) = list_traces(
            store,
            start=datetime(2024, 1, 1, tzinfo=timezone.utc),
            end=datetime(2025, 1, 1, tzinfo=timezone.utc),
            limit=10,
        )
        assert summary["trace_id"] == "a" * 32
        assert summary["status_code"] == "ERROR"
        assert summary["agent_name"] == "planner"
        assert summary["input_tokens"] == 40
        trace = get_trace(store, "a" * 32)
        assert trace is not None
        assert [(s["name"], s["kind"], s["status_code"]) for s in trace["spans"]] == [
            ("invoke_agent planner", "agent", "ERROR"),
            ("chat gpt-4o", "llm", "UNSET"),
        ]
    finally:
        store.close()


def test_bad_store_urls_say_what_to_do(tmp_path: Path):
    with pytest.raises(StoreError, match="names no directory"):
        Store.open("chdb://")
    with pytest.raises(StoreError, match="is not valid"):
        Store.open("postgres://localhost/db")


def test_passwords_in_server_urls_are_masked_in_messages():
    store = Store(client=None, url="http://tracereel:hunter2@clickhouse:8123/tracereel")
    assert store.display_url == "http://tracereel:***@clickhouse:8123/tracereel"
    with pytest.raises(StoreError) as caught:
        Store.open("ftp://tracereel:hunter2@clickhouse/db")
    assert "hunter2" not in str(caught.value)


# A LangGraph task (the root a chain, the agent a graph node below it), stored in two INSERTs.
LANGGRAPH_ROWS = (
    """INSERT INTO otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, ServiceName, SpanAttributes,
    Duration, StatusCode) VALUES
 ('2024-05-01 10:00:00.000000000', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', '1111111111111111', '', 'LangGraph', 'graph',
  {'openinference.span.kind': 'CHAIN'}, 9000000, 'Ok')""",
    """INSERT INTO otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, ServiceName, SpanAttributes,
    Duration, StatusCode) VALUES
 ('2024-05-01 10:00:00.001000000', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', '2222222222222222', '1111111111111111', 'router',
  'graph', {'openinference.span.kind': 'AGENT', 'graph.node.id': 'router'}, 5000000, 'Ok')""",
)


def test_a_store_from_before_the_task_agent_rule_finds_its_langgraph_tasks_by_agent(tmp_path: Path):
    import clickhouse_connect

    from tracereel.collector.query import TaskFilter, breakdown, load_prices
    from tracereel.collector.store import MIGRATIONS_TABLE
    from tracereel.collector.store.migrations import MIGRATIONS_TABLE_DDL

    # The store as the collector left it before migration 0015, holding a LangGraph task.
    raw = clickhouse_connect.get_client(dsn=f"chdb://{tmp_path}")
    raw.command(MIGRATIONS_TABLE_DDL)
    before = [(name, statements) for name, statements in MIGRATIONS if name < "0015"]
    for name, statements in before:
        for statement in statements:
            raw.command(statement)
        raw.insert(MIGRATIONS_TABLE, [[name]], column_names=["name"])
    for statement in LANGGRAPH_ROWS:
        raw.command(statement)
    raw.close()

    store = Store.open(f"chdb://{tmp_path}")
    try:
        assert "0015_task_agent" in store.applied_migrations()
        window = {"start": datetime(2024, 1, 1, tzinfo=timezone.utc), "end": datetime(2025, 1, 1, tzinfo=timezone.utc)}
        (listed,) = list_traces(store, limit=10, agent="router", **window)
        assert listed["trace_id"] == "b" * 32 and listed["agent_name"] == "router"
        rows = breakdown(store, load_prices(None), TaskFilter(**window), "agent")
        assert [(r["agent"], r["tasks"]) for r in rows] == [("router", 1)]
    finally:
        store.close()


# Before migration 0022: a task (a root and an LLM call with an explicit cost), a replay of it, and a score
# posted through the API two days after the task (its time is the post's, not the trace's).
SEALED_ROWS = (
    """INSERT INTO otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, ServiceName, SpanAttributes,
    Duration, StatusCode) VALUES
 ('2024-05-01 10:00:00.000000000', 'cccccccccccccccccccccccccccccccc', '1111111111111111', '', 'invoke_agent a', 'svc',
  {'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'a'}, 9000000, 'Ok'),
 ('2024-05-01 10:00:00.001000000', 'cccccccccccccccccccccccccccccccc', '2222222222222222', '1111111111111111',
  'chat m', 'svc', {'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'm', 'tracereel.cost.usd': '0.25',
  'gen_ai.usage.input_tokens': '10'}, 5000000, 'Ok'),
 ('2024-05-01 10:30:00.000000000', 'dddddddddddddddddddddddddddddddd', '3333333333333333', '', 'invoke_agent a', 'svc',
  {'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'a', 'tracereel.replay.of': 'cccc'}, 9000000,
  'Ok')""",
    """INSERT INTO tracereel_scores (ScoreId, Team, TraceId, Name, Value, Label, Comment, Source, Author, Time)
    VALUES ('s1', '', 'cccccccccccccccccccccccccccccccc', 'groundedness', 0.9, NULL, '', 'api', '',
            '2024-05-03 12:00:00')""",
)


def test_a_store_from_before_sealed_hours_keeps_its_numbers_and_seals_them(tmp_path: Path):
    from tracereel.collector.query import TaskFilter, breakdown, load_prices, summary
    from tracereel.collector.query.hours import plan_hours, seal_hours
    from tracereel.collector.query.scope import EVERYTHING

    raw = store_before(tmp_path, "0022")
    for statement in SEALED_ROWS:
        raw.command(statement)
    raw.close()

    store = Store.open(f"chdb://{tmp_path}")
    try:
        assert "0022_sealed_hours" in store.applied_migrations()
        # The score is stored again with its trace's start, by which the metrics find it (the old row, same id
        # and time, is the same score).
        starts = store.query("SELECT toString(TraceStart) FROM tracereel_scores WHERE ScoreId = 's1'")
        assert ("2024-05-01 10:00:00.000000",) in starts
        flt = TaskFilter(start=datetime(2024, 5, 1, tzinfo=timezone.utc), end=datetime(2024, 5, 2, tzinfo=timezone.utc))
        prices = load_prices(None)
        before = summary(store, prices, flt)
        # The replay is not a task; the explicit cost and the API's score count.
        assert before["tasks"] == 1 and before["cost_usd"] == pytest.approx(0.25)
        assert before["groundedness_rate"] == 1.0
        assert [(r["model"], r["llm_calls"]) for r in breakdown(store, prices, flt, "model")] == [("m", 1)]
        assert seal_hours(store, now=datetime(2024, 6, 1, tzinfo=timezone.utc)) > 0
        # The task's hour, and the one before (a task's spans may start 5 minutes before its root).
        assert [h.hour for h, _ in plan_hours(store, flt, EVERYTHING).sealed] == [9, 10]
        assert summary(store, prices, flt) == before
    finally:
        store.close()
