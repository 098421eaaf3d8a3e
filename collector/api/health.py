"""``GET /healthz``: liveness and store status, open without an API key (for load balancers)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from tracereel.collector.store import Store
from tracereel.constants import HEALTH_PATH

__all__ = ["router"]

router = APIRouter()


@router.get(HEALTH_PATH, summary="Liveness and store status")
async def healthz(request: Request) -> dict[str, Any]:
    """Say the collector is up, which store it writes to, and how much it has stored."""
    inserter = request.app.state.inserter
    store: Store = request.app.state.store
    return {
        "status": "ok",
        "store": "chdb" if store.embedded else "clickhouse",
        "stored_spans": inserter.stored_spans,
        "pending_spans": inserter.pending_spans,
        "inserts": inserter.inserts,
    }
