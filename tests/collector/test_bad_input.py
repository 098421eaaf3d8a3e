"""Bad requests get the status an OTLP client expects, a message naming the problem, and change nothing."""

from __future__ import annotations

import gzip
import resource
import zlib

import httpx
import pytest
from google.rpc import status_pb2

from tests.collector.otlp_payloads import CHILD, ROOT, TRACE, json_request, protobuf_request
from tests.conftest import start_collector
from tests.support import wait_until

PB = {"content-type": "application/x-protobuf"}
JSON = {"content-type": "application/json"}


def stored(collector) -> int:
    return collector.store.query("SELECT count() FROM otel_traces")[0][0]


def still_serving(collector) -> None:
    with collector.client() as http:
        assert http.get("/healthz").json()["status"] == "ok"
        good = protobuf_request([{"span_id": ROOT, "trace_id": "ab" * 16}])
        assert http.post("/v1/traces", content=good, headers=PB).status_code == 200


def message(response: httpx.Response) -> str:
    if response.headers["content-type"].startswith("application/x-protobuf"):
        return status_pb2.Status.FromString(response.content).message
    return response.json()["message"]


@pytest.mark.parametrize(
    ("body", "headers", "status", "names"),
    [
        (b"\x0a\xff\xff\xff", PB, 400, "not a valid OTLP protobuf"),
        (b'{"resourceSpans": [', JSON, 400, "not valid JSON"),
        (b'{"resourceSpans": {"a": 1}}', JSON, 400, "resourceSpans must be a list"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": 5}]}]}]}', JSON, 400, "must be a hex string"),
        (b"hello", {"content-type": "text/plain"}, 415, "unsupported Content-Type 'text/plain'"),
        (b"hello", {}, 415, "unsupported Content-Type"),
        (b"x", {**PB, "content-encoding": "br"}, 415, "unsupported Content-Encoding 'br'"),
        (b"not gzip at all", {**PB, "content-encoding": "gzip"}, 400, "not valid gzip"),
        (
            gzip.compress(protobuf_request([{"span_id": ROOT}]))[:-12],
            {**PB, "content-encoding": "gzip"},
            400,
            "truncated gzip",
        ),
    ],
)
def test_malformed_requests(asgi_collector, body, headers, status, names):
    with asgi_collector.client() as http:
        response = http.post("/v1/traces", content=body, headers=headers)
    assert response.status_code == status
    assert names in message(response)
    assert stored(asgi_collector) == 0
    still_serving(asgi_collector)


@pytest.mark.parametrize(
    ("spans", "names"),
    [
        ([{"span_id": ROOT}, {"span_id": CHILD, "trace_id": "00" * 16}], "spans[1]: invalid trace id"),
        ([{"span_id": ROOT, "trace_id": "abcd"}], "spans[0]: invalid trace id 'abcd'"),
        ([{"span_id": "00" * 8}], "invalid span id"),
        ([{"span_id": "0102"}], "invalid span id '0102'"),
        ([{"span_id": ROOT, "parent": "0102"}], "invalid parent span id"),
    ],
)
def test_invalid_ids_reject_the_whole_request(asgi_collector, spans, names):
    with asgi_collector.client() as http:
        response = http.post("/v1/traces", content=protobuf_request(spans), headers=PB)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/x-protobuf"
    assert names in message(response)
    assert stored(asgi_collector) == 0, "a rejected request must store nothing, not even its valid spans"
    still_serving(asgi_collector)


@pytest.mark.parametrize(
    ("field", "value", "names"),
    [
        ("traceId", "zz" * 16, "traceId 'zzzz"),
        ("traceId", "ab" * 8, "must be 32 hex digits"),
        ("spanId", "abc", "spanId 'abc' is not hex"),
    ],
)
def test_invalid_json_ids(asgi_collector, field, value, names):
    span = {"traceId": TRACE, "spanId": ROOT, "name": "x", **{field: value}}
    with asgi_collector.client() as http:
        response = http.post("/v1/traces", content=json_request([span]), headers=JSON)
    assert response.status_code == 400
    assert names in response.json()["message"]
    assert stored(asgi_collector) == 0


def test_too_large_before_and_after_decompression(store):
    running, thread = start_collector(store, max_body_bytes=64 * 1024)
    try:
        big = protobuf_request([{"span_id": f"{i + 1:016x}", "name": "n" * 200} for i in range(1000)])
        assert len(big) > 64 * 1024
        with running.client() as http:
            raw = http.post("/v1/traces", content=big, headers=PB)
            assert raw.status_code == 413
            assert "larger than the limit of 65536 bytes" in message(raw)
            packed = gzip.compress(big)
            assert len(packed) < 64 * 1024
            inflated = http.post("/v1/traces", content=packed, headers={**PB, "content-encoding": "gzip"})
            assert inflated.status_code == 413
            assert "after decompression" in message(inflated)
        assert stored(running) == 0
        still_serving(running)
    finally:
        running.server.should_exit = True
        thread.join(20)


def test_a_gzip_bomb_is_refused_without_inflating_it(collector):
    # 1 GiB of zeros, about 1 MB on the wire (CVE-2024-36129's shape).
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1024 * 1024)
    bomb = b"".join(compressor.compress(chunk) for _ in range(1024)) + compressor.flush()
    assert len(bomb) < 2 * 1024 * 1024
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    with collector.client() as http:
        response = http.post("/v1/traces", content=bomb, headers={**PB, "content-encoding": "gzip"})
    assert response.status_code == 413
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mib < 200, f"peak memory grew by {grown_mib:.0f} MiB while refusing a gzip bomb"
    still_serving(collector)


