"""OTLP/HTTP responses: in the request's own encoding, as the OTLP specification asks."""

from __future__ import annotations

import json

from fastapi import Response
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tracereel.constants import JSON, PROTOBUF

__all__ = ["error_response", "success_response"]

# gRPC codes for the google.rpc.Status body, by HTTP status.
_GRPC_CODE = {400: 3, 401: 16, 413: 8, 415: 3, 429: 8, 503: 14}


def success_response(media_type: str) -> Response:
    """200 with an empty ExportTraceServiceResponse."""
    if media_type == JSON:
        return Response(b"{}", media_type=JSON)
    return Response(ExportTraceServiceResponse().SerializeToString(), media_type=PROTOBUF)


def error_response(status: int, message: str, media_type: str, retry_after: int | None = None) -> Response:
    """An error with a google.rpc.Status body (JSON for JSON requests) naming the problem."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    code = _GRPC_CODE.get(status, 2)
    if media_type == PROTOBUF:
        body = Status(code=code, message=message).SerializeToString()
        return Response(body, status_code=status, media_type=PROTOBUF, headers=headers)
    body = json.dumps({"code": code, "message": message}).encode()
    return Response(body, status_code=status, media_type=JSON, headers=headers)
