"""Where the store's tables live: one node (chDB or a ClickHouse server), or a ClickHouse cluster.

The migrations (migrations.py) are written once, for one node. A cluster layout is a
*transformation* of those statements, so a migration added later gets its cluster form with no
edit here, and a statement of a kind the transformation does not know fails loudly (a test runs
every migration through it) instead of creating a table on one node only.

On a cluster named ``NAME`` (``--cluster NAME``), for every table ``t`` a migration creates:

- ``t_local``, the data, a ``Replicated*MergeTree`` at ``/clickhouse/tables/{shard}/{database}/{table}``
  with replica ``{replica}`` (the ``shard`` and ``replica`` macros of each server's config), on
  every node (``ON CLUSTER NAME``);
- ``t`` itself, a ``Distributed(NAME, currentDatabase(), t_local, <sharding key>)`` table with the
  same columns: every query reads it and every INSERT goes to it, so nothing outside the store
  knows which layout it runs on.

Tables with a ``TraceId`` are sharded by ``cityHash64(TraceId)``: all spans of a trace, its
trace-id lookup row and its rollup rows sit on one shard. That is what makes the materialized
views right on a cluster. The views are created ``ON CLUSTER`` over the *local* tables and write
into the *local* rollups: the Distributed table splits each INSERT by shard, and each shard's view
folds the spans it receives (on the replica that receives them; the replicated rollup copies the
result to the other replica). Because a trace never straddles shards, each rollup row describes
a trace whose other rows are on the same shard, so background merges collapse a trace's rows
into one there, a lookup is answered by one shard, and a deleted trace is gone from one shard.
A view on the Distributed table instead would fire only on the node that took the INSERT, and
would see the spans of one INSERT, not of a shard.

Every DDL statement is ``ON CLUSTER NAME`` and ``IF NOT EXISTS``: ClickHouse runs it on every
node through the distributed DDL queue in Keeper, and a second collector running the same
statement (two collectors starting at once) finds the table there and does nothing. ALTERs run on
the local tables; a column change runs on the Distributed table too, so reads see the column.
Backfill ``INSERT ... SELECT`` statements stay as they are: they read and write the Distributed
tables, which route each trace's rows to its shard.

The record of applied migrations (``tracereel_migrations``) is one replicated table on every
node of the cluster (one Keeper path, replica ``{shard}-{replica}``), not sharded: whichever node a
collector talks to, it sees every migration any collector has applied. Other small tables that
every collector must see whole (control data) can join it in ``UNSHARDED_TABLES``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from tracereel.collector.store.migrations import MIGRATIONS, MIGRATIONS_TABLE_DDL, Migration
from tracereel.collector.store.retention import TTL_COLUMNS, ttl_expression
from tracereel.collector.store.tables import (
    ACTIVITY_TABLE,
    AUDIT_TABLE,
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
    SEAL_CHECKS_TABLE,
    SWITCHES_TABLE,
)

__all__ = [
    "LOCAL_SUFFIX",
    "REPLICATED_PATH",
    "SHARDING_KEYS",
    "SINGLE_NODE",
    "TRACE_SHARDING_KEY",
    "UNSHARDED_PATH",
    "UNSHARDED_TABLES",
    "ClusterLayoutError",
    "Layout",
    "schema_script",
]

LOCAL_SUFFIX: Final = "_local"
# Macros every server of the cluster defines in its config (<macros>); {database} and {table} are
# filled in by ClickHouse itself when the table is created.
REPLICATED_PATH: Final = "/clickhouse/tables/{shard}/{database}/{table}"
REPLICA_NAME: Final = "{replica}"
# An unsharded table is one table replicated on every node, whatever its shard: one Keeper path
# for all, and a replica name unique across the cluster even when {replica} is only unique per shard.
UNSHARDED_PATH: Final = "/clickhouse/tables/all/{database}/{table}"
UNSHARDED_REPLICA: Final = "{shard}-{replica}"

TRACE_SHARDING_KEY: Final = "cityHash64(TraceId)"
# Tables without a TraceId column, and how to spread their rows. A table with neither makes the
# cluster layout fail (and its test), so a new table gets a considered sharding key.
SHARDING_KEYS: Final[dict[str, str]] = {
    # One row per eval run; nothing joins it to spans, so spreading runs evenly is all that matters.
    EVAL_RUNS_TABLE: "cityHash64(RunId)",
    # A monitor's history on one shard; it expires with the data (a TTL), unlike the monitor itself.
    MONITOR_HISTORY_TABLE: "cityHash64(MonitorId)",
    # Sealed hours are read whole through the Distributed table; one (team, hour) seal on one shard.
    HOURS_TABLE: "cityHash64(Team, Hour)",
    # Each shard's views count its own activity; readers sum the shards.
    ACTIVITY_TABLE: "cityHash64(Hour)",
    # A seal's checks go with the seal.
    SEAL_CHECKS_TABLE: "cityHash64(Team, Hour)",
}
# Small tables every collector must see whole, from any node: replicated on every node rather
# than sharded, with no Distributed table in front (the record of migrations; control data such
# as keys or teams belongs here too).
UNSHARDED_TABLES: Final = frozenset(
    {
        MIGRATIONS_TABLE,
        KEYS_TABLE,
        AUDIT_TABLE,
        SWITCHES_TABLE,
        MONITORS_TABLE,
        MONITOR_STATE_TABLE,
        ONLINE_RULES_TABLE,
        REVIEW_QUEUES_TABLE,
        # Few rows, and every collector must assign a new failure to the same cluster.
        FAILURE_CLUSTERS_TABLE,
    }
)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CREATE_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (?P<name>\w+)\s*\(")
_CREATE_VIEW = re.compile(r"CREATE MATERIALIZED VIEW IF NOT EXISTS (?P<name>\w+)\s+TO (?P<target>\w+)\s")
_ALTER = re.compile(r"ALTER TABLE (?P<name>\w+) (?P<clause>.+)", re.DOTALL)
_INSERT = re.compile(r"INSERT INTO \w+\s")
_DROP_VIEW = re.compile(r"DROP VIEW IF EXISTS (?P<name>\w+)$")
# Where one clause of a multi-clause ALTER ends and the next begins.
_NEXT_CLAUSE = re.compile(r",\s*(?=(?:ADD|DROP|MODIFY|RENAME|COMMENT|CLEAR|MATERIALIZE)\s)")
# The engine clause of the MergeTree family, with its arguments if any: ``AggregatingMergeTree()``.
_ENGINE = re.compile(r"ENGINE = (?P<family>\w*)MergeTree\b(?:\((?P<args>[^()]*)\))?")
# ALTER clauses that change a table's columns: the Distributed table must change with the local one.
_COLUMN_CHANGE = re.compile(r"(ADD|DROP|MODIFY|RENAME|COMMENT) COLUMN\b")
_TRACE_ID_COLUMN = re.compile(r"(?:^|[(,])\s*TraceId\s", re.MULTILINE)


class ClusterLayoutError(ValueError):
    """A statement or table the cluster layout has no form for; the message names it."""


@dataclass(frozen=True)
class Layout:
    """The layout of the store's tables: ``cluster=None`` is one node, else a ClickHouse cluster's name.

    The single-node layout returns every statement as it is, so it is exactly the schema of a
    store opened without ``--cluster``.
    """

    cluster: str | None = None

    def __post_init__(self) -> None:
        if self.cluster is not None and not _NAME.fullmatch(self.cluster):
            raise ClusterLayoutError(
                f"cluster name {self.cluster!r} is not valid: expected letters, digits and underscores "
                "(the name in the servers' <remote_servers>)"
            )

    @property
    def on_cluster(self) -> str:
        """`` ON CLUSTER NAME`` for a DDL statement on a cluster; empty on one node."""
        return f" ON CLUSTER {self.cluster}" if self.cluster else ""

    @property
    def session_settings(self) -> dict[str, int | str]:
        """ClickHouse settings for every query of the store's session in this layout (none on one node)."""
        if self.cluster is None:
            return {}
        return {
            # An INSERT into a Distributed table returns, by default, once the rows are queued on
            # the disk of the server that took it, to be sent to their shards later: a crash of
            # that server loses spans already acknowledged, and they are not queryable yet.
            # Synchronous: the INSERT returns once each shard has written its rows on a replica
            # (which replicates them), so "inserted" means stored. Called
            # distributed_foreground_insert since ClickHouse 23.10; the old name is an alias.
            "insert_distributed_sync": 1,
            # The metrics filter traces with IN subqueries and JOINs on TraceId over other
            # Distributed tables, which ClickHouse refuses by default (distributed_product_mode =
            # 'deny': each shard would query every shard again). 'local' runs each such subquery
            # on the shard's own local tables, which is exact here because every table is sharded
            # by TraceId: the rows a subquery on one shard could match are all on that shard.
            "distributed_product_mode": "local",
            # A read of one trace (TraceId = ...) asks only the shard that holds it.
            "optimize_skip_unused_shards": 1,
        }

    def data_table(self, table: str) -> str:
        """The table holding ``table``'s rows, where its TTL and mutations apply: ``t_local`` on a cluster."""
        if self.cluster is None or table in UNSHARDED_TABLES:
            return table
        return table + LOCAL_SUFFIX

    def logical_table(self, data_table: str) -> str:
        """The name queries use for the data table ``data_table`` (the inverse of :meth:`data_table`)."""
        if self.cluster is None:
            return data_table
        return data_table.removesuffix(LOCAL_SUFFIX)

    def alter(self, table: str, clause: str) -> str:
        """``ALTER TABLE`` on the rows of ``table`` (a TTL, a mutation); on a cluster, its local tables, every node."""
        return f"ALTER TABLE {self.data_table(table)}{self.on_cluster} {clause}"

    def bookkeeping(self) -> str:
        """The CREATE of the table recording applied migrations."""
        if self.cluster is None:
            return MIGRATIONS_TABLE_DDL
        return self._create_table(MIGRATIONS_TABLE_DDL, set())[0]

    def migrations(self, migrations: Sequence[Migration]) -> tuple[Migration, ...]:
        """``migrations`` in this layout, same names and order; ClusterLayoutError on a statement it cannot place."""
        if self.cluster is None:
            return tuple(migrations)
        # Tables from earlier migrations are known to later ones (an ALTER in 0003 of a table from 0001).
        tables: set[str] = set()
        return tuple((name, tuple(self._statements(statements, tables))) for name, statements in migrations)

    def _statements(self, statements: Sequence[str], tables: set[str]) -> list[str]:
        out: list[str] = []
        for statement in statements:
            if _CREATE_TABLE.match(statement):
                out.extend(self._create_table(statement, tables))
            elif _CREATE_VIEW.match(statement):
                out.append(self._create_view(statement, tables))
            elif match := _ALTER.match(statement):
                out.extend(self._alter(match["name"], match["clause"], tables))
            elif _INSERT.match(statement):
                # A backfill: it reads and writes the Distributed tables, which route rows by shard.
                out.append(statement)
            elif match := _DROP_VIEW.match(statement):
                # Views live beside the local tables on every node (see _create_view).
                out.append(f"DROP VIEW IF EXISTS {match['name']}{self.on_cluster}")
            else:
                raise ClusterLayoutError(f"no cluster form for the statement: {statement[:80]!r}")
        return out

    def _create_table(self, statement: str, tables: set[str]) -> list[str]:
        header = _CREATE_TABLE.match(statement)
        assert header is not None  # checked by the caller
        name = header["name"]
        everywhere = name in UNSHARDED_TABLES
        engine = _ENGINE.search(statement)
        if engine is None:
            raise ClusterLayoutError(f"table {name}: only MergeTree-family tables have a cluster form")
        path, replica = (UNSHARDED_PATH, UNSHARDED_REPLICA) if everywhere else (REPLICATED_PATH, REPLICA_NAME)
        args = ", ".join(a for a in (f"'{path}'", f"'{replica}'", (engine["args"] or "").strip()) if a)
        local = self.data_table(name)
        create_local = (
            f"CREATE TABLE IF NOT EXISTS {local}{self.on_cluster} ("
            + statement[header.end() : engine.start()]
            + f"ENGINE = Replicated{engine['family']}MergeTree({args})"
            + statement[engine.end() :]
        )
        tables.add(name)
        if everywhere:
            return [create_local]
        distributed = (
            f"CREATE TABLE IF NOT EXISTS {name}{self.on_cluster} AS {local}\n"
            f"ENGINE = Distributed({self.cluster}, currentDatabase(), {local}, {self._sharding_key(name, statement)})"
        )
        return [create_local, distributed]

    def _sharding_key(self, name: str, statement: str) -> str:
        if name in SHARDING_KEYS:
            return SHARDING_KEYS[name]
        if _TRACE_ID_COLUMN.search(statement):
            return TRACE_SHARDING_KEY
        raise ClusterLayoutError(
            f"table {name} has no TraceId column: give it a sharding key in SHARDING_KEYS, "
            "or replicate it on every node (UNSHARDED_TABLES)"
        )

    def _create_view(self, statement: str, tables: set[str]) -> str:
        match = _CREATE_VIEW.match(statement)
        assert match is not None  # checked by the caller
        target = match["target"]
        if target not in tables:
            raise ClusterLayoutError(f"view {match['name']} writes to {target}, which no migration creates")
        head = f"CREATE MATERIALIZED VIEW IF NOT EXISTS {match['name']}{self.on_cluster} TO {self.data_table(target)} "
        # The view reads the local tables: each shard folds the spans it stores (see the module docstring).
        query = statement[match.end() :]
        for table in sorted(tables, key=len, reverse=True):
            query = re.sub(rf"\b{table}\b", self.data_table(table), query)
        return head + query

    def _alter(self, table: str, clause: str, tables: set[str]) -> list[str]:
        if table not in tables:
            raise ClusterLayoutError(f"ALTER of {table}, which no migration creates")
        local = self.alter(table, clause)
        # The Distributed table follows the column changes only (no ORDER BY, TTL or settings).
        columns = [part for part in _NEXT_CLAUSE.split(clause) if _COLUMN_CHANGE.match(part)]
        if table in UNSHARDED_TABLES or not columns:
            return [local]
        return [local, f"ALTER TABLE {table}{self.on_cluster} {', '.join(columns)}"]


SINGLE_NODE: Final = Layout()


def schema_script(layout: Layout, retention_days: int | None = None) -> list[tuple[str, list[str]]]:
    """Every statement that makes an empty database the store ``Store.open`` would make, in order.

    Sections of (title, statements): the bookkeeping table; each migration followed by the INSERT
    that records it (so a collector started later finds it applied); the TTLs of ``retention_days``.
    """
    script = [("bookkeeping", [layout.bookkeeping()])]
    for name, statements in layout.migrations(MIGRATIONS):
        script.append((name, [*statements, f"INSERT INTO {MIGRATIONS_TABLE} (name) VALUES ('{name}')"]))
    if retention_days is not None:
        ttls = [layout.alter(table, f"MODIFY TTL {ttl_expression(table, retention_days)}") for table in TTL_COLUMNS]
        script.append((f"retention: {retention_days} days", ttls))
    return script
