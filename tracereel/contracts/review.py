"""Review queues on the wire (DESIGN.md "Production loop", docs/review.md).

- ``POST /api/v1/review/queues`` takes :class:`QueueIn` (admin, audited) and answers :class:`Queue`;
  ``GET /api/v1/review/queues`` answers :class:`QueueList`; ``DELETE /api/v1/review/queues/{name}``
  answers :class:`RemovedQueue`.
- ``GET /api/v1/review/queues/{name}/items?state=open|done`` answers :class:`ReviewItems`: the
  traces the queue's expression matches that nobody has reviewed yet (open), or the reviewed ones
  with their verdicts (done).
- ``POST /api/v1/review/queues/{name}/items/{trace_id}`` takes :class:`VerdictIn` and answers
  :class:`VerdictStored`: the verdict is also a score (name ``review``, source ``review:NAME``,
  1 pass / 0 fail, labelled with the verdict). Reviewing again replaces both.

The expression is checked by the collector (its parser is a server dependency): a malformed one
is a 422 whose message names the position and what was expected there.
"""

from __future__ import annotations

import re
from typing import Any, Final, Literal

from pydantic import Field, field_validator

from tracereel.contracts import Request, Response
from tracereel.traces import ScoreJSON

__all__ = [
    "QUEUE_NAME_PATTERN",
    "REVIEW_SCORE_NAME",
    "Queue",
    "QueueIn",
    "QueueList",
    "RemovedQueue",
    "ReviewItem",
    "ReviewItems",
    "Verdict",
    "VerdictIn",
    "VerdictStored",
    "review_source",
]

# A queue's name ends up in a score's source (review:NAME), whose pattern it must fit.
QUEUE_NAME_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
REVIEW_SCORE_NAME: Final = "review"

Verdict = Literal["pass", "fail"]


def review_source(queue: str) -> str:
    """The score source of a verdict given in ``queue``."""
    return f"review:{queue}"


class QueueIn(Request):
    """A queue to add: its name and the expression that picks its traces."""

    name: str = Field(
        json_schema_extra={"pattern": QUEUE_NAME_PATTERN.pattern}, description="1-64 letters, digits or . _ -"
    )
    when: str = Field(
        min_length=1,
        max_length=1000,
        description="Which traces: e.g. 'feedback < 0 or score.groundedness < 0.5' (docs/review.md)",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not QUEUE_NAME_PATTERN.match(value):
            raise ValueError(
                f"{value!r} is not a queue name: 1-64 letters, digits or . _ - (starting with one of the first two)"
            )
        return value


class Queue(Response):
    """A queue as stored: ``when`` normalised (single spaces), ``team`` None for an admin's queue over every team."""

    name: str
    when: str
    team: str | None = None
    created_at: str


class QueueList(Response):
    """The queues the caller may see, by name."""

    queues: list[Queue]


class RemovedQueue(Response):
    """What a removal answers; the queue's verdicts stay (they are scores)."""

    removed: str


class ReviewItem(Response):
    """A trace in a queue: why it is there (the first clause of the expression it matched) and when it ran.

    A done item also carries its verdict, the expected value and the note.
    """

    trace_id: str
    reason: str
    time: str
    verdict: Verdict | None = None
    expected: Any = None
    note: str | None = None
    author: str | None = None
    reviewed_at: str | None = None


class ReviewItems(Response):
    """A queue's items, newest first."""

    queue: str
    state: Literal["open", "done"]
    items: list[ReviewItem]


class VerdictIn(Request):
    """A reviewer's verdict on one trace of a queue."""

    verdict: Verdict
    expected: Any = Field(
        None, description="What the agent should have answered (any JSON); the golden case's expected"
    )
    note: str | None = Field(None, max_length=10_000)
    author: str | None = Field(None, max_length=200, description="Who reviewed (default: the key's id)")


class VerdictStored(Response):
    """A verdict as stored, with the score that records it."""

    queue: str
    trace_id: str
    verdict: Verdict
    expected: Any = None
    note: str | None = None
    score: ScoreJSON
