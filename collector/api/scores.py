"""Scores: ``POST /api/v1/scores`` and ``POST /api/v1/scores/batch`` (DESIGN.md "Production loop").

An ingest or admin key posts judgements of traces: user feedback, an online rule's scores, a
script's. The team is the trace's, which the key must be able to see: a score for an unknown
trace, or another team's, is a 404 and nothing is stored. A body that does not fit
:class:`~tracereel.contracts.scores.ScoreIn` is a 422 naming the field.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from tracereel.collector.api.auth import read_scope, require_role
from tracereel.collector.control import Principal
from tracereel.collector.query import UnknownTrace, store_scores
from tracereel.constants import API_PREFIX
from tracereel.contracts.errors import errors
from tracereel.contracts.scores import ScoreBatch, ScoreIn, ScoresStored

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX)


async def _store(request: Request, scores: list[ScoreIn], principal: Principal) -> ScoresStored:
    try:
        stored = await run_in_threadpool(store_scores, request.app.state.store, scores, read_scope(principal))
    except UnknownTrace as exc:
        raise HTTPException(404, str(exc)) from None
    return ScoresStored(scores=stored)


@router.post(
    "/scores",
    summary="Score a trace",
    status_code=201,
    response_model=ScoresStored,
    responses=errors(400, 401, 403, 404, 422),
)
async def post_score(request: Request, score: ScoreIn, principal: Principal = require_role("ingest")) -> ScoresStored:
    """Store one judgement of a trace the key may see; a score posted again under its ``id`` replaces it."""
    return await _store(request, [score], principal)


@router.post(
    "/scores/batch",
    summary="Score traces in bulk",
    status_code=201,
    response_model=ScoresStored,
    responses=errors(400, 401, 403, 404, 422),
)
async def post_scores(
    request: Request, batch: ScoreBatch, principal: Principal = require_role("ingest")
) -> ScoresStored:
    """Store up to 1000 judgements at once, all or none: one unknown trace refuses the batch (404 naming it)."""
    return await _store(request, batch.scores, principal)
