"""Failure clusters: ``GET /api/v1/clusters`` (DESIGN.md "Production loop")."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Final

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from tracereel.collector.api.auth import read_scope, require_role
from tracereel.collector.control import Principal
from tracereel.collector.query import ParamError, TaskFilter, failure_clusters
from tracereel.constants import API_PREFIX
from tracereel.contracts.clusters import EXAMPLES, MAX_EXAMPLES, Clusters
from tracereel.contracts.errors import errors
from tracereel.durations import parse_duration

__all__ = ["MAX_WINDOW", "router", "window_filter"]

router = APIRouter(prefix=API_PREFIX)

# The trend reads the window before too: two years of failures at most.
MAX_WINDOW: Final = timedelta(days=366)
# Declared in the OpenAPI document only (a positive number, a unit): parse_duration checks it, with its message.
_WINDOW_PATTERN: Final = (
    r"^([1-9][0-9]{0,6}s?|[1-9][0-9]{0,4}m|[1-9][0-9]{0,2}h|([1-9][0-9]?|[12][0-9]{2}|3[0-5][0-9]|36[0-6])d)$"
)


def window_filter(window: str, agent: str | None, now: datetime | None = None) -> TaskFilter:
    """The tasks of the last ``window`` (``24h``, ``7d``, seconds), of ``agent`` if given; ParamError if malformed."""
    try:
        seconds = parse_duration(window)
    except ValueError as exc:
        raise ParamError(f"window={window!r}: {exc}") from None
    if seconds > MAX_WINDOW.total_seconds():
        raise ParamError(f"window={window!r} is longer than {MAX_WINDOW.days} days")
    end = now or datetime.now(timezone.utc)
    return TaskFilter(start=end - timedelta(seconds=seconds), end=end, agent=agent or None)


@router.get(
    "/clusters",
    summary="Failing tasks grouped into clusters",
    response_model=Clusters,
    responses=errors(400, 401, 403),
)
async def clusters(
    request: Request,
    window: str = Query(
        "24h",
        description="How far back: 90s, 30m, 24h, 7d, at most 366d (the trend compares the window before)",
        json_schema_extra={"pattern": _WINDOW_PATTERN},
    ),
    agent: str | None = Query(None, description="Only the tasks of this agent"),
    examples: int = Query(EXAMPLES, ge=1, le=MAX_EXAMPLES, description="Trace ids listed per cluster, newest first"),
    principal: Principal = require_role("read"),
) -> Clusters:
    """The failing tasks of the window the key may see, grouped by signature, then by text, largest first."""
    flt = window_filter(window, agent)
    found = await run_in_threadpool(
        failure_clusters,
        request.app.state.store,
        flt,
        read_scope(principal),
        examples=examples,
    )
    return Clusters.model_validate({"clusters": found})
