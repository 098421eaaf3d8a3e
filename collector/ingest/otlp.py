"""OTLP/HTTP trace requests: decoding (protobuf and OTLP/JSON) and flattening into columns.

Flattening is where ingest time goes (DESIGN.md), so it builds plain column lists in one
pass, with no per-span objects.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any, cast

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from tracereel.collector.control import Redactor
from tracereel.collector.store import INSERT_COLUMNS, MapColumn

__all__ = ["OTLPError", "SpanBatch", "decode_json", "decode_protobuf", "redact_columns", "to_columns"]

_SPAN_KINDS = ("Unspecified", "Internal", "Server", "Client", "Producer", "Consumer")
_STATUS = ("Unset", "Ok", "Error")
_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)


class OTLPError(ValueError):
    """The request body is not a valid OTLP trace export; the message names the problem."""


class SpanBatch:
    """Spans as columns in ``INSERT_COLUMNS`` order (see ``store.columns_to_arrow``).

    Span attributes are a ``MapColumn``; every other column is a list. ``keys`` holds each span's
    exact ``(TraceId, SpanId)`` as one integer, for the re-send filter (``dedup.span_keys``).
    """

    __slots__ = ("columns", "count", "keys")

    def __init__(self, columns: list[Any], count: int, keys: list[int]) -> None:
        self.columns = columns
        self.count = count
        self.keys = keys


# Positions in INSERT_COLUMNS of what redaction rewrites (checked against the names on import).
_RES, _ATTRS, _STATUS_MSG, _EV_ATTRS, _LINK_ATTRS = (
    INSERT_COLUMNS.index(name)
    for name in ("ResourceAttributes", "SpanAttributes", "StatusMessage", "Events.Attributes", "Links.Attributes")
)


def redact_columns(batch: SpanBatch, redactor: Redactor) -> dict[str, int]:
    """Redact resource, span, event and link attributes and status messages in place; counts per kind."""
    counts: dict[str, int] = {}
    cols = batch.columns
    redact_map = redactor.redact_map
    # Spans of one resource share its dict: redact each distinct resource once.
    seen: dict[int, dict[str, str]] = {}
    resources = cols[_RES]
    for i, resource in enumerate(resources):
        done = seen.get(id(resource))
        if done is None:
            done = seen[id(resource)] = redact_map(resource, counts)
        resources[i] = done
    attrs: MapColumn = cols[_ATTRS]
    redact = redactor.redact
    attrs.values = [redact(value, counts) for value in attrs.values]
    messages = cols[_STATUS_MSG]
    for i, message in enumerate(messages):
        if message:
            messages[i] = redactor.redact(message, counts)
    for column in (cols[_EV_ATTRS], cols[_LINK_ATTRS]):
        for i, per_span in enumerate(column):
            if per_span:
                column[i] = [redact_map(attributes, counts) for attributes in per_span]
    return counts


def decode_protobuf(body: bytes) -> ExportTraceServiceRequest:
    """Parse a binary protobuf ``ExportTraceServiceRequest``."""
    try:
        return ExportTraceServiceRequest.FromString(body)
    except (DecodeError, ValueError) as exc:
        raise OTLPError(f"body is not a valid OTLP protobuf ExportTraceServiceRequest: {exc}") from None


def _json_object(value: object) -> dict[str, object] | None:
    # Only json.loads output comes here, where an object's keys are always strings.
    return cast("dict[str, object]", value) if isinstance(value, dict) else None


def _json_list(value: object) -> list[object] | None:
    return cast("list[object]", value) if isinstance(value, list) else None


def _hex_to_b64(value: object, where: str, size: int, optional: bool) -> str:
    if not isinstance(value, str):
        raise OTLPError(f"{where} must be a hex string, got {type(value).__name__}")
    if value == "" and optional:
        return ""
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise OTLPError(f"{where} {value[:64]!r} is not hex (OTLP/JSON ids are hex strings)") from None
    if len(raw) != size:
        raise OTLPError(f"{where} {value[:64]!r} must be {size * 2} hex digits")
    return base64.b64encode(raw).decode("ascii")


def _fix_ids(span: dict[str, object], where: str) -> None:
    for key, alt, size, optional in (
        ("traceId", "trace_id", 16, False),
        ("spanId", "span_id", 8, False),
        ("parentSpanId", "parent_span_id", 8, True),
    ):
        for name in (key, alt):
            if name in span:
                span[name] = _hex_to_b64(span[name], f"{where}.{name}", size, optional)
    for j, item in enumerate(_json_list(span.get("links")) or ()):
        link = _json_object(item)
        if link is not None:
            for key, alt, size in (("traceId", "trace_id", 16), ("spanId", "span_id", 8)):
                for name in (key, alt):
                    if name in link:
                        link[name] = _hex_to_b64(link[name], f"{where}.links[{j}].{name}", size, False)


def decode_json(body: bytes) -> ExportTraceServiceRequest:
    """Parse an OTLP/JSON request: hex ids, integer enums, 64-bit integers possibly as strings."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OTLPError(f"body is not valid JSON: {exc}") from None
    request = _json_object(data)
    if request is None:
        raise OTLPError("body must be a JSON object with a resourceSpans list")
    resource_spans = _json_list(request.get("resourceSpans", request.get("resource_spans", [])))
    if resource_spans is None:
        raise OTLPError("resourceSpans must be a list")
    for r, item in enumerate(resource_spans):
        rs = _json_object(item)
        scopes = _json_list(rs.get("scopeSpans", rs.get("scope_spans", []))) if rs is not None else None
        if scopes is None:
            raise OTLPError(f"resourceSpans[{r}].scopeSpans must be a list")
        for s, scope_item in enumerate(scopes):
            ss = _json_object(scope_item)
            spans = _json_list(ss.get("spans", [])) if ss is not None else None
            if spans is None:
                raise OTLPError(f"resourceSpans[{r}].scopeSpans[{s}].spans must be a list")
            for i, span_item in enumerate(spans):
                span = _json_object(span_item)
                if span is None:
                    raise OTLPError(f"resourceSpans[{r}].scopeSpans[{s}].spans[{i}] must be an object")
                _fix_ids(span, f"resourceSpans[{r}].scopeSpans[{s}].spans[{i}]")
    try:
        return json_format.ParseDict(request, ExportTraceServiceRequest(), ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise OTLPError(f"body is not a valid OTLP/JSON ExportTraceServiceRequest: {exc}") from None


def _json_value(value: AnyValue) -> object:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "array_value":
        return [_json_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _json_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return None


def _format_double(number: float) -> str:
    # As the OTel Collector's AnyValue.AsString (Go's FormatFloat 'f', -1): 1.0 -> "1".
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return repr(number)


def _attributes(key_values: Iterable[KeyValue]) -> dict[str, str]:
    out: dict[str, str] = {}
    for kv in key_values:
        value = kv.value
        # Most values are non-empty strings: one field read settles them, without WhichOneof.
        text = value.string_value
        if text:
            out[kv.key] = text
            continue
        kind = value.WhichOneof("value")
        if kind == "int_value":
            out[kv.key] = str(value.int_value)
        elif kind == "bool_value":
            out[kv.key] = "true" if value.bool_value else "false"
        elif kind == "double_value":
            out[kv.key] = _format_double(value.double_value)
        elif kind is None or kind == "string_value":
            out[kv.key] = ""
        else:
            out[kv.key] = json.dumps(_json_value(value), ensure_ascii=False, separators=(",", ":"))
    return out


_TEAM = INSERT_COLUMNS.index("Team")


def to_columns(request: ExportTraceServiceRequest, team: str = "") -> SpanBatch:
    """Validate ids and flatten every span of ``request`` into insert columns.

    ``team`` is stamped on every span: the team of the key that sent the request, never
    anything the request says (docs/security.md).
    """
    # Each column has its own element type (MapColumn for span attributes): the loop below
    # appends to them unchecked, for speed, and columns_to_arrow types them by name.
    cols: list[Any] = [[] for _ in INSERT_COLUMNS]
    cols[_ATTRS] = MapColumn()
    (
        c_ts, c_trace, c_span, c_parent, c_state, c_name, c_kind, c_service, c_res, c_scope, c_scope_v,
        c_attrs, c_dur, c_status, c_status_msg, c_ev_ts, c_ev_name, c_ev_attrs, c_l_trace, c_l_span,
        c_l_state, c_l_attrs,
    ) = (col for i, col in enumerate(cols) if i != _TEAM)  # fmt: skip
    add_attributes = c_attrs.append
    keys: list[int] = []
    add_key = keys.append
    from_bytes = int.from_bytes
    count = 0
    for r, resource_spans in enumerate(request.resource_spans):
        resource = _attributes(resource_spans.resource.attributes)
        service = resource.get("service.name", "")
        for s, scope_spans in enumerate(resource_spans.scope_spans):
            scope_name = scope_spans.scope.name
            scope_version = scope_spans.scope.version
            for i, span in enumerate(scope_spans.spans):
                trace_id = span.trace_id
                span_id = span.span_id
                parent = span.parent_span_id
                if len(trace_id) != 16 or trace_id == _ZERO_TRACE:
                    raise OTLPError(
                        f"resourceSpans[{r}].scopeSpans[{s}].spans[{i}]: invalid trace id "
                        f"{trace_id.hex()!r} (must be 16 bytes, not all zero)"
                    )
                if len(span_id) != 8 or span_id == _ZERO_SPAN:
                    raise OTLPError(
                        f"resourceSpans[{r}].scopeSpans[{s}].spans[{i}]: invalid span id "
                        f"{span_id.hex()!r} (must be 8 bytes, not all zero)"
                    )
                if parent and len(parent) != 8:
                    raise OTLPError(
                        f"resourceSpans[{r}].scopeSpans[{s}].spans[{i}]: invalid parent span id "
                        f"{parent.hex()!r} (must be empty or 8 bytes)"
                    )
                add_key(from_bytes(trace_id + span_id, "big"))
                start = span.start_time_unix_nano
                end = span.end_time_unix_nano
                c_ts.append(start)
                c_trace.append(trace_id.hex())
                c_span.append(span_id.hex())
                c_parent.append("" if not parent or parent == _ZERO_SPAN else parent.hex())
                c_state.append(span.trace_state)
                c_name.append(span.name)
                kind = span.kind
                c_kind.append(_SPAN_KINDS[kind] if 0 <= kind < 6 else "Unspecified")
                c_service.append(service)
                c_res.append(resource)
                c_scope.append(scope_name)
                c_scope_v.append(scope_version)
                add_attributes(_attributes(span.attributes))
                c_dur.append(end - start if end > start else 0)
                code = span.status.code
                c_status.append(_STATUS[code] if 0 <= code < 3 else "Unset")
                c_status_msg.append(span.status.message)
                events = span.events
                if events:
                    c_ev_ts.append([e.time_unix_nano for e in events])
                    c_ev_name.append([e.name for e in events])
                    c_ev_attrs.append([_attributes(e.attributes) for e in events])
                else:
                    c_ev_ts.append([])
                    c_ev_name.append([])
                    c_ev_attrs.append([])
                links = span.links
                if links:
                    c_l_trace.append([link.trace_id.hex() for link in links])
                    c_l_span.append([link.span_id.hex() for link in links])
                    c_l_state.append([link.trace_state for link in links])
                    c_l_attrs.append([_attributes(link.attributes) for link in links])
                else:
                    c_l_trace.append([])
                    c_l_span.append([])
                    c_l_state.append([])
                    c_l_attrs.append([])
                count += 1
    cols[_TEAM] = [team] * count
    return SpanBatch(cols, count, keys)
