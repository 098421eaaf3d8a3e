"""The store: the ClickHouse client (chDB or a server), the span columns, the schema, its layout, rollups, retention.

The bottom layer of the collector: it imports nothing from ``ingest``, ``query`` or ``api``.
"""

from tracereel.collector.store.clickhouse import Store, StoreError, default_store_url
from tracereel.collector.store.columns import INSERT_COLUMNS, MapColumn, columns_to_arrow
from tracereel.collector.store.keys import AuditRow, KeyRow, insert_audit, insert_key, read_audit, read_keys
from tracereel.collector.store.layout import SINGLE_NODE, ClusterLayoutError, Layout, schema_script
from tracereel.collector.store.migrations import MIGRATIONS, Migration
from tracereel.collector.store.retention import (
    TTL_COLUMNS,
    UNEXPIRED_TABLES,
    apply_retention,
    current_ttl,
    delete_trace,
    trace_tables,
    ttl_expression,
)
from tracereel.collector.store.rollup import (
    ROLLUP_STATEMENTS,
    USAGE_COST_SQL,
    USAGE_PRICED_SQL,
    looped_sql,
    retries_sql,
)
from tracereel.collector.store.tables import (
    AUDIT_TABLE,
    CALLS_TABLE,
    EVAL_RUNS_TABLE,
    FAILURE_CLUSTERS_TABLE,
    KEYS_TABLE,
    MIGRATIONS_TABLE,
    MONITOR_HISTORY_TABLE,
    MONITOR_STATE_TABLE,
    MONITORS_TABLE,
    ONLINE_RULES_TABLE,
    REVIEW_QUEUES_TABLE,
    REVIEWS_TABLE,
    ROLLUP_TABLE,
    SCORES_FINAL,
    SCORES_TABLE,
    SWITCHES_TABLE,
    TASK_LIST_TABLE,
    TRACE_ID_TS_TABLE,
    TRACES_TABLE,
)

__all__ = [
    "AUDIT_TABLE",
    "CALLS_TABLE",
    "EVAL_RUNS_TABLE",
    "FAILURE_CLUSTERS_TABLE",
    "INSERT_COLUMNS",
    "KEYS_TABLE",
    "MIGRATIONS",
    "MIGRATIONS_TABLE",
    "MONITORS_TABLE",
    "MONITOR_HISTORY_TABLE",
    "MONITOR_STATE_TABLE",
    "ONLINE_RULES_TABLE",
    "REVIEWS_TABLE",
    "REVIEW_QUEUES_TABLE",
    "ROLLUP_STATEMENTS",
    "ROLLUP_TABLE",
    "SCORES_FINAL",
    "SCORES_TABLE",
    "SINGLE_NODE",
    "SWITCHES_TABLE",
    "TASK_LIST_TABLE",
    "TRACES_TABLE",
    "TRACE_ID_TS_TABLE",
    "TTL_COLUMNS",
    "UNEXPIRED_TABLES",
    "USAGE_COST_SQL",
    "USAGE_PRICED_SQL",
    "AuditRow",
    "ClusterLayoutError",
    "KeyRow",
    "Layout",
    "MapColumn",
    "Migration",
    "Store",
    "StoreError",
    "apply_retention",
    "columns_to_arrow",
    "current_ttl",
    "default_store_url",
    "delete_trace",
    "insert_audit",
    "insert_key",
    "looped_sql",
    "read_audit",
    "read_keys",
    "retries_sql",
    "schema_script",
    "trace_tables",
    "ttl_expression",
]
