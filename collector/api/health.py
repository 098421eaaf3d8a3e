"""``GET /healthz``: liveness and store status, open without an API key (for load balancers)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from tracereel.collector.ingest import ParsePool
from tracereel.collector.store import Store
from tracereel.constants import HEALTH_PATH

__all__ = ["router"]

router = APIRouter()


@router.get(HEALTH_PATH, summary="Liveness and store status")
async def healthz(request: Request) -> dict[str, Any]:
    """Say the collector is up, which store it writes to, how much it has stored and redacted.

    ``redactions`` counts, per kind, the values replaced since the collector started
    (``null`` when redaction is off), so an operator sees what the rules catch.
    """
    inserter = request.app.state.inserter
    store: Store = request.app.state.store
    parser: ParsePool = request.app.state.parser
    return {
        "status": "ok",
        "store": "chdb" if store.embedded else "clickhouse",
        "stored_spans": inserter.stored_spans,
        "pending_spans": inserter.pending_spans,
        "inserts": inserter.inserts,
        "redactions": None if parser.redactor is None else dict(sorted(parser.redactions.items())),
    }
