"""The HTTP API: one router module per resource, over ``ingest`` and ``query``."""

from fastapi import APIRouter

from tracereel.collector.api import deletions, docs, evals, health, metrics, monitors, otlp, traces

__all__ = ["OPEN_PATHS", "OPEN_ROUTERS", "ROUTERS"]

# Every router the collector serves, in order. Each needs the API key (when one is set)
# unless it is also in OPEN_ROUTERS: a new resource adds its router here and is protected.
ROUTERS: list[APIRouter] = [
    otlp.router,
    health.router,
    traces.router,
    deletions.router,
    metrics.router,
    evals.router,
    monitors.router,
    docs.router,
]
# Open to anyone: liveness, for load balancers and orchestrators that hold no key.
OPEN_ROUTERS: list[APIRouter] = [health.router]
OPEN_PATHS: frozenset[str] = frozenset(route.path for router in OPEN_ROUTERS for route in router.routes)
