"""``GET /api/v1/audit``: the audit log of admin actions, newest first (admin keys only)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from tracereel.collector.api.auth import require_role
from tracereel.collector.store import read_audit
from tracereel.constants import API_PREFIX
from tracereel.contracts.audit import AuditEntry, AuditLog
from tracereel.contracts.errors import errors

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX, dependencies=[require_role("admin")], responses=errors(400, 401, 403))


@router.get("/audit", summary="Admin actions, newest first", response_model=AuditLog)
async def audit(request: Request, limit: int = Query(100, ge=1, le=10_000)) -> AuditLog:
    """``{"entries": [{"time", "key_id", "action", "target", "detail"}]}``.

    The actions: keys created and revoked, data deleted, switches flipped.
    """
    rows = await run_in_threadpool(read_audit, request.app.state.store, limit=limit)
    return AuditLog(
        entries=[
            AuditEntry(
                time=r.time.isoformat(), key_id=r.key_id or None, action=r.action, target=r.target, detail=r.detail
            )
            for r in rows
        ]
    )
