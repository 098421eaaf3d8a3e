"""The metrics API: ``/api/v1/metrics``, ``/api/v1/metrics/timeseries``, ``/api/v1/metrics/breakdown``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from tracereel.collector.api.auth import read_scope, require_role
from tracereel.collector.api.deps import price_table
from tracereel.collector.control import Principal
from tracereel.collector.query import (
    BREAKDOWNS,
    METRIC_KEYS,
    TaskFilter,
    breakdown,
    parse_bucket,
    parse_metrics_window,
    summary,
    timeseries,
)
from tracereel.constants import API_PREFIX

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX)


def _filter(
    from_: str | None, to: str | None, service: str | None, agent: str | None, version: str | None
) -> TaskFilter:
    start, end = parse_metrics_window(from_, to)
    return TaskFilter(start=start, end=end, service=service or None, agent=agent or None, version=version or None)


_FROM = Query(None, alias="from", description="ISO-8601 or unix seconds; default: 24 hours before `to`")
_TO = Query(None, description="ISO-8601 or unix seconds; default: now")
_SERVICE = Query(None, description="Only tasks whose root span has this service.name")
_AGENT = Query(None, description="Only tasks whose root agent has this gen_ai.agent.name")
_VERSION = Query(None, description="Only tasks whose root agent has this gen_ai.agent.version")


@router.get("/metrics", summary="Every agent metric over a window")
async def metrics(
    request: Request,
    from_: str | None = _FROM,
    to: str | None = _TO,
    service: str | None = _SERVICE,
    agent: str | None = _AGENT,
    version: str | None = _VERSION,
    principal: Principal = require_role("read"),
) -> dict[str, Any]:
    """The metrics of DESIGN.md for tasks whose root span starts in [from, to)."""
    flt = _filter(from_, to, service, agent, version)
    prices = price_table(request)
    return await run_in_threadpool(summary, request.app.state.store, prices, flt, read_scope(principal))


@router.get("/metrics/timeseries", summary="Metrics per time bucket")
async def metrics_timeseries(
    request: Request,
    metric: str | None = Query(None, description="One metric key; default: all of them"),
    bucket: str | None = Query(None, description="Bucket size: seconds or 30s/5m/1h/1d; default: about 48 buckets"),
    from_: str | None = _FROM,
    to: str | None = _TO,
    service: str | None = _SERVICE,
    agent: str | None = _AGENT,
    version: str | None = _VERSION,
    principal: Principal = require_role("read"),
) -> dict[str, Any]:
    """``{"bucket_seconds", "points": [{"start", <metrics>}]}``, every bucket of the window, oldest first."""
    if metric is not None and metric not in METRIC_KEYS:
        raise HTTPException(400, f"metric={metric!r} is not a metric; expected one of {', '.join(METRIC_KEYS)}")
    flt = _filter(from_, to, service, agent, version)
    seconds = parse_bucket(bucket, flt.start, flt.end)
    prices = price_table(request)
    wanted = (metric,) if metric else METRIC_KEYS
    points = await run_in_threadpool(
        timeseries, request.app.state.store, prices, flt, seconds, wanted, read_scope(principal)
    )
    return {"bucket_seconds": seconds, "points": points}


@router.get("/metrics/breakdown", summary="Metrics by model, tool or agent")
async def metrics_breakdown(
    request: Request,
    by: str = Query(..., description="model (cost, tokens), tool (outcome rates) or agent (all metrics by version)"),
    from_: str | None = _FROM,
    to: str | None = _TO,
    service: str | None = _SERVICE,
    agent: str | None = _AGENT,
    version: str | None = _VERSION,
    principal: Principal = require_role("read"),
) -> dict[str, Any]:
    """Rows of ``{<by>: name, ...metrics}``: cost by model, error rates by tool, latency (and all) by agent."""
    if by not in BREAKDOWNS:
        raise HTTPException(400, f"by={by!r}: expected one of {', '.join(BREAKDOWNS)}")
    flt = _filter(from_, to, service, agent, version)
    prices = price_table(request)
    rows = await run_in_threadpool(breakdown, request.app.state.store, prices, flt, by, read_scope(principal))
    return {"by": by, "rows": rows}


@router.get("/prices", summary="The price table in use", dependencies=[require_role("read")])
async def prices(request: Request) -> dict[str, Any]:
    """USD per million tokens by model: the built-in defaults merged with ``TRACEREEL_PRICES``."""
    return {"prices": price_table(request).as_dict()}
