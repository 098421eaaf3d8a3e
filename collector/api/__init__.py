"""The HTTP API: one router module per resource, over ``ingest`` and ``query``."""

from tracereel.collector.api import health, metrics, otlp, traces

__all__ = ["ROUTERS"]

# Every router the collector serves; a new resource adds its module here.
ROUTERS = [otlp.router, health.router, traces.router, metrics.router]
