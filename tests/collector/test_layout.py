"""The store's layouts: one node (exactly the migrations as written) and a ClickHouse cluster.

No ClickHouse server or Keeper runs here, so the cluster DDL cannot be executed. What is checked
for real is that the engine's own parser (chDB's ``formatQuery``) accepts every statement of both
layouts, that the engines they name exist in the engine, and that the cluster form covers every
table, view and ALTER of every migration (a new migration without one fails here).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tracereel.cli import main
from tracereel.collector import Store, StoreError
from tracereel.collector.store import (
    MIGRATIONS,
    MIGRATIONS_TABLE,
    SINGLE_NODE,
    TTL_COLUMNS,
    ClusterLayoutError,
    Layout,
    schema_script,
)
from tracereel.collector.store.layout import SHARDING_KEYS, UNSHARDED_TABLES

CLUSTER = "tracereel_cluster"
_CREATE_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)\s*\(")
_CREATE_VIEW = re.compile(r"CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+)")


def _statements(layout: Layout) -> list[str]:
    return [s for _, statements in schema_script(layout, retention_days=30) for s in statements]


def _created_tables() -> list[str]:
    return [m[1] for _, statements in MIGRATIONS for s in statements if (m := _CREATE_TABLE.match(s))]


def test_the_single_node_layout_is_the_migrations_as_written():
    assert SINGLE_NODE.migrations(MIGRATIONS) == MIGRATIONS
    assert SINGLE_NODE.bookkeeping() == (
        "CREATE TABLE IF NOT EXISTS tracereel_migrations "
        "(name String, applied_at DateTime64(3) DEFAULT now64(3)) ENGINE = MergeTree ORDER BY name"
    )
    assert SINGLE_NODE.alter("otel_traces", "REMOVE TTL") == "ALTER TABLE otel_traces REMOVE TTL"
    assert SINGLE_NODE.data_table("otel_traces") == SINGLE_NODE.logical_table("otel_traces") == "otel_traces"
    assert not any("ON CLUSTER" in s or "Replicated" in s or "Distributed" in s for s in _statements(SINGLE_NODE))


@pytest.mark.parametrize("cluster", [None, CLUSTER])
def test_the_engine_parses_every_statement_of_the_layout(store: Store, cluster: str | None):
    statements = _statements(Layout(cluster))
    assert len(statements) > len(MIGRATIONS)
    for statement in statements:
        # formatQuery runs ClickHouse's parser and prints the AST back; a syntax error raises.
        (formatted,) = store.query("SELECT formatQuerySingleLine({q:String})", {"q": statement})[0]
        assert formatted.split()[:2] == statement.split()[:2]
        if cluster:
            assert (" ON CLUSTER " in formatted) == statement.startswith(("CREATE", "ALTER", "DROP")), statement[:80]


def test_the_engines_and_functions_of_the_cluster_layout_exist(store: Store):
    text = "\n".join(_statements(Layout(CLUSTER)))
    engines = set(re.findall(r"ENGINE = (\w+)\(", text))
    assert engines == {
        "ReplicatedMergeTree",
        "ReplicatedAggregatingMergeTree",
        "ReplicatedReplacingMergeTree",
        "ReplicatedSummingMergeTree",
        "Distributed",
    }
    known = {row[0] for row in store.query("SELECT name FROM system.table_engines")}
    assert engines <= known
    functions = {row[0] for row in store.query("SELECT name FROM system.functions")}
    assert {"cityHash64", "currentDatabase"} <= functions
    # The session settings of the cluster layout are settings the engine knows, with values it takes.
    settings = Layout(CLUSTER).session_settings
    assert settings["insert_distributed_sync"] == 1 and SINGLE_NODE.session_settings == {}
    spelled = ", ".join(f"{k} = {v!r}" for k, v in settings.items())
    assert store.query(f"SELECT 1 SETTINGS {spelled}") == [(1,)]
    with pytest.raises(Exception, match="Unknown setting"):
        store.query("SELECT 1 SETTINGS insert_distributed_synchronously = 1")


def test_every_table_of_every_migration_is_replicated_and_distributed_by_trace():
    cluster = Layout(CLUSTER)
    statements = [s for _, st in cluster.migrations(MIGRATIONS) for s in st]
    tables = _created_tables()
    assert set(TTL_COLUMNS) <= set(tables)
    for table in UNSHARDED_TABLES - {MIGRATIONS_TABLE}:
        # Keys and the audit log: every collector reads them whole, from any node.
        (create,) = [s for s in statements if s.startswith(f"CREATE TABLE IF NOT EXISTS {table} ON CLUSTER")]
        assert "'/clickhouse/tables/all/{database}/{table}', '{shard}-{replica}'" in create
        assert not any(s.startswith(f"CREATE TABLE IF NOT EXISTS {table}_local") for s in statements)
    for table in set(tables) - UNSHARDED_TABLES:
        local = f"{table}_local"
        head = f"CREATE TABLE IF NOT EXISTS {local} ON CLUSTER {CLUSTER} ("
        (create,) = [s for s in statements if s.startswith(head)]
        assert re.search(
            # A ReplacingMergeTree's version column comes after the replica.
            r"ENGINE = Replicated\w*MergeTree\('/clickhouse/tables/\{shard\}/\{database\}/\{table\}', "
            r"'\{replica\}'(, \w+)?\)",
            create,
        )
        key = SHARDING_KEYS.get(table, "cityHash64(TraceId)")
        distributed = (
            f"CREATE TABLE IF NOT EXISTS {table} ON CLUSTER {CLUSTER} AS {local}\n"
            f"ENGINE = Distributed({CLUSTER}, currentDatabase(), {local}, {key})"
        )
        # The local table first: the Distributed table copies its columns.
        assert statements.index(create) < statements.index(distributed)
    # Views read and write the local tables, so each shard folds the spans it stores.
    views = [s for s in statements if _CREATE_VIEW.match(s)]
    assert len(views) == sum(1 for _, st in MIGRATIONS for s in st if _CREATE_VIEW.match(s)) >= 3
    for view in views:
        assert f" ON CLUSTER {CLUSTER} TO " in view and re.search(r" TO \w+_local ", view)
        assert set(re.findall(r"FROM (\w+)", view)) <= {f"{t}_local" for t in tables} | {"("}, view[:120]
    # Every ALTER runs on the local tables; column changes on the Distributed tables too.
    for statement in statements:
        if statement.startswith("ALTER"):
            assert f" ON CLUSTER {CLUSTER} " in statement
    added = [s for s in statements if " ADD COLUMN " in s]
    on_local = [s for s in added if re.match(r"ALTER TABLE \w+_local ", s)]
    assert on_local and len(on_local) == len(added) // 2  # each followed on its Distributed table
    # The Distributed table takes the column change only, never the sort key.
    assert not any("ORDER BY" in s for s in added if s not in on_local)
    materialize = [s for s in statements if " MATERIALIZE COLUMN " in s]
    assert materialize and all(s.startswith("ALTER TABLE otel_traces_local ") for s in materialize)


def test_the_cluster_bookkeeping_is_one_table_replicated_on_every_node():
    ddl = Layout(CLUSTER).bookkeeping()
    assert ddl.startswith(f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} ON CLUSTER {CLUSTER} (")
    # No {shard} in the Keeper path: one table for the whole cluster, every node a replica of it.
    assert "ReplicatedMergeTree('/clickhouse/tables/all/{database}/{table}', '{shard}-{replica}')" in ddl
    assert "Distributed" not in ddl


def test_retention_and_deletes_apply_to_the_local_tables_on_every_node():
    cluster = Layout(CLUSTER)
    ttl = cluster.alter("otel_traces", "MODIFY TTL x")
    assert ttl == f"ALTER TABLE otel_traces_local ON CLUSTER {CLUSTER} MODIFY TTL x"
    assert cluster.data_table(MIGRATIONS_TABLE) == MIGRATIONS_TABLE
    assert cluster.logical_table("tracereel_task_rollup_local") == "tracereel_task_rollup"
    (retention,) = [st for title, st in schema_script(cluster, retention_days=7) if title.startswith("retention")]
    assert len(retention) == len(TTL_COLUMNS)
    # On each table's data: the local table of a sharded one, the table itself when it is on every node.
    expected = {f"ALTER TABLE {cluster.data_table(table)} ON CLUSTER {CLUSTER} MODIFY TTL " for table in TTL_COLUMNS}
    assert {s[: s.index(" MODIFY TTL ") + len(" MODIFY TTL ")] for s in retention} == expected
    assert any("_local ON CLUSTER" in s for s in retention)


def test_a_new_migration_gets_its_cluster_form_without_an_edit():
    later = (
        *MIGRATIONS,
        ("0099_team", ("ALTER TABLE otel_traces ADD COLUMN IF NOT EXISTS Team LowCardinality(String) DEFAULT ''",)),
        (
            "0100_by_team",
            (
                "CREATE TABLE IF NOT EXISTS by_team (TraceId String, Team String, n UInt64) "
                "ENGINE = ReplacingMergeTree(n) ORDER BY (Team, TraceId)",
                "CREATE MATERIALIZED VIEW IF NOT EXISTS by_team_mv TO by_team AS "
                "SELECT TraceId, Team, count() AS n FROM otel_traces GROUP BY TraceId, Team",
            ),
        ),
    )
    _, (team_local, team_distributed) = Layout(CLUSTER).migrations(later)[-2]
    assert team_local.startswith(f"ALTER TABLE otel_traces_local ON CLUSTER {CLUSTER} ADD COLUMN")
    assert team_distributed.startswith(f"ALTER TABLE otel_traces ON CLUSTER {CLUSTER} ADD COLUMN")
    _, (local, distributed, view) = Layout(CLUSTER).migrations(later)[-1]
    # The engine's own arguments follow the Keeper path and replica name.
    assert "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', n)" in local
    assert distributed.endswith(f"Distributed({CLUSTER}, currentDatabase(), by_team_local, cityHash64(TraceId))")
    assert view.endswith("FROM otel_traces_local GROUP BY TraceId, Team")


@pytest.mark.parametrize(
    ("statement", "problem"),
    [
        ("CREATE TABLE IF NOT EXISTS scratch (TraceId String) ENGINE = Memory", "only MergeTree-family"),
        ("CREATE TABLE IF NOT EXISTS runs (RunId String) ENGINE = MergeTree ORDER BY RunId", "no TraceId column"),
        ("DROP TABLE IF EXISTS otel_traces", "no cluster form for the statement"),
        ("CREATE TABLE spans (TraceId String) ENGINE = MergeTree ORDER BY TraceId", "no cluster form"),
        ("ALTER TABLE elsewhere ADD COLUMN x UInt8", "which no migration creates"),
    ],
)
def test_a_statement_without_a_cluster_form_fails_loudly(statement: str, problem: str):
    with pytest.raises(ClusterLayoutError, match=problem):
        Layout(CLUSTER).migrations((*MIGRATIONS, ("0099_new", (statement,))))
    # The single-node layout takes it as written.
    assert SINGLE_NODE.migrations((("0099_new", (statement,)),)) == (("0099_new", (statement,)),)


def test_a_cluster_needs_a_server_store_and_a_valid_name(tmp_path: Path):
    with pytest.raises(StoreError, match=r"^--cluster c needs a ClickHouse server store \(http\(s\)://"):
        Store.open(f"chdb://{tmp_path}", cluster="c")
    assert not any(tmp_path.iterdir())  # refused before anything was created
    with pytest.raises(StoreError, match="cluster name 'a-b' is not valid"):
        Store.open("http://127.0.0.1:1/db", cluster="a-b")


def test_a_migration_that_fails_is_one_line_and_the_next_start_finishes_it(tmp_path: Path):
    import clickhouse_connect

    # A table in the way of migration 0005 (its backfill cannot insert into it).
    raw = clickhouse_connect.get_client(dsn=f"chdb://{tmp_path}")
    raw.command("CREATE TABLE tracereel_task_rollup (x UInt8) ENGINE = MergeTree ORDER BY x")
    raw.close()
    with pytest.raises(StoreError) as caught:
        Store.open(f"chdb://{tmp_path}")
    message = str(caught.value)
    assert message.startswith(f"cannot migrate the store chdb://{tmp_path}: ") and "\n" not in message
    raw = clickhouse_connect.get_client(dsn=f"chdb://{tmp_path}")
    raw.command("DROP TABLE tracereel_task_rollup")
    raw.close()
    store = Store.open(f"chdb://{tmp_path}")
    try:
        assert store.applied_migrations() == [name for name, _ in MIGRATIONS]
    finally:
        store.close()


def _invoke(*args: str, env: dict[str, Any] | None = None) -> Any:
    return CliRunner(env=env).invoke(main, list(args))


def test_serve_with_a_cluster_and_an_embedded_store_is_one_line(tmp_path: Path):
    result = _invoke("serve", "--cluster", "prod", "--store", f"chdb://{tmp_path}")
    assert result.exit_code == 2  # cannot run
    assert result.output.strip().splitlines() == [
        f"Error: --cluster prod needs a ClickHouse server store (http(s)://host:8123/db), not 'chdb://{tmp_path}': "
        "an embedded chDB store is one node"
    ]
    bad = _invoke("schema", env={"TRACEREEL_CLUSTER": "a b"})
    assert bad.exit_code == 2 and bad.output.startswith("Error: --cluster / TRACEREEL_CLUSTER: ")


def test_the_schema_command_prints_the_layout_in_order():
    result = _invoke("schema", "--cluster", CLUSTER, "--retention-days", "7")
    assert result.exit_code == 0, result.output
    printed = result.output
    expected = [f"{s};" for s in _statements_with_days(Layout(CLUSTER), 7)]
    # Each statement after the one before it (a statement may recur: a view dropped and made again).
    at = 0
    for statement in expected:
        at = printed.index(statement, at) + len(statement)
    assert f"INSERT INTO {MIGRATIONS_TABLE} (name) VALUES ('{MIGRATIONS[-1][0]}');" in printed
    from_env = _invoke("schema", env={"TRACEREEL_CLUSTER": CLUSTER})
    assert from_env.output.count(f"ON CLUSTER {CLUSTER}") > 0 and "MODIFY TTL" not in from_env.output


def _statements_with_days(layout: Layout, days: int) -> list[str]:
    return [s for _, statements in schema_script(layout, retention_days=days) for s in statements]


def test_the_single_node_script_applied_by_hand_is_the_store_a_collector_opens(tmp_path: Path):
    import clickhouse_connect

    raw = clickhouse_connect.get_client(dsn=f"chdb://{tmp_path}")
    for statement in _statements_with_days(SINGLE_NODE, 30):
        raw.command(statement)
    raw.close()
    store = Store.open(f"chdb://{tmp_path}", retention_days=30)
    try:
        assert store.migrate() == []  # the script recorded every migration
        assert store.applied_migrations() == [name for name, _ in MIGRATIONS]
        views = {row[0] for row in store.query("SELECT name FROM system.tables WHERE engine = 'MaterializedView'")}
        assert {"otel_traces_trace_id_ts_mv", "tracereel_task_rollup_mv", "tracereel_call_rollup_mv"} <= views
    finally:
        store.close()
