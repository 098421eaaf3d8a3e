"""The names of the store's tables, each spelled once; the SQL everywhere else interpolates these.

``otel_traces`` and ``otel_traces_trace_id_ts`` are the OpenTelemetry Collector ClickHouse
exporter's names, so a table a stock collector wrote is read (and migrated) as it is.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ACTIVITY_TABLE",
    "AUDIT_TABLE",
    "CALLS_TABLE",
    "CHANGES_TABLE",
    "EVAL_RUNS_TABLE",
    "FAILURE_CLUSTERS_TABLE",
    "HOURS_TABLE",
    "KEYS_TABLE",
    "MIGRATIONS_TABLE",
    "MONITORS_TABLE",
    "MONITOR_HISTORY_TABLE",
    "MONITOR_STATE_TABLE",
    "ONLINE_RULES_TABLE",
    "REVIEWS_TABLE",
    "REVIEW_QUEUES_TABLE",
    "ROLLUP_TABLE",
    "SCORES_FINAL",
    "SCORES_TABLE",
    "SEAL_CHECKS_TABLE",
    "SEARCH_NGRAM",
    "SEARCH_TABLE",
    "SWITCHES_TABLE",
    "TASK_LIST_TABLE",
    "TRACES_TABLE",
    "TRACE_ID_PROJECTION",
    "TRACE_ID_TS_TABLE",
    "TRACE_STATS_TABLE",
]

TRACES_TABLE: Final = "otel_traces"
TRACE_ID_TS_TABLE: Final = "otel_traces_trace_id_ts"
# otel_traces's projection ordered by trace id (migration 0023): what a read of one trace's spans reads.
TRACE_ID_PROJECTION: Final = "by_trace_id"
ROLLUP_TABLE: Final = "tracereel_task_rollup"
CALLS_TABLE: Final = "tracereel_call_rollup"
MIGRATIONS_TABLE: Final = "tracereel_migrations"
EVAL_RUNS_TABLE: Final = "tracereel_eval_runs"
KEYS_TABLE: Final = "tracereel_keys"
AUDIT_TABLE: Final = "tracereel_audit"
# Kill switches (DESIGN.md "Control"): every flip is a row; the latest row per switch is its state.
SWITCHES_TABLE: Final = "tracereel_switches"
MONITORS_TABLE: Final = "tracereel_monitors"
MONITOR_STATE_TABLE: Final = "tracereel_monitor_state"
MONITOR_HISTORY_TABLE: Final = "tracereel_monitor_history"
# Every judgement of a trace (DESIGN.md "Production loop"): the SDK's (copied from its spans by a
# view), feedback, online rules, reviews and the API. A score's id is its key: the latest row per id wins.
SCORES_TABLE: Final = "tracereel_scores"
# The scores as they stand: one row per id, the latest (ReplacingMergeTree, merged at read time).
SCORES_FINAL: Final = f"{SCORES_TABLE} FINAL"
# Online rules (tracereel online): which scorers the evaluator runs on which sample of traces.
ONLINE_RULES_TABLE: Final = "tracereel_online_rules"
# Review queues (DESIGN.md "Production loop"): a queue's definition (latest row per name wins), and each
# verdict given in one (latest row per queue and trace wins), with the expected value dataset add-reviewed reads.
REVIEW_QUEUES_TABLE: Final = "tracereel_review_queues"
REVIEWS_TABLE: Final = "tracereel_reviews"
# Failure clusters (DESIGN.md "Production loop"): one row per cluster, the latest per id wins. A cluster's
# signature and centroid terms are kept so that a new failure joins the cluster its kind joined before.
FAILURE_CLUSTERS_TABLE: Final = "tracereel_failure_clusters"
# Sealed hours (collector/store/hours.py): each hour's metric states per team, service, agent and version,
# and the per-hour count of changes that says whether a seal is still current.
HOURS_TABLE: Final = "tracereel_task_hours"
ACTIVITY_TABLE: Final = "tracereel_activity"
# What changed lately (migration 0026): one row per rollup row and score written and per trace deleted, kept a
# day, so a seal whose hour saw activity can be checked trace by trace; and the checks that found it current.
CHANGES_TABLE: Final = "tracereel_changes"
SEAL_CHECKS_TABLE: Final = "tracereel_seal_checks"
# Full-text search (issue 24): one row per span with payload text, lower-cased, under an n-gram text index.
SEARCH_TABLE: Final = "tracereel_search"
# The length of the n-grams its text index holds: what the index narrows by (migration 0021 and
# collector/query/search.py read it here). A word shorter than this is found by scanning.
SEARCH_NGRAM: Final = 3
# The trace list (collector/store/task_list.py): one narrow row per root span and task-start marker, by start time.
TASK_LIST_TABLE: Final = "tracereel_task_list"
# Each trace's counts for the list (collector/store/task_list.py): spans, errors, steps, tokens, cost inputs.
TRACE_STATS_TABLE: Final = "tracereel_trace_stats"
