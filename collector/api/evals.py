"""Eval run history: ``POST /api/v1/evals/runs``, ``GET /api/v1/evals/runs`` and ``GET /api/v1/evals/runs/{run_id}``.

``tracereel eval`` uploads its report here; the dashboard's Evaluations page and ``--baseline``
read it back. The shapes are :mod:`tracereel.contracts.evals`. Bad input changes nothing: 415
for a body that is not JSON by its type, 413 over ``max_eval_report_bytes`` (after
decompression), 400 naming the field, 409 for a different report under a stored run id.
Posting the same report again answers 200 (201 the first time), so a retried upload is safe.
The body is read by hand (size cap, gzip) and checked against the model; the route declares
the model as its body, so the OpenAPI document shows it.
"""

from __future__ import annotations

from typing import Any, cast

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
from tracereel.contracts.errors import errors
from tracereel.contracts.evals import EvalReport, EvalReportUpload, EvalRunList, EvalRunStored

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX)


def _inlined(schema: Any, defs: dict[str, Any]) -> Any:
    """``schema`` with each ``$ref`` to its ``$defs`` replaced by the definition (the report's models
    do not nest themselves, so this ends); a body schema in the document must not point at ``$defs``."""
    if isinstance(schema, dict):
        node = cast(dict[str, Any], schema)
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inlined(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inlined(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inlined(v, defs) for v in cast(list[Any], schema)]
    return schema


_UPLOAD_SCHEMA = EvalReportUpload.model_json_schema()
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {JSON: {"schema": _inlined(_UPLOAD_SCHEMA, _UPLOAD_SCHEMA.get("$defs", {}))}},
    }
}


@router.post(
    "/evals/runs",
    summary="Store an eval run's report",
    status_code=201,
    response_model=EvalRunStored,
    responses={
        200: {"model": EvalRunStored, "description": "This report was stored before"},
        **errors(400, 401, 403, 409, 413, 415),
    },
    openapi_extra=_UPLOAD_BODY,
)
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
    stored = EvalRunStored(run_id=run.run_id)
    return JSONResponse(stored.model_dump(mode="json"), status_code=201 if created else 200)


@router.get(
    "/evals/runs", summary="List eval runs, newest first", response_model=EvalRunList, responses=errors(400, 401, 403)
)
async def eval_runs(
    request: Request,
    dataset: str | None = Query(None, description="only the runs of this dataset"),
    limit: int = Query(100, ge=1, le=1000),
    principal: Principal = require_role("read"),
) -> EvalRunList:
    """Summaries of stored runs (no cases): run id, dataset, start, pass rate, mean scores, counts, gate."""
    rows = await run_in_threadpool(
        list_eval_runs, request.app.state.store, dataset=dataset or None, limit=limit, scope=read_scope(principal)
    )
    return EvalRunList(runs=rows)


@router.get(
    "/evals/runs/{run_id}", summary="One eval run's report", response_model=EvalReport, responses=errors(401, 403, 404)
)
async def eval_run(request: Request, run_id: str, principal: Principal = require_role("read")) -> EvalReport:
    """The report as it was posted (status and counts derived for an older client's); 404 if no run
    has this id (or none the key may see: the same 404)."""
    found = None
    if RUN_ID_PATTERN.match(run_id):
        found = await run_in_threadpool(get_eval_run, request.app.state.store, run_id, read_scope(principal))
    if found is None:
        raise HTTPException(404, f"no eval run with id {run_id} in the store")
    return found
