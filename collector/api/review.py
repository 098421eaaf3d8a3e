"""Review queues: ``POST/GET /api/v1/review/queues``, ``DELETE /api/v1/review/queues/{name}``,
``GET /api/v1/review/queues/{name}/items`` and ``POST /api/v1/review/queues/{name}/items/{trace_id}``.

Adding and removing a queue are admin actions, audited. Reading a queue's items and giving a
verdict need a read key (or admin): a human reviewer signs in to the dashboard with a read key,
and a verdict judges a trace, it changes no configuration. Everything is in the caller's scope,
filtered in SQL: another team's queue is unknown (404), another team's trace is never an item.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from tracereel.collector.api.auth import current_principal, read_scope, require_role
from tracereel.collector.control import Principal, record_admin_action
from tracereel.collector.review import (
    BadExpression,
    NotInQueue,
    QueueDef,
    QueueExists,
    add_queue,
    find_queue,
    give_verdict,
    list_queues,
    queue_items,
    remove_queue,
)
from tracereel.collector.store import Store
from tracereel.constants import API_PREFIX
from tracereel.contracts.errors import errors
from tracereel.contracts.review import (
    QUEUE_NAME_PATTERN,
    Queue,
    QueueIn,
    QueueList,
    RemovedQueue,
    ReviewItems,
    VerdictIn,
    VerdictStored,
)
from tracereel.contracts.traces import TRACE_ID_PATTERN

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX, responses=errors(401))

_NAME = Path(description="The queue's name", json_schema_extra={"pattern": QUEUE_NAME_PATTERN.pattern})
_TRACE = Path(description="32 hex digits", json_schema_extra={"pattern": TRACE_ID_PATTERN})


async def _queue(store: Store, name: str, principal: Principal) -> QueueDef:
    queue = await run_in_threadpool(find_queue, store, name, read_scope(principal))
    if queue is None:
        raise HTTPException(404, f"no review queue named {name}")
    return queue


@router.post(
    "/review/queues",
    summary="Add a review queue",
    status_code=201,
    dependencies=[require_role("admin")],
    response_model=Queue,
    responses=errors(400, 403, 409, 422),
)
async def add(request: Request, body: QueueIn, principal: Principal = Depends(current_principal)) -> Queue:
    """Store a queue: the traces its ``when`` expression matches wait in it for a verdict."""
    store: Store = request.app.state.store
    try:
        queue = await run_in_threadpool(add_queue, store, body.name, body.when, principal.team or "")
    except BadExpression as exc:
        raise HTTPException(422, f"when: {exc}") from None
    except QueueExists as exc:
        raise HTTPException(409, str(exc)) from None
    record_admin_action("add_review_queue", queue.name, key_id=principal.key_id, detail=queue.when, store=store)
    return Queue.model_validate(queue.public())


@router.get("/review/queues", summary="List review queues", response_model=QueueList)
async def queues(request: Request, principal: Principal = require_role("read")) -> QueueList:
    """The queues the caller's team may see (an admin: every queue), by name."""
    found = await run_in_threadpool(list_queues, request.app.state.store, read_scope(principal))
    return QueueList.model_validate({"queues": [q.public() for q in found]})


@router.delete(
    "/review/queues/{name}",
    summary="Remove a review queue",
    dependencies=[require_role("admin")],
    response_model=RemovedQueue,
    responses=errors(403, 404),
)
async def remove(
    request: Request, name: str = _NAME, principal: Principal = Depends(current_principal)
) -> RemovedQueue:
    """Remove the queue ``name``; the verdicts given in it stay, as scores and for ``dataset add-reviewed``."""
    store: Store = request.app.state.store
    removed = await run_in_threadpool(remove_queue, store, name, read_scope(principal))
    if removed is None:
        raise HTTPException(404, f"no review queue named {name}")
    record_admin_action("remove_review_queue", removed.name, key_id=principal.key_id, store=store)
    return RemovedQueue(removed=removed.name)


@router.get(
    "/review/queues/{name}/items",
    summary="A review queue's traces",
    response_model=ReviewItems,
    responses=errors(400, 404, 422),
)
async def items(
    request: Request,
    name: str = _NAME,
    state: Literal["open", "done"] = Query("open", description="open: not reviewed yet; done: reviewed"),
    limit: int = Query(100, ge=1, le=1000),
    principal: Principal = require_role("read"),
) -> ReviewItems:
    """Newest first: open items (matching, not yet reviewed) with the clause that matched, or done ones with
    their verdicts."""
    store: Store = request.app.state.store
    queue = await _queue(store, name, principal)
    found = await run_in_threadpool(queue_items, store, queue, read_scope(principal), state, limit=limit)
    return ReviewItems(queue=queue.name, state=state, items=found)


@router.post(
    "/review/queues/{name}/items/{trace_id}",
    summary="Give a verdict on a trace in a review queue",
    response_model=VerdictStored,
    responses=errors(400, 403, 404, 422),
)
async def verdict(
    request: Request,
    body: VerdictIn,
    name: str = _NAME,
    trace_id: str = _TRACE,
    principal: Principal = require_role("read"),
) -> VerdictStored:
    """Pass or fail, with the expected answer and a note; stored as a score (source ``review:NAME``). Again replaces."""
    store: Store = request.app.state.store
    queue = await _queue(store, name, principal)
    trace = trace_id.strip().lower()
    try:
        item, score = await run_in_threadpool(
            lambda: give_verdict(store, queue, trace, body, read_scope(principal), author=principal.key_id or "")
        )
    except NotInQueue as exc:
        raise HTTPException(404, str(exc)) from None
    return VerdictStored(
        queue=queue.name, trace_id=trace, verdict=body.verdict, expected=item.expected, note=item.note, score=score
    )
