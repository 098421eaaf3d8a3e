"""``POST /v1/traces``: OTLP/HTTP ingestion, protobuf or JSON, gzip or not.

Status codes follow OTLP/HTTP: 400 malformed, 413 too large, 415 wrong type, 503 with
Retry-After when full (never 500: a 5xx other than 502-504 is not retried by clients, so its
spans would be lost). 200 once the spans are in the write-ahead log, on disk.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request, Response

from tracereel.collector.api.auth import require_role
from tracereel.collector.control import Principal
from tracereel.collector.ingest import BodyError, error_response, read_capped, success_response
from tracereel.collector.ingest.accept import IngestError, IngestPath
from tracereel.collector.settings import CollectorSettings
from tracereel.constants import JSON, OTLP_TRACES_PATH, PROTOBUF
from tracereel.contracts.errors import ErrorBody

__all__ = ["router"]

router = APIRouter()
# A body past the limit is read on and thrown away, up to 4 times the limit or 64 MiB, whichever
# is more, so that its client gets the 413; past that the connection is closed under it.
_DISCARD_FACTOR = 4
_DISCARD_AT_LEAST = 64 * 1024 * 1024

# The body and answers are OTLP's (opentelemetry-proto), not ours: declared for the OpenAPI
# document as the protocol specifies them, protobuf or its JSON mapping.
_BINARY: Final = {"type": "string", "format": "binary"}
_OTLP_STATUS: Final = {
    JSON: {
        "schema": {
            "type": "object",
            "description": "google.rpc.Status",
            "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
            "required": ["code", "message"],
        }
    },
    PROTOBUF: {"schema": _BINARY},
}
_REFUSALS: Final = {
    400: "Malformed: not protobuf or OTLP/JSON, bad ids, bad gzip",
    413: "Larger than the limit (after decompression)",
    415: f"Neither {PROTOBUF} nor {JSON}",
    429: "Too many requests; retry after Retry-After seconds",
    503: "The write-ahead log is full (the store is behind or down); retry after Retry-After seconds",
}
_DOCUMENTED: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "description": "An ExportTraceServiceRequest, optionally gzip-compressed (Content-Encoding: gzip)",
        "content": {
            PROTOBUF: {"schema": _BINARY},
            JSON: {"schema": {"type": "object", "properties": {"resourceSpans": {"type": "array"}}}},
        },
    },
    "responses": {
        "200": {
            "description": "The spans are durable (in the write-ahead log): an ExportTraceServiceResponse",
            "content": {JSON: {"schema": {"type": "object"}}, PROTOBUF: {"schema": _BINARY}},
        },
        **{str(status): {"description": text, "content": _OTLP_STATUS} for status, text in _REFUSALS.items()},
    },
}
_KEY_REFUSALS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"model": ErrorBody, "description": "Missing or wrong API key"},
    403: {"model": ErrorBody, "description": "The key may not send spans"},
}


@router.post(
    OTLP_TRACES_PATH,
    summary="OTLP/HTTP trace export",
    response_class=Response,
    responses=_KEY_REFUSALS,
    openapi_extra=_DOCUMENTED,
)
async def export_traces(request: Request, principal: Principal = require_role("ingest")) -> Response:
    """Accept the spans of one OTLP ExportTraceServiceRequest; 200 means they are durable.

    Every span is stamped with the key's team, whatever the request says.
    """
    settings: CollectorSettings = request.app.state.settings
    ingest: IngestPath = request.app.state.ingest
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in (PROTOBUF, JSON):
        return error_response(
            415,
            f"unsupported Content-Type {content_type or '(none)'!r}: use {PROTOBUF} or {JSON}",
            JSON,
        )
    try:
        declared = int(request.headers.get("content-length") or 0)
    except ValueError:
        return error_response(400, "Content-Length is not a number", content_type)
    limit = settings.max_body_bytes
    discard = max(limit * _DISCARD_FACTOR, _DISCARD_AT_LEAST)
    try:
        if declared > discard:
            raise IngestError(413, f"request body is larger than the limit of {limit} bytes")
        body = await read_capped(request.stream(), limit, discard_up_to=discard)
        encoding = request.headers.get("content-encoding", "")
        await ingest.accept(body, encoding, content_type, team=principal.team or "")
    except IngestError as exc:
        return _refusal(exc, content_type)
    except BodyError as exc:
        return _refusal(IngestError(exc.status, exc.message), content_type)
    return success_response(content_type)


def _refusal(exc: IngestError, content_type: str) -> Response:
    response = error_response(exc.status, exc.message, content_type, exc.retry_after)
    if exc.status == 413:
        # The rest of an oversized body may still be on its way: end the connection after this.
        response.headers["Connection"] = "close"
    return response
