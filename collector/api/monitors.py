"""Monitors: ``POST/GET /api/v1/monitors``, ``DELETE /api/v1/monitors/{name}``, ``GET /api/v1/monitors/{name}/history``.

Adding and removing need an admin key and are audited; reads show what the caller's scope
covers (a team's key: its team's monitors). Answers never hold a notification URL or a routing
key in full: they are secrets, shown masked.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from tracereel.collector.api.auth import current_principal, read_scope, require_role
from tracereel.collector.control import Principal, record_admin_action
from tracereel.collector.monitors import (
    Monitor,
    MonitorExists,
    add_monitor,
    find_monitor,
    list_history,
    list_monitors,
    load_states,
    monitor_from,
    remove_monitor,
)
from tracereel.collector.store import Store
from tracereel.constants import API_PREFIX
from tracereel.contracts.errors import errors
from tracereel.contracts.monitors import (
    MonitorDefinition,
    MonitorHistory,
    MonitorList,
    MonitorView,
    MonitorWithState,
    RemovedMonitor,
)
from tracereel.monitors import NAME_PATTERN

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX, responses=errors(401))

# Names are checked when a monitor is added; any other name is simply unknown (404).
_NAME = Path(description="The monitor's name", json_schema_extra={"pattern": NAME_PATTERN.pattern})


def _with_states(store: Store, monitors: list[Monitor]) -> list[MonitorWithState]:
    states = load_states(store, [m.monitor_id for m in monitors])
    out: list[MonitorWithState] = []
    for monitor in monitors:
        state = states.get(monitor.monitor_id)
        out.append(MonitorWithState(**dict(monitor.public()), status=state.public() if state else None))
    return out


@router.post(
    "/monitors",
    summary="Add a monitor",
    status_code=201,
    dependencies=[require_role("admin")],
    response_model=MonitorView,
    responses=errors(400, 403, 409, 422),
)
async def add(
    request: Request, body: MonitorDefinition, principal: Principal = Depends(current_principal)
) -> MonitorView:
    """Store a monitor (body: name, metric, above|below, window, filters, min_tasks, notify, format, routing_key)."""
    monitor = monitor_from(body, team=principal.team or "")
    store: Store = request.app.state.store
    try:
        await run_in_threadpool(add_monitor, store, monitor)
    except MonitorExists as exc:
        raise HTTPException(409, str(exc)) from None
    record_admin_action(
        "add_monitor",
        monitor.name,
        key_id=principal.key_id,
        detail=f"{monitor.metric} {monitor.op} {monitor.threshold:g}, {monitor.format}",
        store=request.app.state.store,
    )
    return monitor.public()


@router.get("/monitors", summary="List monitors with their state", response_model=MonitorList)
async def monitors(request: Request, principal: Principal = Depends(current_principal)) -> MonitorList:
    """Every monitor the caller may see, by name, with its current ``status`` (None before its first evaluation)."""
    store: Store = request.app.state.store
    found = await run_in_threadpool(list_monitors, store, read_scope(principal))
    rows = await run_in_threadpool(_with_states, store, found)
    settings = request.app.state.settings
    return MonitorList(monitor_interval=settings.monitor_interval, monitors=rows)


@router.delete(
    "/monitors/{name}",
    summary="Remove a monitor",
    dependencies=[require_role("admin")],
    response_model=RemovedMonitor,
    responses=errors(403, 404),
)
async def remove(
    request: Request, name: str = _NAME, principal: Principal = Depends(current_principal)
) -> RemovedMonitor:
    """Remove the monitor ``name``: it is no longer evaluated; its history stays readable until it expires."""
    removed = await run_in_threadpool(remove_monitor, request.app.state.store, name, read_scope(principal))
    if removed is None:
        raise HTTPException(404, f"no monitor named {name}")
    record_admin_action("remove_monitor", removed.name, key_id=principal.key_id, store=request.app.state.store)
    return RemovedMonitor(removed=removed.name)


@router.get(
    "/monitors/{name}/history",
    summary="A monitor's changes of state and delivery attempts",
    response_model=MonitorHistory,
    # A state change has no delivery fields and a delivery attempt no state: absent, not null.
    response_model_exclude_unset=True,
    responses=errors(400, 404),
)
async def history(
    request: Request,
    name: str = _NAME,
    limit: int = Query(200, ge=1, le=5000),
    principal: Principal = Depends(current_principal),
) -> MonitorHistory:
    """Newest first: each change of state (``kind: state``) and each notification attempt (``kind: delivery``)."""
    store: Store = request.app.state.store
    monitor = await run_in_threadpool(find_monitor, store, name, read_scope(principal))
    if monitor is None:
        raise HTTPException(404, f"no monitor named {name}")
    entries = await run_in_threadpool(list_history, store, monitor, limit=limit)
    return MonitorHistory.model_validate({"name": monitor.name, "history": [e.public() for e in entries]})
