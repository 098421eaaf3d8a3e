"""Flattening OTLP into insert columns: every attribute kind, shared resources, duplicate keys."""

from __future__ import annotations

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.collector.otlp_payloads import T0, TRACE, kv
from tracereel.collector.control.redaction import load_redactor
from tracereel.collector.ingest.dedup import span_keys
from tracereel.collector.ingest.parsing import parse_body
from tracereel.constants import PROTOBUF


def _span(span_id: str, attributes: list[KeyValue]) -> Span:
    return Span(
        trace_id=bytes.fromhex(TRACE),
        span_id=bytes.fromhex(span_id),
        name="work",
        start_time_unix_nano=T0,
        end_time_unix_nano=T0 + 1,
        attributes=attributes,
    )


def _request() -> bytes:
    request = ExportTraceServiceRequest()
    for service, span_ids in (("alpha", ("aa00000000000001", "aa00000000000002")), ("beta", ("bb00000000000001",))):
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend([kv("service.name", service), kv("host.name", f"{service}-1")])
        scope = resource_spans.scope_spans.add()
        for span_id in span_ids:
            scope.spans.append(_span(span_id, [kv("id", span_id), kv("contact", f"{span_id}@example.com")]))
    # One span with a value of every kind, an unset value and a key sent twice (the last one counts).
    request.resource_spans[0].scope_spans[0].spans[0].attributes.extend(
        [
            kv("text", "plain"),
            kv("empty", ""),
            kv("count", 3),
            kv("flag", True),
            kv("ratio", 0.25),
            kv("whole", 2.0),
            KeyValue(key="list", value=AnyValue(array_value=ArrayValue(values=[AnyValue(int_value=1)]))),
            KeyValue(key="nested", value=AnyValue(kvlist_value=KeyValueList(values=[kv("a", "b")]))),
            KeyValue(key="unset", value=AnyValue()),
            kv("text", "again"),
        ]
    )
    return request.SerializeToString()


def test_every_attribute_kind_becomes_the_string_a_query_expects_and_resources_stay_per_span():
    table, count, _, keys = parse_body(_request(), "", PROTOBUF, 1 << 20)
    rows = table.to_pylist()
    assert count == len(rows) == 3
    # The worker's keys for the re-send filter are the ones the filter derives from a stored table.
    assert keys == span_keys(table)
    by_id = {row["SpanId"]: row for row in rows}
    first = dict(by_id["aa00000000000001"]["SpanAttributes"])
    assert first == {
        "id": "aa00000000000001",
        "contact": "aa00000000000001@example.com",
        "text": "again",
        "empty": "",
        "count": "3",
        "flag": "true",
        "ratio": "0.25",
        "whole": "2",
        "list": "[1]",
        "nested": '{"a":"b"}',
        "unset": "",
    }
    assert dict(by_id["aa00000000000002"]["SpanAttributes"]) == {
        "id": "aa00000000000002",
        "contact": "aa00000000000002@example.com",
    }
    for span_id, service in (
        ("aa00000000000001", "alpha"),
        ("aa00000000000002", "alpha"),
        ("bb00000000000001", "beta"),
    ):
        row = by_id[span_id]
        assert row["ServiceName"] == service
        assert dict(row["ResourceAttributes"]) == {"service.name": service, "host.name": f"{service}-1"}


def test_redaction_rewrites_flattened_span_attributes_in_place():
    table, _, redactions, _ = parse_body(_request(), "", PROTOBUF, 1 << 20, load_redactor("default"))
    contacts = sorted(dict(row["SpanAttributes"])["contact"] for row in table.to_pylist())
    assert contacts == ["<redacted:email>"] * 3
    assert redactions == {"email": 3}
    ids = sorted(dict(row["SpanAttributes"])["id"] for row in table.to_pylist())
    assert ids == ["aa00000000000001", "aa00000000000002", "bb00000000000001"]
