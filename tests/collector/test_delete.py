"""DELETE /api/v1/traces/{id} and ``tracereel delete``: a trace removed from every table, metrics exact afterwards."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from click.testing import CliRunner
from test_metrics import EXPECTED, WINDOW, _assert_metrics, build_fleet
from test_retention import span_columns

from tests.conftest import RunningCollector, start_collector
from tracereel.cli import main
from tracereel.collector.store import Store, read_audit, trace_tables

KEY = "tr-delete-key-51c9"
UNKNOWN = "f" * 32

# EXPECTED (test_metrics.py) with task B deleted: A, C and D remain.
WITHOUT_B = {
    "tasks": 3,
    "task_success_rate": 2 / 3,  # A, D
    "groundedness_rate": 1.0,  # A's 0.8 is the only score left
    "tool_calls": 3,  # A 2, D 1
    "tool_success_rate": 1 / 3,  # A's retried search
    "tool_timeout_rate": 2 / 3,  # A TimeoutError, D ReadTimeout
    "tool_error_rate": 0.0,  # B's ValueError is gone
    "retry_rate": 2 / 6,  # A 3 calls, C 1, D 2; A's second search and C's attempt 1
    "loop_rate": 0.0,  # B was the loop
    "steps_per_task": 2.0,  # (3 + 1 + 2) / 3
    "steps_per_task_p95": 2.9,  # [1, 2, 3] at 0.95 x 2 = 1.9 -> 2 + 0.9 x 1
    "plan_length": 2.0,  # A 3, C 1
    "p50_latency_ms": 1000.0,  # [500, 1000, 2000]
    "p95_latency_ms": 1900.0,
    "cost_usd": 0.0595,  # B's mystery-model was unpriced
    "cost_coverage": 1.0,  # A, C and D's LLM spans are all priced
    "cost_per_successful_task_usd": 0.02975,
    "safety_violation_rate": 1 / 3,  # D
    "human_escalation_rate": 2 / 3,  # C, D
    "killed_rate": 1 / 3,  # C
    "scores": {"groundedness": {"mean": 0.8, "count": 1}},  # B's scores no longer count
}


def _rows_of(store: Store, trace_id: str) -> dict[str, int]:
    counts = {}
    for table in trace_tables(store):
        counts[table] = int(
            store.query(f"SELECT count() FROM {table} WHERE TraceId = {{id:String}}", {"id": trace_id})[0][0]
        )
    return counts


def test_a_deleted_task_is_gone_everywhere_and_the_metrics_are_as_if_it_never_was(asgi_collector, otel, caplog):
    build_fleet(otel)
    with asgi_collector.client() as http:
        _assert_metrics(http.get("/api/v1/metrics", params=WINDOW).json(), EXPECTED)
        (failed,) = http.get("/api/v1/traces", params={**WINDOW, "status": "error"}).json()["traces"]
        b = failed["trace_id"]
        # A judgement of it, so its scores are seen to go too.
        assert http.post("/api/v1/scores", json={"trace_id": b, "name": "q", "value": 0}).status_code == 201
        before = _rows_of(asgi_collector.store, b)
        assert before["otel_traces"] == 7 and before["tracereel_scores"] > 0 and before["tracereel_search"] > 0
        listed = {t["trace_id"] for t in http.get("/api/v1/traces", params={"limit": 100}).json()["traces"]}

        with caplog.at_level(logging.INFO, logger="tracereel.collector.audit"):
            response = http.delete(f"/api/v1/traces/{b.upper()}")
        assert response.status_code == 200, response.text
        assert response.json() == {"trace_id": b, "deleted_spans": 7}

        _assert_metrics(http.get("/api/v1/metrics", params=WINDOW).json(), WITHOUT_B)
        assert http.get(f"/api/v1/traces/{b}").status_code == 404
        after = {t["trace_id"] for t in http.get("/api/v1/traces", params={"limit": 100}).json()["traces"]}
        assert after == listed - {b}
        # Every table holding trace ids (spans, lookup, both rollups, the task list and counts, scores, review
        # verdicts, search, the recent changes) has nothing of it left.
        assert _rows_of(asgi_collector.store, b) == dict.fromkeys(trace_tables(asgi_collector.store), 0)
        assert set(trace_tables(asgi_collector.store)) == {
            "otel_traces",
            "otel_traces_trace_id_ts",
            "tracereel_call_rollup",
            "tracereel_task_rollup",
            "tracereel_task_list",
            "tracereel_trace_stats",
            "tracereel_scores",
            "tracereel_reviews",
            "tracereel_search",
            "tracereel_changes",
        }
        # Deleted once: a second delete finds nothing.
        assert http.delete(f"/api/v1/traces/{b}").status_code == 404
    (line,) = [r.getMessage() for r in caplog.records if r.name == "tracereel.collector.audit"]
    assert line == f"admin action delete_trace on {b} by (auth off) (7 spans)"
    (entry,) = read_audit(asgi_collector.store)
    assert (entry.action, entry.target, entry.key_id, entry.detail) == ("delete_trace", b, "", "7 spans")


def test_unknown_ids_are_404_and_malformed_ones_400(asgi_collector):
    with asgi_collector.client() as http:
        unknown = http.delete(f"/api/v1/traces/{UNKNOWN}")
        assert unknown.status_code == 404
        assert unknown.json() == {"detail": f"no trace with id {UNKNOWN} in the store"}
        malformed = http.delete("/api/v1/traces/not-a-trace")
        assert malformed.status_code == 400
        assert "not 32 hex digits" in malformed.json()["detail"]


def test_delete_needs_the_key_when_one_is_set(asgi_collector_factory):
    keyed = asgi_collector_factory(api_key=KEY)
    keyed.store.insert_spans(span_columns(UNKNOWN, datetime.now(timezone.utc).replace(tzinfo=None)))
    with keyed.client() as http:
        assert http.delete(f"/api/v1/traces/{UNKNOWN}").status_code == 401
        assert http.delete(f"/api/v1/traces/{UNKNOWN}", headers={"authorization": "Bearer wrong"}).status_code == 401
        assert _rows_of(keyed.store, UNKNOWN)["otel_traces"] == 3
        allowed = http.delete(f"/api/v1/traces/{UNKNOWN}", headers={"authorization": f"Bearer {KEY}"})
        assert allowed.status_code == 200, allowed.text
    assert _rows_of(keyed.store, UNKNOWN)["otel_traces"] == 0


@pytest.fixture
def keyed(store: Any) -> Iterator[RunningCollector]:
    running, _ = start_collector(store, api_key=KEY)
    yield running
    running.stop()


def _cli(*args: str, key: str = KEY) -> Any:
    return CliRunner(env={"TRACEREEL_API_KEY": key}).invoke(main, list(args), catch_exceptions=False)


def test_the_cli_deletes_and_says_in_one_line_why_it_cannot(keyed: RunningCollector):
    tid = "ab" * 16
    keyed.store.insert_spans(span_columns(tid, datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(hours=1)))

    refused = _cli("delete", tid, "--collector", keyed.url, key="tr-not-the-key-0000")
    assert refused.exit_code == 2
    assert len(refused.output.strip().splitlines()) == 1
    assert "refused the request" in refused.output
    assert "tr-not-the-key-0000" not in refused.output

    done = _cli("delete", tid.upper(), "--collector", keyed.url)
    assert done.exit_code == 0, done.output
    assert done.output == f"deleted trace {tid} (3 spans) from {keyed.url}\n"
    assert set(_rows_of(keyed.store, tid).values()) == {0}

    for bad_id, says in ((tid, "not found"), ("not/a-trace", "not 32 hex digits")):
        result = _cli("delete", bad_id, "--collector", keyed.url)
        assert result.exit_code == 2, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert says in result.output
