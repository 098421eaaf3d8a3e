"""The demo's review queue: ``tracereel up --demo`` leaves a queue with traces waiting in it (docs/review.md).

The demo's agents grade their own groundedness and some of their tasks fail, so the queue has items
on a fresh store even before any user feedback or online rule is added.
"""

from __future__ import annotations

from typing import Final

from tracereel.client import CollectorClient, CollectorError

__all__ = ["DEMO_QUEUE", "DEMO_WHEN", "add_demo_queue"]

DEMO_QUEUE: Final = "demo-triage"
DEMO_WHEN: Final = "feedback < 0 or score.groundedness < 0.5 or status = error"


def add_demo_queue(endpoint: str, api_key: str | None = None) -> str:
    """Add the demo's review queue at ``endpoint``; one line saying what happened (never raises a collector error).

    A queue of that name left by an earlier demo run is kept as it is.
    """
    client = CollectorClient(endpoint, api_key=api_key)
    try:
        queue = client.add_review_queue(DEMO_QUEUE, DEMO_WHEN)
    except CollectorError as exc:
        if exc.status == 409:
            return f"tracereel demo: review queue {DEMO_QUEUE} is already there"
        return f"tracereel demo: no review queue added: {exc}"
    return f"tracereel demo: review queue {queue.name} added (traces where {queue.when}); open the Review page"
