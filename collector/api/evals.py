"""Eval run history: ``POST /api/v1/evals/runs``, ``GET /api/v1/evals/runs`` and ``GET /api/v1/evals/runs/{run_id}``.

``tracereel eval`` uploads its report (``EvalReport.to_dict()``) here; the dashboard's
Evaluations page and ``--baseline`` read it back. Bad input changes nothing: 415 for a body
that is not JSON by its type, 413 over ``max_eval_report_bytes`` (after decompression), 400
naming the field, 409 for a different report under a stored run id. Posting the same report
again answers 200 (201 the first time), so a retried upload is safe.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tracereel.collector.api.auth import read_scope, require_role
from tracereel.collector.control import Principal
from tracereel.collector.ingest import BodyError, decompress, read_capped
from tracereel.collector.query import (
    RUN_ID_PATTERN,
    EvalReportError,
    EvalRunConflict,
    get_eval_run,
    list_eval_runs,
    parse_eval_report,
    store_eval_run,
)
from tracereel.collector.settings import CollectorSettings
from tracereel.constants import API_PREFIX, JSON

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX)


@router.post("/evals/runs", summary="Store an eval run's report", status_code=201)
async def upload_eval_run(request: Request, principal: Principal = require_role("ingest")) -> JSONResponse:
    """Store the report of one ``tracereel eval`` run as the key's team's; answers ``{"run_id"}``."""
    settings: CollectorSettings = request.app.state.settings
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JSON:
        raise HTTPException(415, f"unsupported Content-Type {content_type or '(none)'!r}: send the report as {JSON}")
    limit = settings.max_eval_report_bytes
    try:
        declared = int(request.headers.get("content-length") or 0)
    except ValueError:
        raise HTTPException(400, "Content-Length is not a number") from None
    try:
        if declared > limit:
            raise BodyError(413, f"request body is larger than the limit of {limit} bytes")
        raw = await read_capped(request.stream(), limit)
        body = decompress(raw, request.headers.get("content-encoding", ""), limit)
    except BodyError as exc:
        raise HTTPException(exc.status, exc.message) from None
    try:
        run = parse_eval_report(body)
        created = await run_in_threadpool(store_eval_run, request.app.state.store, run, principal.team or "")
    except EvalReportError as exc:
        raise HTTPException(400, f"invalid eval report: {exc}") from None
    except EvalRunConflict as exc:
        raise HTTPException(409, str(exc)) from None
    return JSONResponse({"run_id": run.run_id}, status_code=201 if created else 200)


@router.get("/evals/runs", summary="List eval runs, newest first")
async def eval_runs(
    request: Request,
    dataset: str | None = Query(None, description="only the runs of this dataset"),
    limit: int = Query(100, ge=1, le=1000),
    principal: Principal = require_role("read"),
) -> dict[str, Any]:
    """Summaries of stored runs (no cases): run id, dataset, start, pass rate, mean scores, counts, gate."""
    rows = await run_in_threadpool(
        list_eval_runs, request.app.state.store, dataset=dataset or None, limit=limit, scope=read_scope(principal)
    )
    return {"runs": rows}


@router.get("/evals/runs/{run_id}", summary="One eval run's report")
async def eval_run(request: Request, run_id: str, principal: Principal = require_role("read")) -> dict[str, Any]:
    """The report as it was posted; 404 if no run has this id (or none the key may see: the same 404)."""
    found = None
    if RUN_ID_PATTERN.match(run_id):
        found = await run_in_threadpool(get_eval_run, request.app.state.store, run_id, read_scope(principal))
    if found is None:
        raise HTTPException(404, f"no eval run with id {run_id} in the store")
    return found
