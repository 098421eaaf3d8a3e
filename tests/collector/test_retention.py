"""Retention against the real engine: a TTL on every table, set at open, changed and removed; expired rows go."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tests.support import wait_until
from tracereel.collector import CollectorSettings, Store
from tracereel.collector.query.hours import seal_hours
from tracereel.collector.store import (
    ACTIVITY_TABLE,
    EVAL_RUNS_TABLE,
    HOURS_TABLE,
    MONITOR_HISTORY_TABLE,
    OWN_TTL_TABLES,
    REVIEWS_TABLE,
    SCORES_TABLE,
    SEAL_CHECKS_TABLE,
    TRACES_TABLE,
    TTL_COLUMNS,
    UNEXPIRED_TABLES,
    apply_retention,
    current_ttl,
    tables,
    trace_tables,
    ttl_expression,
)

OLD = "0" * 31 + "1"
RECENT = "0" * 31 + "2"


def span_columns(trace_id: str, start: datetime, count: int = 3) -> list[list[Any]]:
    """``count`` spans of one trace (a root and its children) as INSERT_COLUMNS columns, starting at ``start``."""
    rows = []
    for i in range(count):
        # The root's input gives the trace a row in the search table too.
        root = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "a", "tracereel.agent.input": '"hi"'}
        attributes = root if i == 0 else {}
        rows.append(
            [
                start + timedelta(milliseconds=i),
                trace_id,
                f"{i + 1:016x}",
                "" if i == 0 else f"{1:016x}",
                "",
                "invoke_agent a" if i == 0 else f"step {i}",
                "Internal",
                "svc",
                {},
                "tests",
                "",
                attributes,
                1_000_000,
                "Ok",
                "",
                [],
                [],
                [],
                [],
                [],
                [],
                [],
                "",  # Team
            ]
        )
    return [list(column) for column in zip(*rows, strict=True)]


def _eval_run(store: Store, run_id: str, started: datetime) -> None:
    store.insert_rows(EVAL_RUNS_TABLE, [[run_id, "golden", started, "{}"]], ["RunId", "Dataset", "StartedAt", "Report"])


def _monitor_history(store: Store, key: str, time: datetime) -> None:
    store.insert_rows(MONITOR_HISTORY_TABLE, [[key, "m", time, "state"]], ["MonitorId", "Name", "Time", "Kind"])


def _score(store: Store, trace_id: str, time: datetime) -> None:
    store.insert_rows(SCORES_TABLE, [[trace_id, "s", 1.0, time]], ["TraceId", "Name", "Value", "Time"])


def _seal_check(store: Store, hour: datetime) -> None:
    store.insert_rows(
        SEAL_CHECKS_TABLE, [["", hour, hour, hour, 1]], ["Team", "Hour", "SealedAt", "CheckedAt", "Signature"]
    )


def _review(store: Store, trace_id: str, time: datetime) -> None:
    store.insert_rows(REVIEWS_TABLE, [[trace_id, "q", "pass", time]], ["TraceId", "Queue", "Verdict", "Time"])


# The rows of the tables not keyed by trace: their own key, named after the trace they stand beside.
_KEYS = {
    EVAL_RUNS_TABLE: "RunId",
    MONITOR_HISTORY_TABLE: "MonitorId",
    # Hours: the old ones are weeks before the recent ones.
    HOURS_TABLE: "if(Hour < now() - INTERVAL 20 DAY, 'old-run', 'recent-run')",
    SEAL_CHECKS_TABLE: "if(Hour < now() - INTERVAL 20 DAY, 'old-run', 'recent-run')",
    ACTIVITY_TABLE: "if(Hour < now() - INTERVAL 20 DAY, 'old-run', 'recent-run')",
}


def _data_tables(store: Store) -> set[str]:
    rows = store.query(
        "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree%'"
    )
    return {row[0] for row in rows}


def test_every_table_is_either_expired_or_named_as_bookkeeping(store: Store):
    # A table added to tables.py or to the schema without a TTL column in TTL_COLUMNS fails here.
    named = {getattr(tables, name) for name in tables.__all__ if name.endswith("_TABLE")}
    assert named == set(TTL_COLUMNS) | UNEXPIRED_TABLES | OWN_TTL_TABLES
    assert _data_tables(store) == set(TTL_COLUMNS) | UNEXPIRED_TABLES | OWN_TTL_TABLES
    assert not set(TTL_COLUMNS) & UNEXPIRED_TABLES
    assert not (set(TTL_COLUMNS) | UNEXPIRED_TABLES) & OWN_TTL_TABLES


def test_the_ttl_is_set_on_every_table_changed_and_removed(store: Store):
    assert apply_retention(store, None) == []  # a fresh store has no TTL to remove
    assert sorted(apply_retention(store, 30)) == sorted(TTL_COLUMNS)
    for table in _data_tables(store) - UNEXPIRED_TABLES - OWN_TTL_TABLES:
        create = store.query(f"SHOW CREATE TABLE {table}")[0][0]
        assert f"TTL {ttl_expression(table, 30)}" in create, create
        assert current_ttl(store, table) == f"toDateTime({TTL_COLUMNS[table]}) + toIntervalDay(30)"
    for table in UNEXPIRED_TABLES:
        assert current_ttl(store, table) is None
    assert apply_retention(store, 30) == []  # idempotent: nothing re-applied

    assert sorted(apply_retention(store, 7)) == sorted(TTL_COLUMNS)
    assert {current_ttl(store, table) for table in TTL_COLUMNS} == {ttl_expression(table, 7) for table in TTL_COLUMNS}

    assert sorted(apply_retention(store, None)) == sorted(TTL_COLUMNS)
    assert all(current_ttl(store, table) is None for table in TTL_COLUMNS)
    # The recent changes keep their own day whatever the retention.
    assert all(current_ttl(store, table) is not None for table in OWN_TTL_TABLES)
    with pytest.raises(ValueError, match="at least 1 day"):
        apply_retention(store, 0)


def _counts(store: Store, table: str) -> dict[str, int]:
    key = _KEYS.get(table, "TraceId")
    rows = store.query(f"SELECT {key}, count() FROM {table} GROUP BY {key}")
    return {str(key): int(n) for key, n in rows}


def test_rows_older_than_the_retention_go_from_every_table_and_recent_ones_stay(store: Store):
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    store.insert_spans(span_columns(OLD, now - timedelta(days=40)))
    store.insert_spans(span_columns(RECENT, now - timedelta(hours=1)))
    _eval_run(store, "old-run", now - timedelta(days=40))
    _eval_run(store, "recent-run", now - timedelta(hours=1))
    _monitor_history(store, "old-run", now - timedelta(days=40))
    _monitor_history(store, "recent-run", now - timedelta(hours=1))
    _score(store, OLD, now - timedelta(days=40))
    _score(store, RECENT, now - timedelta(hours=1))
    _review(store, OLD, now - timedelta(days=40))
    _review(store, RECENT, now - timedelta(hours=1))
    _seal_check(store, (now - timedelta(days=40)).replace(minute=0, second=0, microsecond=0))
    _seal_check(store, (now - timedelta(hours=1)).replace(minute=0, second=0, microsecond=0))
    # A day later, both hours are old enough to seal.
    seal_hours(store, now=now.replace(tzinfo=timezone.utc) + timedelta(days=1))
    before = {table: _counts(store, table) for table in TTL_COLUMNS}
    assert all(len(counts) == 2 for counts in before.values()), before

    apply_retention(store, 30)

    def expired() -> bool:
        # The merge that applies a TTL runs in the background; FINAL forces it now.
        for table in TTL_COLUMNS:
            store.command(f"OPTIMIZE TABLE {table} FINAL")
        return all(set(_counts(store, table)) == {"recent-run" if table in _KEYS else RECENT} for table in TTL_COLUMNS)

    wait_until(expired, "rows older than 30 days to expire", state=lambda: {t: _counts(store, t) for t in TTL_COLUMNS})
    assert _counts(store, TRACES_TABLE) == {RECENT: 3}
    assert set(trace_tables(store)) == (set(TTL_COLUMNS) - set(_KEYS)) | OWN_TTL_TABLES
    # The record of migrations never expires.
    assert store.migrate() == []


def test_the_store_applies_the_retention_it_is_opened_with(tmp_path: Path):
    url = f"chdb://{tmp_path / 'store'}"
    store = Store.open(url, retention_days=14)
    try:
        assert {current_ttl(store, table) for table in TTL_COLUMNS} == {
            ttl_expression(table, 14) for table in TTL_COLUMNS
        }
    finally:
        store.close()
    # Opened again without retention (the default: keep forever), the TTL is removed.
    store = Store.open(url)
    try:
        assert all(current_ttl(store, table) is None for table in TTL_COLUMNS)
    finally:
        store.close()


def test_the_setting_comes_from_the_environment_and_is_at_least_one_day(monkeypatch: pytest.MonkeyPatch):
    assert CollectorSettings().retention_days is None
    monkeypatch.setenv("TRACEREEL_RETENTION_DAYS", "90")
    assert CollectorSettings().retention_days == 90
    with pytest.raises(ValidationError):
        CollectorSettings(retention_days=0)