def test_a_full_log_answers_503_with_retry_after_and_loses_nothing_acknowledged(asgi_collector_factory):
    # A store that refuses writes (its span table detached) keeps spans in the log, which fills.
    running = asgi_collector_factory(wal_max_bytes=4000)
    running.store.command("DETACH TABLE otel_traces")
    try:
        first = protobuf_request([{"span_id": f"{i + 1:016x}"} for i in range(8)])
        second = protobuf_request([{"span_id": f"{i + 100:016x}"} for i in range(30)])
        with running.client() as http:
            assert http.post("/v1/traces", content=first, headers=PB).status_code == 200
            wait_until(lambda: running.app.state.drainer.failed_inserts >= 1, "the store refused an insert")
            assert http.get("/healthz").json()["store_error"]
            refused = http.post("/v1/traces", content=second, headers=PB)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert "collector is full" in message(refused)
    finally:
        running.store.command("ATTACH TABLE otel_traces")
    running.wait_for_spans(8)  # the log drains by itself once the store takes writes again
    with running.client() as http:
        assert http.get("/healthz").json()["store_error"] is None
        assert http.post("/v1/traces", content=second, headers=PB).status_code == 200  # the client's retry
    running.wait_for_spans(38)
    assert stored(running) == 38


def test_api_key_is_required_when_configured(store):
    # Over a socket, as clients meet it; test_auth.py goes through every route in-process.
    running, thread = start_collector(store, api_key="s3cret")
    try:
        body = protobuf_request([{"span_id": ROOT}])
        key = {"authorization": "Bearer s3cret"}
        with running.client() as http:
            denied = http.post("/v1/traces", content=body, headers=PB)
            assert denied.status_code == 401
            assert "API key" in denied.json()["detail"]
            for path in ("/api/v1/traces", "/api/v1/metrics", "/openapi.json", "/nope"):
                assert http.get(path).status_code == 401, path
            assert http.get("/healthz").status_code == 200
            ok = http.post("/v1/traces", content=body, headers={**PB, **key})
            assert ok.status_code == 200
            assert http.get("/openapi.json", headers=key).json()["info"]["title"] == "tracereel collector"
        assert stored(running) == 1
    finally:
        running.server.should_exit = True
        thread.join(20)
