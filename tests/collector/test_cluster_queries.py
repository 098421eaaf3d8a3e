"""The collector on the cluster layout's tables, for real, on chDB as a one-shard cluster of itself.

No ClickHouse server or Keeper runs here, so ``ON CLUSTER`` and the Replicated engines cannot
execute (chDB has no distributed DDL queue, and a Replicated table without Keeper is read-only).
Everything else of the cluster layout does run: chDB is given a ``<remote_servers>`` cluster
whose one shard is this engine, the cluster DDL is applied without ``ON CLUSTER`` and with the
plain engines in place of the Replicated ones (what Keeper adds is replication, not behaviour a
query sees), and the whole collector runs over it: spans go through the Distributed table (with
the layout's session settings), the materialized views on the local tables fill the local
rollups, and the metrics, the trace reads, retention and deletes go through the Distributed
tables and the local ones. The metrics must be exactly those of the one-node store.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from test_metrics import EXPECTED, WINDOW, _assert_metrics, build_fleet
from test_retention import span_columns

from tracereel.collector import Store
from tracereel.collector.store import (
    OWN_TTL_TABLES,
    TRACES_TABLE,
    TTL_COLUMNS,
    Layout,
    apply_retention,
    current_ttl,
    delete_trace,
    schema_script,
    trace_tables,
    ttl_expression,
)

CLUSTER = "tracereel"
# This engine as the one shard of the cluster: a replica whose host and port are this engine's
# own (tcp_port; nothing listens there) is local, and a Distributed table reads and writes it in
# process.
_CONFIG = f"""<clickhouse>
    <tcp_port>{{port}}</tcp_port>
    <remote_servers>
        <{CLUSTER}>
            <shard><replica><host>127.0.0.1</host><port>{{port}}</port></replica></shard>
        </{CLUSTER}>
    </remote_servers>
</clickhouse>
"""


class _WithoutKeeper(Layout):
    """The cluster layout minus ``ON CLUSTER``, which needs Keeper's distributed DDL queue."""

    @property
    def on_cluster(self) -> str:
        return ""


def _unreplicated(statement: str) -> str:
    """The statement with ``ReplicatedXMergeTree('<path>', '<replica>'[, args])`` as ``XMergeTree([args])``."""
    return re.sub(r"Replicated(\w*MergeTree)\('[^']*', '[^']*'(?:, )?", r"\1(", statement)


@pytest.fixture
def store(tmp_path: Path, unused_port: int) -> Iterator[Store]:
    """Overrides the root ``store``: the cluster layout's tables on chDB as a one-shard cluster."""
    import clickhouse_connect

    config = tmp_path / "cluster.xml"
    config.write_text(_CONFIG.format(port=unused_port))
    layout = _WithoutKeeper(CLUSTER)
    client = clickhouse_connect.get_client(
        dsn=f"chdb://{tmp_path / 'store'}",
        chdb_options={"config-file": str(config)},
        settings=layout.session_settings,
    )
    assert client.query(f"SELECT is_local FROM system.clusters WHERE cluster = '{CLUSTER}'").result_rows == [(1,)]
    for _, statements in schema_script(layout):
        for statement in statements:
            assert " ON CLUSTER " not in statement
            client.command(_unreplicated(statement))
    opened = Store(client, f"chdb://{tmp_path / 'store'}", layout)
    yield opened
    opened.close()


def test_the_tables_are_local_tables_behind_distributed_ones(store: Store):
    engines = dict(store.query("SELECT name, engine FROM system.tables WHERE database = currentDatabase()"))
    for table in TTL_COLUMNS:
        assert engines[table] == "Distributed"
        assert engines[f"{table}_local"].endswith("MergeTree")
    views = {name: engine for name, engine in engines.items() if engine == "MaterializedView"}
    # The trace-id lookup, both rollups, the SDK's scores, the search text, the task list and its counts, the
    # activity and the changes of the rollup and of the scores.
    assert len(views) == 11


def test_every_metric_through_the_distributed_tables(asgi_collector, otel):
    build_fleet(otel)
    with asgi_collector.client() as http:
        response = http.get("/api/v1/metrics", params=WINDOW)
        breakdown = http.get("/api/v1/metrics/breakdown", params={**WINDOW, "by": "model"})
        traces = http.get("/api/v1/traces", params={**WINDOW, "limit": 10})
    assert response.status_code == 200, response.text
    _assert_metrics(response.json(), EXPECTED)
    assert [(m["model"], m["llm_calls"]) for m in breakdown.json()["rows"]] == [
        ("gpt-4o-mini", 1),
        ("gpt-4o", 2),
        ("mystery-model", 1),
    ]
    # The views on the local tables filled the local rollups, read through the Distributed ones.
    store = asgi_collector.store
    rows = store.query("SELECT count(DISTINCT TraceId) FROM tracereel_task_rollup_local")[0][0]
    assert rows == store.query("SELECT count(DISTINCT TraceId) FROM tracereel_task_rollup")[0][0] == 5
    with asgi_collector.client() as http:
        trace_id = traces.json()["traces"][0]["trace_id"]
        trace = http.get(f"/api/v1/traces/{trace_id}")
        # Search reads the Distributed search table: the one task that looked up id 2 (and failed).
        searched = http.get("/api/v1/traces", params={**WINDOW, "q": '"ID": 2}'}).json()["traces"]
        failed = http.get("/api/v1/traces", params={**WINDOW, "status": "error"}).json()["traces"]
    assert trace.status_code == 200 and trace.json()["spans"]
    assert [t["trace_id"] for t in searched] == [t["trace_id"] for t in failed] and len(failed) == 1


def test_retention_and_deletes_apply_to_the_local_tables(store: Store):
    trace_id = "cd" * 16
    store.insert_spans(span_columns(trace_id, datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(hours=1)))
    assert (
        set(trace_tables(store))
        == (
            set(TTL_COLUMNS)
            - {
                "tracereel_eval_runs",
                "tracereel_monitor_history",
                "tracereel_task_hours",
                "tracereel_activity",
                "tracereel_seal_checks",
            }
        )
        | OWN_TTL_TABLES
    )
    assert apply_retention(store, 30) == list(TTL_COLUMNS)
    assert {current_ttl(store, table) for table in TTL_COLUMNS} == {ttl_expression(t, 30) for t in TTL_COLUMNS}
    local_ttl = store.query(
        "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name LIKE '%\\\\_local' "
        "AND create_table_query LIKE '% TTL %'"
    )
    assert local_ttl == [(len(TTL_COLUMNS) + len(OWN_TTL_TABLES),)]
    assert delete_trace(store, trace_id) == 3
    for table in trace_tables(store):
        assert store.query(f"SELECT count() FROM {table} WHERE TraceId = {{id:String}}", {"id": trace_id}) == [(0,)]
    assert store.query(f"SELECT count() FROM {TRACES_TABLE}") == [(0,)]
