"""API keys: ``POST /api/v1/keys`` (create), ``GET /api/v1/keys`` (list), ``DELETE /api/v1/keys/{key_id}`` (revoke).

Admin keys only. A key's text is in the answer to its creation and nowhere else: the list
shows ids, teams, roles and globs, never the text or its hash. Creating and revoking are
written to the audit log.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Path, Request
from starlette.concurrency import run_in_threadpool

from tracereel.collector.api.auth import require_role
from tracereel.collector.control import KeyRequestError, KeyRing, Principal, record_admin_action
from tracereel.collector.store import KeyRow
from tracereel.constants import API_PREFIX
from tracereel.contracts.errors import errors
from tracereel.contracts.keys import CreatedKey, KeyList, KeyRequest, KeyView

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX, dependencies=[require_role("admin")], responses=errors(401, 403))


def _listed(row: KeyRow) -> dict[str, object]:
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


@router.post(
    "/keys",
    summary="Create an API key (shown once)",
    status_code=201,
    response_model=CreatedKey,
    responses=errors(400, 422),
)
async def create_key(request: Request, body: KeyRequest, principal: Principal = require_role("admin")) -> CreatedKey:
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
    return CreatedKey.model_validate({**_listed(row), "key": text})


@router.get("/keys", summary="List API keys (never their text)", response_model=KeyList)
async def list_keys(request: Request) -> KeyList:
    """Every key, revoked ones too, oldest first: id, team, role, globs, who created it and when."""
    ring: KeyRing = request.app.state.keys
    return KeyList.model_validate({"keys": [_listed(row) for row in ring.rows()]})


@router.delete("/keys/{key_id}", summary="Revoke an API key", response_model=KeyView, responses=errors(404))
async def revoke_key(
    request: Request,
    # Not checked here: an id of another shape is unknown, a 404 like any other.
    key_id: str = Path(json_schema_extra={"examples": ["trk_0123456789ab"]}),
    principal: Principal = require_role("admin"),
) -> KeyView:
    """Revoke the key at once on this collector (within the key refresh interval on others); 404 if unknown."""
    ring: KeyRing = request.app.state.keys
    try:
        row = await run_in_threadpool(ring.revoke, key_id)
    except KeyRequestError as exc:
        raise HTTPException(404, str(exc)) from None
    await run_in_threadpool(
        record_admin_action, "key_revoked", row.id, key_id=principal.key_id, store=request.app.state.store
    )
    return KeyView.model_validate(_listed(row))
