"""Scores in the metrics (DESIGN.md "Production loop"): ``groundedness_rate`` from any source, and ``scores``.

Ground truth: the test sends two teams' tasks through the real SDK (with ``tracereel.score()``)
to a collector under uvicorn, posts more scores through the API (one later than the SDK's, so it
overrides it; one earlier, so it does not), and computes every expected number itself from what
it sent: per task the latest score of each name, then rates and means over the tasks that have one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import tracereel
from tests.conftest import RunningCollector, start_collector
from tests.support import wait_until
from tracereel.rules import score_passes

ADMIN = "admin-key-for-score-metrics"
# Symbolic times of the scores sent: the SDK's are stamped at their span's end (the run), an API
# score posted "before" is an hour earlier and one posted "after" a minute later.
BEFORE, RUN, AFTER = -3600.0, 0.0, 60.0


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


@dataclass
class Sent:
    """Every score sent for one team's tasks: trace id -> [(symbolic time, name, value)]."""

    scores: dict[str, list[tuple[float, str, float]]] = field(default_factory=dict)

    def latest(self) -> dict[str, dict[str, float]]:
        """Per trace, the value of its latest score of each name."""
        out: dict[str, dict[str, float]] = {}
        for trace_id, scores in self.scores.items():
            for _, name, value in sorted(scores, key=lambda s: s[0]):
                out.setdefault(trace_id, {})[name] = value
        return out

    def expected(self) -> tuple[float | None, dict[str, dict[str, Any]]]:
        """groundedness_rate and ``scores`` as the metrics should answer them."""
        latest = self.latest()
        grounded = [v["groundedness"] for v in latest.values() if "groundedness" in v]
        rate = sum(score_passes(g) for g in grounded) / len(grounded) if grounded else None
        names = sorted({name for v in latest.values() for name in v})
        stats: dict[str, dict[str, Any]] = {}
        for name in names:
            values = [v[name] for v in latest.values() if name in v]
            stats[name] = {"mean": pytest.approx(sum(values) / len(values)), "count": len(values)}
        return rate, stats

    def merged(self, other: Sent) -> Sent:
        return Sent({**self.scores, **other.scores})


@tracereel.agent(name="judged-bot", version="1")
def _judged(sdk_scores: dict[str, float]) -> str | None:
    for name, value in sdk_scores.items():
        tracereel.score(name, value)
    return tracereel.current_trace_id()


@pytest.fixture
def teams(store: Any) -> Iterator[tuple[RunningCollector, dict[str, str]]]:
    """A collector requiring keys, and an ingest and a read key for each of two teams."""
    running, _ = start_collector(store, admin_key=ADMIN)
    keys: dict[str, str] = {}
    with running.client() as http:
        for team in ("alpha", "beta"):
            for role in ("ingest", "read"):
                made = http.post("/api/v1/keys", json={"team": team, "role": role}, headers=_bearer(ADMIN))
                assert made.status_code == 201, made.text
                keys[f"{team}-{role}"] = made.json()["key"]
    yield running, keys
    running.stop()


def _run_tasks(
    running: RunningCollector, key: str, read_key: str, plans: list[dict[str, float]], sent: Sent
) -> list[str]:
    """Run one SDK task per plan (its SDK scores) with the team's ingest key; the trace ids, once stored."""
    tracereel.configure(service_name="scored", endpoint=running.url, api_key=key, schedule_delay_millis=50)
    try:
        ids = [_judged(plan) for plan in plans]
        assert tracereel.flush()
    finally:
        tracereel.shutdown()
    trace_ids = [i for i in ids if i is not None]
    assert len(trace_ids) == len(plans)
    for trace_id, plan in zip(trace_ids, plans, strict=True):
        sent.scores[trace_id] = [(RUN, name, value) for name, value in plan.items()]
    with running.client() as http:
        wait_until(
            lambda: (
                {t["trace_id"] for t in http.get("/api/v1/traces", headers=_bearer(read_key)).json()["traces"]}
                >= set(trace_ids)
            ),
            "the tasks' traces are stored",
        )
    return trace_ids


