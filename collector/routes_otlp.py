"""``POST /v1/traces``: OTLP/HTTP ingestion, protobuf or JSON, gzip or not.

Status codes follow OTLP/HTTP: 400 malformed, 413 too large, 415 wrong type, 503 with
Retry-After when full or when the store refuses (never 500: a 5xx other than 502-504 is
not retried by clients, so its spans would be lost). 200 only once the spans are stored.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from tracereel.collector._body import BodyError, decompress, read_capped
from tracereel.collector._inserter import BulkInserter, Overloaded, StoreWriteError
from tracereel.collector._otlp import OTLPError, SpanBatch, decode_json, decode_protobuf, to_columns
from tracereel.collector._responses import JSON, PROTOBUF, error_response, success_response
from tracereel.collector.settings import CollectorSettings

__all__ = ["router"]

logger = logging.getLogger("tracereel.collector")
router = APIRouter()
_RETRY_AFTER_SECONDS = 1


def _parse(body: bytes, media_type: str) -> SpanBatch:
    request = decode_protobuf(body) if media_type == PROTOBUF else decode_json(body)
    return to_columns(request)


@router.post("/v1/traces", summary="OTLP/HTTP trace export")
async def export_traces(request: Request) -> Response:
    """Store the spans of one OTLP ExportTraceServiceRequest; 200 means they are durable."""
    settings: CollectorSettings = request.app.state.settings
    inserter: BulkInserter = request.app.state.inserter
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in (PROTOBUF, JSON):
        return error_response(
            415,
            f"unsupported Content-Type {content_type or '(none)'!r}: use application/x-protobuf or application/json",
            JSON,
        )
    try:
        declared = int(request.headers.get("content-length") or 0)
    except ValueError:
        return error_response(400, "Content-Length is not a number", content_type)
    limit = settings.max_body_bytes
    try:
        if declared > limit:
            raise BodyError(413, f"request body is larger than the limit of {limit} bytes")
        raw = await read_capped(request.stream(), limit)
        body = decompress(raw, request.headers.get("content-encoding", ""), limit)
        batch = await run_in_threadpool(_parse, body, content_type)
    except BodyError as exc:
        return error_response(exc.status, exc.message, content_type)
    except OTLPError as exc:
        return error_response(400, str(exc), content_type)
    try:
        await inserter.submit(batch)
    except Overloaded as exc:
        return error_response(503, f"collector is full ({exc}); retry later", content_type, _RETRY_AFTER_SECONDS)
    except StoreWriteError as exc:
        return error_response(503, f"store refused the spans ({exc}); retry later", content_type, 5)
    return success_response(content_type)
