"""``POST /v1/traces``: OTLP/HTTP ingestion, protobuf or JSON, gzip or not.

Status codes follow OTLP/HTTP: 400 malformed, 413 too large, 415 wrong type, 503 with
Retry-After when full or when the store refuses (never 500: a 5xx other than 502-504 is
not retried by clients, so its spans would be lost). 200 only once the spans are stored.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response

from tracereel.collector.api.auth import require_role
from tracereel.collector.control import Principal
from tracereel.collector.ingest import (
    BodyError,
    BulkInserter,
    OTLPError,
    Overloaded,
    ParsePool,
    ParserUnavailable,
    StoreWriteError,
    error_response,
    read_capped,
    success_response,
)
from tracereel.collector.settings import CollectorSettings
from tracereel.constants import JSON, OTLP_TRACES_PATH, PROTOBUF

__all__ = ["router"]

logger = logging.getLogger("tracereel.collector")
router = APIRouter()
_RETRY_AFTER_SECONDS = 1


@router.post(OTLP_TRACES_PATH, summary="OTLP/HTTP trace export")
async def export_traces(request: Request, principal: Principal = require_role("ingest")) -> Response:
    """Store the spans of one OTLP ExportTraceServiceRequest; 200 means they are durable.

    Every span is stamped with the key's team, whatever the request says.
    """
    settings: CollectorSettings = request.app.state.settings
    inserter: BulkInserter = request.app.state.inserter
    parser: ParsePool = request.app.state.parser
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
    try:
        if declared > limit:
            raise BodyError(413, f"request body is larger than the limit of {limit} bytes")
        raw = await read_capped(request.stream(), limit)
        table, count = await parser.parse(
            raw, request.headers.get("content-encoding", ""), content_type, limit, principal.team or ""
        )
    except BodyError as exc:
        return error_response(exc.status, exc.message, content_type)
    except OTLPError as exc:
        return error_response(400, str(exc), content_type)
    except ParserUnavailable as exc:
        return error_response(503, str(exc), content_type, _RETRY_AFTER_SECONDS)
    try:
        await inserter.submit(table, count)
    except Overloaded as exc:
        return error_response(503, f"collector is full ({exc}); retry later", content_type, _RETRY_AFTER_SECONDS)
    except StoreWriteError as exc:
        return error_response(503, f"store refused the spans ({exc}); retry later", content_type, 5)
    return success_response(content_type)