def _post(running: RunningCollector, key: str, sent: Sent, scores: list[tuple[str, float, str, float]]) -> None:
    """Post ``(trace id, symbolic time, name, value)`` scores through the API, timed as their symbol says."""
    now = datetime.now(timezone.utc)
    body = [
        {
            "trace_id": trace_id,
            "name": name,
            "value": value,
            "time": (now + timedelta(seconds=at)).isoformat(),
            "source": "feedback" if name == "user_feedback" else "api",
        }
        for trace_id, at, name, value in scores
    ]
    with running.client() as http:
        answer = http.post("/api/v1/scores/batch", json={"scores": body}, headers=_bearer(key))
        assert answer.status_code == 201, answer.text
    for trace_id, at, name, value in scores:
        sent.scores[trace_id].append((at, name, value))


def test_groundedness_and_scores_count_every_source_latest_first_and_one_team_only(teams) -> None:
    running, keys = teams
    alpha, beta = Sent(), Sent()
    a = _run_tasks(
        running,
        keys["alpha-ingest"],
        keys["alpha-read"],
        [
            {"groundedness": 0.9},  # overridden by a later API score of 0.2
            {"groundedness": 0.3},  # an earlier API score of 0.8 does not override it
            {"groundedness": 0.7, "helpfulness": 0.5},
            {},  # grounded by the API alone
            {},  # never scored
            {"helpfulness": 0.25},
        ],
        alpha,
    )
    _post(
        running,
        keys["alpha-ingest"],
        alpha,
        [
            (a[0], AFTER, "groundedness", 0.2),
            (a[1], BEFORE, "groundedness", 0.8),
            (a[3], RUN, "groundedness", 0.6),
            (a[5], AFTER, "helpfulness", 1.0),
            (a[0], RUN, "user_feedback", -1.0),
            (a[2], RUN, "user_feedback", 1.0),
        ],
    )
    b = _run_tasks(
        running, keys["beta-ingest"], keys["beta-read"], [{"groundedness": 1.0, "helpfulness": 0.0}, {}], beta
    )
    _post(running, keys["beta-ingest"], beta, [(b[1], RUN, "user_feedback", -1.0), (b[1], RUN, "groundedness", 0.1)])

    with running.client() as http:
        for key, sent, tasks in (
            (keys["alpha-read"], alpha, 6),
            (keys["beta-read"], beta, 2),
            (ADMIN, alpha.merged(beta), 8),
        ):
            metrics = http.get("/api/v1/metrics", headers=_bearer(key)).json()
            rate, stats = sent.expected()
            assert metrics["tasks"] == tasks
            assert metrics["groundedness_rate"] == pytest.approx(rate)
            assert metrics["scores"] == stats
            # The agent breakdown and the timeseries count the same tasks' scores.
            [row] = http.get("/api/v1/metrics/breakdown", params={"by": "agent"}, headers=_bearer(key)).json()["rows"]
            # (Means of float scores summed in another order may differ in the last place.)
            assert row["groundedness_rate"] == metrics["groundedness_rate"]
            assert {n: (pytest.approx(s["mean"]), s["count"]) for n, s in row["scores"].items()} == {
                n: (s["mean"], s["count"]) for n, s in metrics["scores"].items()
            }
            points = http.get(
                "/api/v1/metrics/timeseries", params={"metric": "score.helpfulness"}, headers=_bearer(key)
            ).json()["points"]
            assert set(points[0]) == {"start", "scores"}  # only what was asked for
            counted = sum(p["scores"]["helpfulness"]["count"] for p in points if "helpfulness" in p["scores"])
            assert counted == stats["helpfulness"]["count"]
            everything = http.get("/api/v1/metrics/timeseries", headers=_bearer(key)).json()["points"]
            names = {name for p in everything for name in p["scores"]}
            assert names == set(stats)
    # The numbers above are not vacuous: alpha's expected values differ from a naive "first score wins".
    assert alpha.expected()[0] == pytest.approx(2 / 4)


def test_the_timeseries_refuses_a_malformed_score_metric(collector: RunningCollector) -> None:
    with collector.client() as http:
        answer = http.get("/api/v1/metrics/timeseries", params={"metric": "score.has space"})
    assert answer.status_code == 400
    assert "score.NAME" in answer.json()["detail"] and "'score.has space'" in answer.json()["detail"]
