"""One agent's versions with a helpfulness score per task, through the real SDK (for the score.NAME tests)."""

from __future__ import annotations

import tracereel
from tests.conftest import RunningCollector
from tests.support import wait_until
from tracereel.client import CollectorClient
from tracereel.contracts.scores import ScoreIn

__all__ = ["BAD", "GOOD", "TASKS", "per_task", "run_version"]

TASKS = 24
# Helpfulness per task: the baseline's and an equal version's are the same values, the bad canary's lower.
GOOD = [0.9, 0.8, 1.0, 0.7, 0.85, 0.95]
BAD = [0.3, 0.5, 0.2, 0.6, 0.4, 0.35]


def per_task(pattern: list[float]) -> list[float]:
    """``pattern`` repeated over TASKS tasks."""
    return [pattern[i % len(pattern)] for i in range(TASKS)]


def run_version(running: RunningCollector, version: str, helpfulness: list[float], *, via_api: bool) -> list[str]:
    """One task per value; the score comes from the SDK, or is posted through the API when ``via_api``."""

    @tracereel.agent(name="scored-canary", version=version)
    def task(value: float) -> str | None:
        if not via_api:
            tracereel.score("helpfulness", value)
        return tracereel.current_trace_id()

    tracereel.configure(service_name="gate-test", endpoint=running.url, schedule_delay_millis=50)
    try:
        ids = [task(v) for v in helpfulness]
        assert tracereel.flush()
    finally:
        tracereel.shutdown()
    trace_ids = [i for i in ids if i is not None]
    with running.client() as http:
        wait_until(
            lambda: (
                {t["trace_id"] for t in http.get("/api/v1/traces", params={"limit": 1000}).json()["traces"]}
                >= set(trace_ids)
            ),
            f"version {version}'s traces are stored",
        )
    if via_api:
        CollectorClient(running.url).post_scores(
            [ScoreIn(trace_id=t, name="helpfulness", value=v) for t, v in zip(trace_ids, helpfulness, strict=True)]
        )
    return trace_ids
