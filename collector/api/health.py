"""``GET /healthz``: liveness and store status, open without an API key (for load balancers)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from tracereel.collector.ingest import ParsePool
from tracereel.collector.ingest.accept import IngestPath
from tracereel.collector.ingest.drain import Drainer
from tracereel.collector.ingest.wal import WriteAheadLog
from tracereel.collector.store import Store
from tracereel.constants import HEALTH_PATH
from tracereel.contracts.health import Health

__all__ = ["router"]

router = APIRouter()


@router.get(HEALTH_PATH, summary="Liveness and store status", response_model=Health)
async def healthz(request: Request) -> Health:
    """Say the collector is up, which store it writes to, how much it has stored and redacted.

    ``log`` is the write-ahead log: ``depth_bytes``/``depth_records`` acknowledged but not yet
    stored, ``lag_seconds``, the age of the oldest of them, and ``stored_lag_seconds``, the time
    from ack to stored (p50, p99, max) of the latest 10,000 requests, and ``drain_interval_seconds``,
    the least time between two inserts under load. ``store_error`` is set while the
    store refuses writes (the spans wait in the log). ``redactions`` counts, per kind, the values
    replaced since the collector started (``null`` when redaction is off).
    """
    drainer: Drainer = request.app.state.drainer
    log: WriteAheadLog = request.app.state.log
    ingest: IngestPath = request.app.state.ingest
    store: Store = request.app.state.store
    parser: ParsePool = request.app.state.parser
    return Health.model_validate(
        {
            "status": "ok",
            "store": "chdb" if store.embedded else "clickhouse",
            "stored_spans": drainer.stored_spans,
            "inserts": drainer.inserts,
            "store_error": drainer.last_error,
            "duplicate_spans_dropped": ingest.recent.dropped,
            "log": {
                "depth_bytes": log.undrained_bytes,
                "depth_records": log.undrained_records,
                "lag_seconds": round(log.lag_seconds(), 3),
                "max_bytes": log.max_bytes,
                "drain_interval_seconds": drainer.interval,
                "stored_lag_seconds": drainer.stored_lag(),
            },
            "redactions": None if parser.redactor is None else dict(sorted(parser.redactions.items())),
        }
    )
