"""Scores on the wire (DESIGN.md "Production loop"): every judgement of a trace, whoever made it.

- ``POST /api/v1/scores`` takes a :class:`ScoreIn` and answers :class:`ScoresStored`.
- ``POST /api/v1/scores/batch`` takes :class:`ScoreBatch` (up to ``MAX_BATCH`` scores, all or none).
- ``GET /api/v1/traces/{id}`` lists the trace's scores (:class:`Score`, the ``ScoreJSON`` of
  :mod:`tracereel.traces`, re-exported here).

A score's ``id`` is its key: posting a score under an id already stored replaces it, so a client
that retries (the online evaluator, the SDK's feedback) never counts a judgement twice. Without
an id the collector makes one. Sources are ``sdk``, ``feedback``, ``online:RULE``, ``api``;
``review:QUEUE`` scores are written by the review queue's verdict route only.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BeforeValidator, Field

from tracereel.contracts import Request, Response
from tracereel.contracts.traces import TRACE_ID_PATTERN

# The name rule lives beside the score's JSON shape, so the standard-library readers (catalog, monitors) share it.
from tracereel.traces import SCORE_NAME_PATTERN, ScoreJSON, check_score_name

__all__ = [
    "MAX_BATCH",
    "SCORE_ID_PATTERN",
    "SCORE_NAME_PATTERN",
    "SOURCE_PATTERN",
    "Score",
    "ScoreBatch",
    "ScoreIn",
    "ScoresStored",
    "check_score_name",
]

MAX_BATCH: Final = 1000
SCORE_ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+/-]{0,199}$")
# The sources a client may post; review:QUEUE is the review route's own.
SOURCE_PATTERN: Final = re.compile(r"^(sdk|feedback|api|online:[A-Za-z0-9][A-Za-z0-9_.-]{0,99})$")

Score = ScoreJSON


def _score_id(value: str) -> str:
    if not SCORE_ID_PATTERN.match(value):
        raise ValueError("expected 1-200 letters, digits or . _ : @ + / - (starting with a letter or digit)")
    return value


def _source(value: str) -> str:
    if value.startswith("review:"):
        raise ValueError("review scores are written by POST /api/v1/review/queues/{name}/items/{trace_id}")
    if not SOURCE_PATTERN.match(value):
        raise ValueError(f"expected sdk, feedback, api or online:RULE, got {value!r}")
    return value


def _number(value: Any) -> float:
    # One clear message, not one per member of int | float; a string holding a number is refused.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r}")
    return float(value)


def _trace_id(value: str) -> str:
    cleaned = value.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{32}", cleaned):
        raise ValueError(f"expected 32 hex digits, got {value!r}")
    return cleaned


_Name = Annotated[
    str, AfterValidator(check_score_name), Field(json_schema_extra={"pattern": SCORE_NAME_PATTERN.pattern})
]


class ScoreIn(Request):
    """One judgement of one trace, as a client posts it."""

    trace_id: Annotated[
        str,
        AfterValidator(_trace_id),
        Field(description="32 hex digits", json_schema_extra={"pattern": TRACE_ID_PATTERN}),
    ]
    name: _Name = Field(description="What is judged: groundedness, user_feedback, helpfulness...")
    # A number, strictly (a string holding one is refused, naming the field): scores are averaged.
    value: Annotated[float, BeforeValidator(_number)] = Field(
        description="The judgement as a number: a 0..1 score, +1/-1 feedback, 1 pass / 0 fail"
    )
    label: str | None = Field(None, max_length=200, description="A category, if the judgement has one")
    comment: str | None = Field(None, max_length=10_000)
    source: Annotated[str, AfterValidator(_source), Field(json_schema_extra={"pattern": SOURCE_PATTERN.pattern})] = (
        "api"
    )
    author: str | None = Field(None, max_length=200, description="Who judged: a user id, a rule, a reviewer")
    time: datetime | None = Field(None, description="When it was judged (ISO 8601); default: when it arrives")
    id: (
        Annotated[str, AfterValidator(_score_id), Field(json_schema_extra={"pattern": SCORE_ID_PATTERN.pattern})] | None
    ) = Field(None, description="The score's key: a score posted again under it replaces the first")


class ScoreBatch(Request):
    """Several scores in one request, stored all or none."""

    scores: list[ScoreIn] = Field(min_length=1, max_length=MAX_BATCH)


class ScoresStored(Response):
    """What a post answers: the scores as stored (ids and times filled in)."""

    scores: list[Score]
