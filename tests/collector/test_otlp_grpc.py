"""OTLP/gRPC on a real grpc.aio server: the stock OpenTelemetry gRPC exporter in, a real chDB store out."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.grpc.exporter import Compression
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.collector.otlp_payloads import protobuf_request
from tests.support import wait_until
from tracereel.collector.api.otlp_grpc import SERVICE, OTLPGrpcServer
from tracereel.collector.control import KeyRing
from tracereel.collector.ingest import ParsePool
from tracereel.collector.ingest.accept import IngestPath
from tracereel.collector.ingest.dedup import RecentSpans
from tracereel.collector.ingest.drain import Drainer
from tracereel.collector.ingest.wal import WriteAheadLog
from tracereel.collector.store import TRACES_TABLE

EXPORT = f"/{SERVICE}/Export"


@dataclass
class Served:
    port: int
    log: WriteAheadLog
    drainer: Drainer

    keys: KeyRing

    def call(self, body: bytes, key: str | None = None) -> Any:
        metadata = (("authorization", f"Bearer {key}"),) if key else None
        with grpc.insecure_channel(f"127.0.0.1:{self.port}") as channel:
            return channel.unary_unary(EXPORT).with_call(body, timeout=30, metadata=metadata)


@pytest.fixture
def grpc_collector(store, tmp_path) -> Iterator[Any]:
    """Start OTLP/gRPC servers over ``store`` on their own event loop; each is stopped afterwards."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    started: list[tuple[OTLPGrpcServer, Drainer]] = []

    def start(*, max_log_bytes: int = 1 << 30, max_message_bytes: int = 1 << 20, drain: bool = True) -> Served:
        log = WriteAheadLog(tmp_path / f"wal{len(started)}", max_bytes=max_log_bytes).open()
        ingest = IngestPath(ParsePool(0), log, RecentSpans(10_000), max_body_bytes=max_message_bytes)
        keys = KeyRing(store)
        server = OTLPGrpcServer(ingest, keys, host="127.0.0.1", port=0, max_message_bytes=max_message_bytes)
        port = asyncio.run_coroutine_threadsafe(server.start(), loop).result(30)
        drainer = Drainer(log, store, interval=0.05)
        if drain:
            drainer.start()
        started.append((server, drainer))
        return Served(port, log, drainer, keys)

    yield start
    for server, drainer in started:
        asyncio.run_coroutine_threadsafe(server.stop(0), loop).result(30)
        drainer.stop()
    loop.call_soon_threadsafe(loop.stop)
    thread.join(30)


def _stored(store) -> int:
    return store.query(f"SELECT count() FROM {TRACES_TABLE}")[0][0]


def test_the_stock_grpc_exporter_with_gzip_stores_its_spans(grpc_collector, store):
    served = grpc_collector()
    exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{served.port}", insecure=True, compression=Compression.Gzip)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("grpc-test")
    with tracer.start_as_current_span("invoke_agent triage"):
        with tracer.start_as_current_span("execute_tool lookup"):
            pass
    provider.shutdown()
    wait_until(lambda: _stored(store) == 2, "both spans stored", timeout=60)
    names = {row[0] for row in store.query(f"SELECT SpanName FROM {TRACES_TABLE}")}
    assert names == {"invoke_agent triage", "execute_tool lookup"}


def test_bad_data_is_invalid_argument_naming_the_problem(grpc_collector, store):
    served = grpc_collector()
    with pytest.raises(grpc.RpcError) as caught:
        served.call(b"\x0a\x05not a resource span")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "protobuf" in caught.value.details().lower()
    assert served.log.undrained_records == 0 and served.drainer.stored_spans == 0


def test_a_message_over_the_limit_is_resource_exhausted_without_retry_info(grpc_collector):
    served = grpc_collector(max_message_bytes=1000)
    body = protobuf_request([{"span_id": f"{i + 1:016x}", "name": "x" * 100} for i in range(20)])
    with pytest.raises(grpc.RpcError) as caught:
        served.call(body)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in caught.value.details()
    assert not any(key == "grpc-status-details-bin" for key, _ in caught.value.trailing_metadata() or ())


def test_a_full_collector_is_unavailable_with_retry_info(grpc_collector):
    served = grpc_collector(max_log_bytes=100, drain=False)
    served.call(protobuf_request([{"span_id": "01" * 8}]))  # an empty log takes one record of any size
    with pytest.raises(grpc.RpcError) as caught:
        served.call(protobuf_request([{"span_id": "02" * 8}]))
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "full" in caught.value.details()
    details = dict(caught.value.trailing_metadata())["grpc-status-details-bin"]
    status = status_pb2.Status.FromString(details)
    info = error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(info) and info.retry_delay.seconds == 1


def test_a_retried_request_is_stored_once(grpc_collector, store):
    served = grpc_collector()
    body = protobuf_request([{"span_id": "0a" * 8}, {"span_id": "0b" * 8}])
    for _ in range(3):
        served.call(body)
    wait_until(lambda: served.log.undrained_records == 0 and _stored(store) >= 2, "the spans stored", timeout=60)
    assert _stored(store) == 2


def test_with_keys_a_call_needs_an_ingest_key_and_its_spans_take_the_keys_team(grpc_collector, store):
    served = grpc_collector()
    _, ingest_key = served.keys.create(team="red", role="ingest", created_by="test")
    _, read_key = served.keys.create(team="red", role="read", created_by="test")
    body = protobuf_request([{"span_id": "0d" * 8, "attributes": {"team": "blue", "Team": "blue"}}])
    for key, code in ((None, grpc.StatusCode.UNAUTHENTICATED), ("tr_wrong", grpc.StatusCode.UNAUTHENTICATED),
                      (read_key, grpc.StatusCode.PERMISSION_DENIED)):  # fmt: skip
        with pytest.raises(grpc.RpcError) as caught:
            served.call(body, key)
        assert caught.value.code() == code
    assert served.log.appended_records == 0
    served.call(body, ingest_key)
    wait_until(lambda: _stored(store) == 1, "the span stored", timeout=60)
    assert store.query(f"SELECT Team FROM {TRACES_TABLE}") == [("red",)]
