"""The HTTP API: one router module per resource, over ``ingest`` and ``query``."""

from fastapi import APIRouter
from fastapi.routing import APIRoute

from tracereel.collector.api import (
    audit,
    clusters,
    compare,
    deletions,
    docs,
    evals,
    health,
    keys,
    metrics,
    monitors,
    online,
    otlp,
    review,
    scores,
    switches,
    traces,
)

__all__ = ["OPEN_PATHS", "OPEN_ROUTERS", "READ_AFTER_WRITE_ROUTERS", "ROUTERS"]

# Every router the collector serves, in order. Each needs the API key (when one is set)
# unless it is also in OPEN_ROUTERS: a new resource adds its router here and is protected.
ROUTERS: list[APIRouter] = [
    otlp.router,
    health.router,
    traces.router,
    deletions.router,
    metrics.router,
    compare.router,
    evals.router,
    scores.router,
    clusters.router,
    keys.router,
    audit.router,
    switches.router,
    monitors.router,
    online.router,
    review.router,
    docs.router,
]
# Open to anyone: liveness, for load balancers and orchestrators that hold no key.
OPEN_ROUTERS: list[APIRouter] = [health.router]
# Reads (and deletes) of stored spans, and scores of them: each first waits for the spans acknowledged before it
# to be stored (consistency.py), so a client reads what it wrote.
READ_AFTER_WRITE_ROUTERS: list[APIRouter] = [
    traces.router,
    deletions.router,
    metrics.router,
    evals.router,
    scores.router,
    review.router,
    clusters.router,
]
OPEN_PATHS: frozenset[str] = frozenset(
    route.path for router in OPEN_ROUTERS for route in router.routes if isinstance(route, APIRoute)
)
