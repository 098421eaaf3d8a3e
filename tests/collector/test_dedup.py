"""Exact re-sends of a span are dropped within the window; different spans never are."""

from __future__ import annotations

from tests.collector.otlp_payloads import protobuf_request
from tracereel.collector.ingest import parse_body
from tracereel.collector.ingest.dedup import RecentSpans, drop_seen, span_keys
from tracereel.constants import PROTOBUF


def _table(span_ids: list[str], trace: str = "ab" * 16):
    body = protobuf_request([{"trace_id": trace, "span_id": s} for s in span_ids])
    return parse_body(body, "", PROTOBUF, 1 << 20)[0]


def test_a_resent_request_is_dropped_once_remembered():
    recent = RecentSpans(capacity=1000)
    first, keys = drop_seen(recent, _table(["01" * 8, "02" * 8]))
    assert first.num_rows == 2
    again, _ = drop_seen(recent, _table(["01" * 8, "02" * 8]))
    assert again.num_rows == 2  # not remembered yet: the first request was never acknowledged
    recent.remember(keys)
    again, kept = drop_seen(recent, _table(["01" * 8, "02" * 8, "03" * 8]))
    assert again.column("SpanId").to_pylist() == ["03" * 8] and len(kept) == 1
    assert recent.dropped == 2


def test_the_same_span_id_in_another_trace_is_a_different_span():
    recent = RecentSpans(capacity=1000)
    _, keys = drop_seen(recent, _table(["01" * 8], trace="ab" * 16))
    recent.remember(keys)
    other, _ = drop_seen(recent, _table(["01" * 8], trace="cd" * 16))
    assert other.num_rows == 1


def test_a_span_repeated_inside_one_request_is_kept_once():
    recent = RecentSpans(capacity=1000)
    table, keys = drop_seen(recent, _table(["01" * 8, "01" * 8, "02" * 8]))
    assert table.column("SpanId").to_pylist() == ["01" * 8, "02" * 8] and len(keys) == 2


def test_the_window_is_bounded_and_keeps_at_least_half_its_capacity():
    recent = RecentSpans(capacity=100)
    keys = list(range(1, 1001))
    recent.remember(keys)
    assert len(recent) <= 100
    assert recent.fresh(keys[-50:]) == [False] * 50  # the latest half is always remembered
    assert recent.fresh(keys[:10]) == [True] * 10  # the oldest are forgotten


def test_keys_are_exact_ids():
    table = _table(["00" * 7 + "01"], trace="00" * 15 + "02")
    assert span_keys(table) == [(2 << 64) | 1]


def test_a_restarted_collector_takes_a_retry_of_a_span_still_in_its_log_for_a_resend(asgi_collector_factory, tmp_path):
    from tracereel.collector.ingest import WriteAheadLog

    body = protobuf_request([{"span_id": "0c" * 8}])
    headers = {"content-type": PROTOBUF}
    # A store refusing writes keeps the span in the log across the restart.
    first = asgi_collector_factory(wal_dir=str(tmp_path / "wal"))
    first.store.command("DETACH TABLE otel_traces")
    try:
        assert first.http.post("/v1/traces", content=body, headers=headers).status_code == 200
        first.http.__exit__(None, None, None)  # the collector stops; the span stays in its log
        second = asgi_collector_factory(log=WriteAheadLog(tmp_path / "wal", max_bytes=1 << 30))
        assert second.http.post("/v1/traces", content=body, headers=headers).status_code == 200
        assert second.app.state.ingest.recent.dropped == 1
    finally:
        first.store.command("ATTACH TABLE otel_traces")
    second.wait_for_spans(1)
    assert first.store.query("SELECT count() FROM otel_traces")[0][0] == 1
