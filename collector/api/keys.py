"""API keys: ``POST /api/v1/keys`` (create), ``GET /api/v1/keys`` (list), ``DELETE /api/v1/keys/{key_id}`` (revoke).

Admin keys only. A key's text is in the answer to its creation and nowhere else: the list
shows ids, teams, roles and globs, never the text or its hash. Creating and revoking are
written to the audit log.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from tracereel.collector.api.auth import require_role
from tracereel.collector.control import KeyRequestError, KeyRing, Principal, record_admin_action
from tracereel.collector.store import KeyRow
from tracereel.constants import API_PREFIX

__all__ = ["KeyRequest", "router"]

router = APIRouter(prefix=API_PREFIX, dependencies=[require_role("admin")])


class KeyRequest(BaseModel):
    """The body of ``POST /api/v1/keys``."""

    team: str = Field(description="The team the key belongs to")
    role: str = Field(description="ingest, read or admin")
    agents: list[str] = Field(default_factory=list, description="Agent name globs a read key may see; empty: all")
    services: list[str] = Field(default_factory=list, description="Service name globs a read key may see; empty: all")


def _listed(row: KeyRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "team": row.team,
        "role": row.role,
        "agents": list(row.agents),
        "services": list(row.services),
        "created_at": row.created_at.isoformat(),
        "created_by": row.created_by,
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
    }


def _who(principal: Principal) -> str:
    return principal.key_id or "(auth off)"


@router.post("/keys", summary="Create an API key (shown once)", status_code=201)
async def create_key(request: Request, body: KeyRequest, principal: Principal = require_role("admin")) -> JSONResponse:
    """A new key for ``team`` with ``role``; the answer holds its text, which is not stored and not shown again."""
    ring: KeyRing = request.app.state.keys
    try:
        row, text = await run_in_threadpool(
            ring.create,
            team=body.team,
            role=body.role,
            agents=tuple(body.agents),
            services=tuple(body.services),
            created_by=_who(principal),
        )
    except KeyRequestError as exc:
        raise HTTPException(400, str(exc)) from None
    detail = f"team={row.team} role={row.role}"
    await run_in_threadpool(
        record_admin_action,
        "key_created",
        row.id,
        key_id=principal.key_id,
        detail=detail,
        store=request.app.state.store,
    )
    return JSONResponse({**_listed(row), "key": text}, status_code=201)


@router.get("/keys", summary="List API keys (never their text)")
async def list_keys(request: Request) -> dict[str, Any]:
    """Every key, revoked ones too, oldest first: id, team, role, globs, who created it and when."""
    ring: KeyRing = request.app.state.keys
    return {"keys": [_listed(row) for row in ring.rows()]}


@router.delete("/keys/{key_id}", summary="Revoke an API key")
async def revoke_key(request: Request, key_id: str, principal: Principal = require_role("admin")) -> dict[str, Any]:
    """Revoke the key at once on this collector (within the key refresh interval on others); 404 if unknown."""
    ring: KeyRing = request.app.state.keys
    try:
        row = await run_in_threadpool(ring.revoke, key_id)
    except KeyRequestError as exc:
        raise HTTPException(404, str(exc)) from None
    await run_in_threadpool(
        record_admin_action, "key_revoked", row.id, key_id=principal.key_id, store=request.app.state.store
    )
    return _listed(row)
