"""The traces the dashboard and the replay CLI read: ``/api/v1/traces`` and ``/api/v1/traces/{trace_id}``."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from tracereel.collector.api.auth import read_scope, require_role
from tracereel.collector.api.deps import TRACE_ID, read_price_table
from tracereel.collector.control import Principal
from tracereel.collector.query import (
    Scope,
    get_trace,
    list_traces,
    parse_trace_id,
    parse_trace_list_window,
    trace_scores,
)
from tracereel.constants import API_PREFIX
from tracereel.contracts.errors import errors
from tracereel.contracts.traces import Trace, TraceList

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX)


@router.get("/traces", summary="List traces, newest first", response_model=TraceList, responses=errors(400, 401, 403))
async def traces(
    request: Request,
    limit: int = Query(50, ge=1, le=1000),
    from_: str | None = Query(None, alias="from", description="ISO-8601 or unix seconds; default: all time"),
    to: str | None = Query(None, description="ISO-8601 or unix seconds; default: now"),
    service: str | None = None,
    agent: str | None = None,
    version: str | None = Query(None, description="only traces whose root agent has this version"),
    status: str | None = Query(
        None, pattern="(?i)^(ok|error|unset)$", description="ok: the root is not ERROR (OK or UNSET); error; unset"
    ),
    include_replays: bool = Query(
        False, description="also list replays and eval case runs (marked: replay_of, eval_run_id)"
    ),
    q: str | None = Query(
        None,
        description=(
            "full-text search: only traces whose payloads (inputs, outputs, messages, tool arguments and results) "
            "contain every whitespace-separated word, as literal text, ignoring case, in any of their spans; "
            "1 to 1,000 characters, not blank (else 400)"
        ),
    ),
    principal: Principal = require_role("read"),
) -> TraceList:
    """Traces whose root span starts in the window, with span counts, tokens and status; replays and
    eval case runs only with ``include_replays=true``; with ``q``, only those whose payloads contain its words."""
    start, end = parse_trace_list_window(from_, to)
    rows = await run_in_threadpool(
        list_traces,
        request.app.state.store,
        start=start,
        end=end,
        limit=limit,
        service=service,
        agent=agent,
        version=version,
        status=status,
        include_replays=include_replays,
        q=q,
        prices=read_price_table(request),
        scope=read_scope(principal),
    )
    # Built unchecked: FastAPI validates the answer against response_model on its way out.
    return TraceList.model_construct(traces=rows)


@router.get(
    "/traces/{trace_id}",
    summary="One trace with all its spans",
    response_model=Trace,
    responses=errors(400, 401, 403, 404),
)
async def trace(request: Request, trace_id: str = TRACE_ID, principal: Principal = require_role("read")) -> Trace:
    """Every span of the trace, oldest first, and its scores; 404 if the store has none (or none the key
    may see: the same 404)."""
    normalised = parse_trace_id(trace_id)
    scope = read_scope(principal)
    store = request.app.state.store
    found = await run_in_threadpool(get_trace, store, normalised, read_price_table(request), scope)
    if found is None:
        raise HTTPException(404, f"no trace with id {normalised} in the store")
    found["scores"] = await run_in_threadpool(trace_scores, store, normalised, Scope(team=scope.team))
    return found
