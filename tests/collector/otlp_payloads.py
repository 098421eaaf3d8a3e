"""OTLP request bodies built by hand, for the ingestion tests."""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

TRACE = "5b8efff798038103d269b633813fc60c"
ROOT = "eee19b7ec3c1b174"
CHILD = "eee19b7ec3c1b173"
T0 = 1_700_000_000_000_000_000


def kv(key: str, value: Any) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


def protobuf_request(spans: list[dict[str, Any]], service: str = "svc") -> bytes:
    """An ExportTraceServiceRequest with one resource and scope holding ``spans``."""
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.append(kv("service.name", service))
    ss = rs.scope_spans.add()
    ss.scope.name = "hand-made"
    for spec in spans:
        span = Span(
            trace_id=bytes.fromhex(spec.get("trace_id", TRACE)),
            span_id=bytes.fromhex(spec["span_id"]),
            parent_span_id=bytes.fromhex(spec.get("parent", "")),
            name=spec.get("name", "work"),
            kind=spec.get("kind", 1),
            start_time_unix_nano=spec.get("start", T0),
            end_time_unix_nano=spec.get("end", T0 + 1_000_000),
            status=Status(code=spec.get("status", 0), message=spec.get("message", "")),
        )
        span.attributes.extend(kv(k, v) for k, v in spec.get("attributes", {}).items())
        ss.spans.append(span)
    return request.SerializeToString()


def json_request(spans: list[dict[str, Any]], service: str = "svc-json") -> bytes:
    """An OTLP/JSON body: hex ids, integer enums, 64-bit integers as strings."""
    return json.dumps(
        {
            "resourceSpans": [
                {
                    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                    "scopeSpans": [{"scope": {"name": "json-client"}, "spans": spans}],
                }
            ]
        }
    ).encode()


def agent_task(
    trace_id: str, agent: str, model: str, tool: str, start: int, extra: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """One agent task as span specs for :func:`protobuf_request`: the root, an LLM call and a tool call.

    Span ids come from ``trace_id`` (root: its first half), so distinct traces need distinct ids.
    """
    root = trace_id[:16]
    return [
        {
            "trace_id": trace_id,
            "span_id": root,
            "name": f"invoke_agent {agent}",
            "start": start,
            "end": start + 50_000_000,
            "attributes": {
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": agent,
                "tracereel.task.success": "true",
                **(extra or {}),
            },
        },
        {
            "trace_id": trace_id,
            "span_id": trace_id[16:],
            "parent": root,
            "name": f"chat {model}",
            "start": start + 1_000_000,
            "end": start + 20_000_000,
            "attributes": {
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": model,
                "gen_ai.usage.input_tokens": 100,
                "gen_ai.usage.output_tokens": 10,
            },
        },
        {
            "trace_id": trace_id,
            "span_id": "f" + trace_id[17:],
            "parent": root,
            "name": f"execute_tool {tool}",
            "start": start + 21_000_000,
            "end": start + 30_000_000,
            "attributes": {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool},
        },
    ]


def langgraph_task(trace_id: str, agent: str, start: int) -> list[dict[str, Any]]:
    """A LangGraph task as OpenInference exports it: the root a chain, the agent a graph node below it.

    Span ids come from ``trace_id`` (root: its first half), so distinct traces need distinct ids.
    """
    root, node = trace_id[:16], trace_id[16:]
    return [
        {
            "trace_id": trace_id,
            "span_id": root,
            "name": "LangGraph",
            "start": start,
            "end": start + 50_000_000,
            "attributes": {"openinference.span.kind": "CHAIN"},
        },
        {
            "trace_id": trace_id,
            "span_id": node,
            "parent": root,
            "name": agent,
            "start": start + 1_000_000,
            "end": start + 40_000_000,
            "attributes": {"openinference.span.kind": "AGENT", "graph.node.id": agent},
        },
    ]
