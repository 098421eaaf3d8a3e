"""Deleting data: ``DELETE /api/v1/traces/{trace_id}`` removes a trace from every table (a data-subject request).

Admin keys only; every delete is written to the audit log.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from tracereel.collector.api.auth import require_role
from tracereel.collector.api.deps import TRACE_ID
from tracereel.collector.control import Principal, record_admin_action
from tracereel.collector.query import parse_trace_id
from tracereel.collector.store import delete_trace
from tracereel.constants import API_PREFIX
from tracereel.contracts.deletions import DeletedTrace
from tracereel.contracts.errors import errors

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX)


@router.delete(
    "/traces/{trace_id}",
    summary="Delete a trace everywhere (spans, lookup, rollups)",
    response_model=DeletedTrace,
    responses=errors(400, 401, 403, 404),
)
async def delete(
    request: Request, trace_id: str = TRACE_ID, principal: Principal = require_role("admin")
) -> DeletedTrace:
    """Remove every span of the trace and its rows in the lookup and rollup tables; 404 if the store has none.

    Answers once the rows are gone (the deletes are synchronous), so the metrics read afterwards
    no longer count the trace.
    """
    normalised = parse_trace_id(trace_id)
    spans = await run_in_threadpool(delete_trace, request.app.state.store, normalised)
    if not spans:
        raise HTTPException(404, f"no trace with id {normalised} in the store")
    await run_in_threadpool(
        record_admin_action,
        "delete_trace",
        normalised,
        key_id=principal.key_id,
        detail=f"{spans} spans",
        store=request.app.state.store,
    )
    return DeletedTrace(trace_id=normalised, deleted_spans=spans)
