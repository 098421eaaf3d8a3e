"""Kill switches: ``GET /api/v1/switches`` (a long poll), ``POST /api/v1/switches``, ``POST /api/v1/switches/revive``.

Every key may read the switches its scope covers (ingest keys are what running agents hold);
only admin keys flip them, and each flip is an audited admin action. The read is a long poll:
``?since=VERSION&wait=SECONDS`` answers as soon as the reader's switches differ from
``VERSION``, or after ``wait`` seconds (at most :data:`MAX_WAIT`) with the same version, so a
kill reaches the SDK's poller within about a second without it polling hard.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Final

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tracereel.collector.api.auth import current_principal, read_scope, require_role
from tracereel.collector.control import Principal, record_admin_action
from tracereel.collector.query import (
    Scope,
    SwitchKey,
    current_switches,
    flip_count,
    flip_switch,
    switch_state,
    switches_version,
)
from tracereel.collector.store import Store
from tracereel.constants import API_PREFIX
from tracereel.contracts.errors import errors
from tracereel.contracts.switches import Kill, Selector, SwitchAnswer, Switches

__all__ = ["MAX_WAIT", "SwitchBoard", "router"]

router = APIRouter(prefix=API_PREFIX)

MAX_WAIT: Final = 30.0
# How often a waiting long poll looks at the store for flips another collector made (one query
# per collector per interval, however many agents wait).
STORE_CHECK_SECONDS: Final = 1.0


class SwitchBoard:
    """Wakes the long polls of one collector when a switch flips: here at once, elsewhere within a second.

    Flips through this collector call :meth:`changed`; flips through another collector sharing
    the store are noticed by :meth:`check_store`, which asks the store at most once per
    :data:`STORE_CHECK_SECONDS` for all waiting polls together.
    """

    def __init__(self) -> None:
        self.generation = 0
        self._event = asyncio.Event()
        self._flips: int | None = None
        self._checked = 0.0

    def changed(self) -> None:
        """A switch flipped: wake every waiting poll."""
        self.generation += 1
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, generation: int, timeout: float) -> None:
        """Return when the generation is past ``generation``, or after ``timeout`` seconds."""
        if self.generation != generation or timeout <= 0:
            return
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    async def check_store(self, store: Store) -> None:
        """Count the flips in the store (rate-limited); a new count is a change made elsewhere."""
        now = time.monotonic()
        if now - self._checked < STORE_CHECK_SECONDS:
            return
        self._checked = now
        flips = await run_in_threadpool(flip_count, store)
        if self._flips is not None and flips != self._flips:
            self.changed()
        self._flips = flips


def _board(request: Request) -> SwitchBoard:
    board = getattr(request.app.state, "switchboard", None)
    if board is None:
        board = request.app.state.switchboard = SwitchBoard()
    return board


def _answer(switches: list[dict[str, Any]], version: str) -> JSONResponse:
    answer = Switches.model_validate({"version": version, "switches": switches})
    return JSONResponse(answer.model_dump(mode="json"), headers={"ETag": f'"{version}"'})


@router.get(
    "/switches",
    summary="The kill switches in force (a long poll with since and wait)",
    response_model=Switches,
    responses={200: {"headers": {"ETag": {"description": "The version, quoted", "schema": {"type": "string"}}}}}
    | errors(400, 401),
)
async def list_switches(
    request: Request,
    since: str | None = Query(None, max_length=64, description="the version the caller has; wait for another"),
    wait: float = Query(0.0, ge=0, le=MAX_WAIT, description="seconds to wait for a change when since is current"),
    principal: Principal = Depends(current_principal),
) -> JSONResponse:
    """Killed switches the key's scope covers (its team's and every team's), and their version.

    With ``since`` equal to the current version, waits up to ``wait`` seconds for a change.
    """
    store: Store = request.app.state.store
    scope: Scope = read_scope(principal)
    board = _board(request)
    deadline = time.monotonic() + wait
    hung_up: asyncio.Task[None] | None = None
    try:
        while True:
            generation = board.generation
            switches = await run_in_threadpool(current_switches, store, scope)
            version = switches_version(switches)
            if since is None or since != version:
                return _answer(switches, version)
            # Nothing new for this reader: wait for a flip (here, or seen in the store), the deadline,
            # or the caller hanging up (so a stopping SDK does not keep a stopping collector waiting).
            if hung_up is None:
                hung_up = asyncio.ensure_future(_until_disconnected(request))
            while board.generation == generation:
                left = deadline - time.monotonic()
                if left <= 0 or hung_up.done():
                    return _answer(switches, version)
                flipped = asyncio.ensure_future(board.wait(generation, min(left, STORE_CHECK_SECONDS)))
                await asyncio.wait({flipped, hung_up}, return_when=asyncio.FIRST_COMPLETED)
                flipped.cancel()
                await board.check_store(store)
    finally:
        if hung_up is not None:
            hung_up.cancel()


async def _until_disconnected(request: Request) -> None:
    """Return when the client closes the connection (the request has no body to read)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _key(selector: Selector, principal: Principal) -> SwitchKey:
    team = selector.team
    # An admin bound to a team flips that team's switches only.
    if principal.team is not None:
        if team and team != principal.team:
            raise HTTPException(403, f"this key is for team {principal.team}; it cannot flip team {team}'s switches")
        team = principal.team
    return SwitchKey(agent=selector.agent, version=selector.version, service=selector.service, team=team)


@router.post(
    "/switches",
    summary="Kill an agent (every version, or one; every service, or one)",
    status_code=201,
    response_model=SwitchAnswer,
    responses={200: {"model": SwitchAnswer, "description": "It was killed already; the reason is the new one"}}
    | errors(400, 401, 403, 422),
)
async def kill(request: Request, body: Kill, principal: Principal = require_role("admin")) -> JSONResponse:
    """Kill the switch ``body`` names (201; 200 if it was killed already, with the new reason)."""
    store: Store = request.app.state.store
    key = _key(body, principal)
    before = await run_in_threadpool(switch_state, store, key)
    switch = await run_in_threadpool(flip_switch, store, key, "killed", reason=body.reason, key_id=principal.key_id)
    record_admin_action(
        "kill_agent", key.label(), key_id=principal.key_id, detail=body.reason, store=request.app.state.store
    )
    _board(request).changed()
    was_killed = before is not None and before["state"] == "killed"
    answer = SwitchAnswer.model_validate({"switch": switch})
    return JSONResponse(answer.model_dump(mode="json"), status_code=200 if was_killed else 201)


@router.post(
    "/switches/revive",
    summary="Revive a killed agent (the same selector it was killed with)",
    response_model=SwitchAnswer,
    responses=errors(400, 401, 403, 404, 422),
)
async def revive(request: Request, body: Selector, principal: Principal = require_role("admin")) -> SwitchAnswer:
    """Revive the switch ``body`` names; 404 if that exact switch is not killed."""
    store: Store = request.app.state.store
    key = _key(body, principal)
    before = await run_in_threadpool(switch_state, store, key)
    if before is None or before["state"] != "killed":
        raise HTTPException(
            404,
            f"no kill switch for {key.label()} is in force; `tracereel switches` lists the ones that are "
            "(revive with the same agent, version, service and team they were killed with)",
        )
    switch = await run_in_threadpool(
        flip_switch, store, key, "revived", reason=before["reason"], key_id=principal.key_id
    )
    record_admin_action(
        "revive_agent",
        key.label(),
        key_id=principal.key_id,
        detail=f"killed for: {before['reason']}",
        store=request.app.state.store,
    )
    _board(request).changed()
    return SwitchAnswer.model_validate({"switch": switch})
