"""The canary verdict: ``GET /api/v1/compare`` (DESIGN.md "Gates and monitors"; ``tracereel gate`` reads it)."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from tracereel.collector.api.auth import current_principal, read_scope
from tracereel.collector.api.deps import price_table
from tracereel.collector.control import Principal
from tracereel.collector.query import (
    MIN_SAMPLES,
    ParamError,
    TaskFilter,
    compare_versions,
    parse_compare_metrics,
    parse_metrics_window,
    parse_tolerances,
)
from tracereel.constants import API_PREFIX
from tracereel.contracts.compare import Comparison
from tracereel.contracts.errors import errors

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX)

# Blank names are refused below with a message; the document says so, for clients that generate requests.
_NOT_BLANK: Final[dict[str, Any]] = {"json_schema_extra": {"pattern": r"\S"}}


@router.get(
    "/compare",
    response_model=Comparison,
    responses=errors(400, 401, 403),
    summary="Canary verdict: one version of an agent against another, with statistics",
)
async def compare(
    request: Request,
    agent: str = Query(..., description="The task's agent (tracereel/rules.py)", **_NOT_BLANK),
    baseline: str = Query(..., description="The stable version (gen_ai.agent.version)", **_NOT_BLANK),
    canary: str = Query(..., description="The version under test", **_NOT_BLANK),
    from_: str | None = Query(None, alias="from", description="ISO-8601 or unix seconds; default: 24 h before `to`"),
    to: str | None = Query(None, description="ISO-8601 or unix seconds; default: now"),
    service: str | None = Query(None, description="Only tasks whose root span has this service.name"),
    metrics: str | None = Query(None, description="Comma-separated metric keys; default: the gate's default set"),
    tolerance: list[str] = Query([], description="METRIC=X (metric's unit) or METRIC=X% (of the baseline); repeat"),
    min_samples: int = Query(MIN_SAMPLES, ge=2, description="Tasks (and units) each version needs per metric"),
    principal: Principal = Depends(current_principal),
) -> Comparison:
    """``{"verdict", "message", "metrics": {NAME: {"verdict", "baseline", "canary", "effect", "ci", "p_value", ...}}}``.

    Verdict ``promote``, ``fail`` (a metric significantly worse beyond its tolerance) or
    ``inconclusive`` (too little data; ``needed_tasks`` estimates how many more canary tasks).
    A metric's ``p_value`` is one-sided and corrected for the number of metrics; its ``ci`` is at
    the same level, so it excludes 0 exactly when the metric is ``better`` or ``worse``.
    """
    if not agent.strip() or not baseline.strip() or not canary.strip():
        raise ParamError("agent, baseline and canary must not be empty")
    if baseline == canary:
        raise ParamError(f"baseline and canary are the same version ({baseline!r})")
    start, end = parse_metrics_window(from_, to)
    keys = parse_compare_metrics(metrics)
    tolerances = parse_tolerances(tolerance, keys)
    flt = TaskFilter(start=start, end=end, service=service or None, agent=agent)
    return await run_in_threadpool(
        compare_versions,
        request.app.state.store,
        price_table(request),
        flt,
        baseline,
        canary,
        read_scope(principal),
        metrics=keys,
        tolerances=tolerances,
        min_samples=min_samples,
    )
