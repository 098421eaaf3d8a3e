"""The demo's simulated user feedback (tracereel/demo/feedback.py) on a real collector.

The demo runs for real; its users' thumbs-up and -down arrive as scores of source ``feedback`` on
its traces, reach the metrics' ``scores``, and a second posting replaces the first.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tracereel.demo import run_demo
from tracereel.demo.feedback import FEEDBACK_NAME, add_feedback, plan_feedback
from tracereel.rules import negative_feedback

pytestmark = pytest.mark.e2e


def test_simulated_users_vote_on_the_demos_tasks_and_a_rerun_replaces_their_votes(collector: Any) -> None:
    result = run_demo(collector.url, tasks=60, seed=7, spread_hours=0)
    planned = plan_feedback(result)
    outcome = dict(zip(result.trace_ids, result.outcomes, strict=True))
    down = [s for s in planned if negative_feedback(s.value)]
    up = [s for s in planned if not negative_feedback(s.value)]
    # Thumbs-down mostly on tasks that did not succeed, thumbs-up only on ones that did.
    assert down and up
    assert all(outcome[s.trace_id] == "succeeded" for s in up)
    assert sum(outcome[s.trace_id] != "succeeded" for s in down) > len(down) / 2
    assert plan_feedback(result) == planned  # the same seed, the same votes

    line = add_feedback(result)
    assert line == f"tracereel demo: {len(planned)} simulated user feedbacks ({len(down)} thumbs-down, {len(up)} up)"
    assert add_feedback(result) == line  # posted again: each vote replaces itself

    with httpx.Client(base_url=collector.url) as http:
        stats = http.get("/api/v1/metrics").json()["scores"][FEEDBACK_NAME]
        voted = http.get(f"/api/v1/traces/{down[0].trace_id}").json()["scores"]
    assert stats == {"count": len(planned), "mean": pytest.approx((len(up) - len(down)) / len(planned))}
    [vote] = [s for s in voted if s["name"] == FEEDBACK_NAME]
    assert (vote["value"], vote["source"], vote["comment"]) == (-1.0, "feedback", down[0].comment)
    assert vote["author"].startswith("demo-user-")
