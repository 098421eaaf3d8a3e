"""The metrics API: ``/api/v1/metrics``, ``/api/v1/metrics/timeseries``, ``/api/v1/metrics/breakdown``."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from tracereel.catalog import SCORE_METRIC_PREFIX, score_metric
from tracereel.collector.api.auth import read_scope, require_role
from tracereel.collector.api.deps import price_table
from tracereel.collector.control import Principal
from tracereel.collector.query import (
    METRIC_KEYS,
    TaskFilter,
    breakdown,
    parse_bucket,
    parse_metrics_window,
    summary,
    timeseries,
)
from tracereel.constants import API_PREFIX
from tracereel.contracts.errors import errors
from tracereel.contracts.metrics import Breakdown, BreakdownBy, Metrics, Timeseries
from tracereel.contracts.prices import PriceList

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


# Every metric route: a bad parameter, the key, and a broken TRACEREEL_PRICES file (500 naming it).
_ERRORS = errors(400, 401, 403, 500)


@router.get("/metrics", summary="Every agent metric over a window", response_model=Metrics, responses=_ERRORS)
async def metrics(
    request: Request,
    from_: str | None = _FROM,
    to: str | None = _TO,
    service: str | None = _SERVICE,
    agent: str | None = _AGENT,
    version: str | None = _VERSION,
    principal: Principal = require_role("read"),
) -> Metrics:
    """The metrics of DESIGN.md for tasks whose root span starts in [from, to)."""
    flt = _filter(from_, to, service, agent, version)
    prices = price_table(request)
    values = await run_in_threadpool(summary, request.app.state.store, prices, flt, read_scope(principal))
    return Metrics.model_validate(values)


@router.get(
    "/metrics/timeseries",
    summary="Metrics per time bucket",
    response_model=Timeseries,
    # A point holds only the metrics asked for.
    response_model_exclude_unset=True,
    responses=_ERRORS,
)
async def metrics_timeseries(
    request: Request,
    metric: str | None = Query(
        None,
        description="One metric key, or score.NAME (a score's mean per bucket); default: all of them and every score",
    ),
    bucket: str | None = Query(None, description="Bucket size: seconds or 30s/5m/1h/1d; default: about 48 buckets"),
    from_: str | None = _FROM,
    to: str | None = _TO,
    service: str | None = _SERVICE,
    agent: str | None = _AGENT,
    version: str | None = _VERSION,
    principal: Principal = require_role("read"),
) -> Timeseries:
    """``{"bucket_seconds", "points": [{"start", <metrics>}]}``, every bucket of the window, oldest first."""
    if metric is not None and metric not in METRIC_KEYS and score_metric(metric) is None:
        raise HTTPException(
            400,
            f"metric={metric!r} is not a metric; expected one of {', '.join(METRIC_KEYS)}"
            f" or {SCORE_METRIC_PREFIX}NAME (a score name: a letter, then letters, digits or _ . -)",
        )
    flt = _filter(from_, to, service, agent, version)
    seconds = parse_bucket(bucket, flt.start, flt.end)
    prices = price_table(request)
    wanted = (metric,) if metric else METRIC_KEYS
    points = await run_in_threadpool(
        partial(timeseries, with_scores=metric is None),
        request.app.state.store,
        prices,
        flt,
        seconds,
        wanted,
        read_scope(principal),
    )
    return Timeseries.model_validate({"bucket_seconds": seconds, "points": points})


@router.get(
    "/metrics/breakdown", summary="Metrics by model, tool or agent", response_model=Breakdown, responses=_ERRORS
)
async def metrics_breakdown(
    request: Request,
    by: BreakdownBy = Query(
        ..., description="model (cost, tokens), tool (outcome rates), agent (all metrics by version) or service"
    ),
    from_: str | None = _FROM,
    to: str | None = _TO,
    service: str | None = _SERVICE,
    agent: str | None = _AGENT,
    version: str | None = _VERSION,
    principal: Principal = require_role("read"),
) -> Any:
    """Rows of ``{<by>: name, ...metrics}``: cost by model, error rates by tool, latency (and all) by agent."""
    flt = _filter(from_, to, service, agent, version)
    prices = price_table(request)
    rows = await run_in_threadpool(breakdown, request.app.state.store, prices, flt, by, read_scope(principal))
    return {"by": by, "rows": rows}  # validated as the Breakdown its `by` names


@router.get(
    "/prices",
    summary="The price table in use",
    dependencies=[require_role("read")],
    response_model=PriceList,
    responses=errors(401, 403, 500),
)
async def prices(request: Request) -> PriceList:
    """USD per million tokens by model: the built-in defaults merged with ``TRACEREEL_PRICES``."""
    return PriceList.model_validate({"prices": price_table(request).as_dict()})
