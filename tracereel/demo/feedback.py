"""The demo's simulated user feedback: thumbs-down on some failed tasks, thumbs-up on some good ones.

Posted through :class:`~tracereel.client.CollectorClient` as scores of source ``feedback``
(name ``user_feedback``, +1 or -1), the way an app's ``tracereel.feedback`` calls arrive, so the
Overview's score trends, the metrics' ``scores`` and the review queues and clusters built on
negative feedback have data on a fresh clone. The same seed gives the same feedback; each has an
id made from its trace, so running the demo's feedback twice replaces it instead of doubling it.
"""

from __future__ import annotations

import random
from typing import Final

from tracereel.client import CollectorClient, CollectorError
from tracereel.contracts.scores import MAX_BATCH, ScoreIn
from tracereel.demo.runner import DemoResult
from tracereel.rules import negative_feedback

__all__ = ["FEEDBACK_NAME", "add_feedback", "plan_feedback"]

FEEDBACK_NAME: Final = "user_feedback"
# How often a simulated user bothers to vote, by what happened to them.
_DOWN_WHEN_FAILED: Final = 0.45
_UP_WHEN_SUCCEEDED: Final = 0.2
_DOWN_WHEN_SUCCEEDED: Final = 0.03  # some users dislike a correct answer
_COMMENTS_DOWN: Final = (
    "That is not what I asked for.",
    "The answer was wrong about my order.",
    "It never finished; I had to call support.",
    "Refund amount was incorrect.",
)
_COMMENTS_UP: Final = ("Quick and correct, thanks!", "Solved my problem.", None)


def plan_feedback(result: DemoResult) -> list[ScoreIn]:
    """The feedback the demo's simulated users give on ``result``'s tasks (deterministic by its seed)."""
    rng = random.Random(result.seed * 7919 + 18)
    scores: list[ScoreIn] = []
    for index, (trace_id, outcome) in enumerate(zip(result.trace_ids, result.outcomes, strict=True)):
        roll = rng.random()
        if outcome != "succeeded" and roll < _DOWN_WHEN_FAILED:
            value, comment = -1.0, rng.choice(_COMMENTS_DOWN)
        elif outcome == "succeeded" and roll < _UP_WHEN_SUCCEEDED:
            value, comment = 1.0, rng.choice(_COMMENTS_UP)
        elif outcome == "succeeded" and roll > 1 - _DOWN_WHEN_SUCCEEDED:
            value, comment = -1.0, rng.choice(_COMMENTS_DOWN)
        else:
            continue
        scores.append(
            ScoreIn(
                trace_id=trace_id,
                name=FEEDBACK_NAME,
                value=value,
                comment=comment,
                source="feedback",
                author=f"demo-user-{index % 37:02d}",
                id=f"demo-feedback:{trace_id}",
            )
        )
    return scores


def add_feedback(result: DemoResult, api_key: str | None = None) -> str:
    """Post the simulated feedback on ``result``'s traces; one line saying what was sent, or why not.

    The traces are already sent and this is an extra: a failure is the returned line, never an error.
    """
    scores = plan_feedback(result)
    try:
        client = CollectorClient(result.endpoint, api_key=api_key)
        for start in range(0, len(scores), MAX_BATCH):
            client.post_scores(scores[start : start + MAX_BATCH])
    except CollectorError as exc:
        return f"warning: the demo's user feedback was not sent: {str(exc).splitlines()[0] if str(exc) else exc!r}"
    down = sum(negative_feedback(s.value) for s in scores)
    return f"tracereel demo: {len(scores)} simulated user feedbacks ({down} thumbs-down, {len(scores) - down} up)"
