"""The canary verdict's path for large versions, against ground truth the test computes from the raw spans.

Two versions of the ``support`` agent, 11,500 tasks each, spread over the last twelve hours (the older
hours sealed, the rest read live), sent through the stock OpenTelemetry SDK into a real collector. With
more than ``BOOTSTRAP_CAP`` tasks and ``NORMAL_FROM`` successful ones per version, ``GET /api/v1/compare``
takes the large-sample path: sums and exact percentiles from the metrics' states, per-task facts only for
the tasks with the smallest ``cityHash64(TraceId)``, cost per success by the normal approximation. The test
reads every root span and LLM span itself and computes each figure the answer holds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import httpx
import numpy as np
import pytest
from canary_traffic import Version, send

from tests.collector.otel_client import OtelClient
from tests.support import collector_over, wait_until
from tracereel import semconv as sc
from tracereel.collector.query import EVERYTHING, TaskFilter, load_prices, stats, version_samples
from tracereel.collector.query.hours import plan_hours, seal_hours
from tracereel.contracts.compare import Comparison

BASELINE, CANARY = "big-1.0", "big-1.1"
TASKS = 11_500


@dataclass
class Collector:
    url: str
    app: Any
    start: float
    end: float

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60)

    def wait_for_spans(self, count: int) -> None:
        drainer = self.app.state.drainer
        wait_until(lambda: drainer.stored_spans >= count, f"the collector to store {count} spans")


@dataclass
class Truth:
    """One version's tasks as the raw spans tell them, ordered by cityHash64(TraceId) then TraceId."""

    durations_ms: np.ndarray
    success: np.ndarray
    cost: np.ndarray

    @property
    def tasks(self) -> int:
        return len(self.success)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Collector]:
    with collector_over(tmp_path_factory.mktemp("compare-scale")) as (url, app):
        collector = Collector(url, app, time.time() - 13 * 3600, time.time() + 60)
        otel = OtelClient(collector, batch=True)
        send(
            otel,
            Version(BASELINE, TASKS, success=0.95, loops=0.0, tools=False, latency_ms=800, cost_usd=0.010),
            Version(CANARY, TASKS, success=0.92, loops=0.0, tools=False, latency_ms=830, cost_usd=0.0105),
            minutes_ago=12 * 60,
        )
        otel.shutdown()
        # The hours old enough are sealed (unless the collector's own pass did it first), so the totals come
        # from seals and the live tail both (the second test checks the plan).
        seal_hours(app.state.store, limit=48)
        yield collector


def _truth(collector: Collector) -> dict[str, Truth]:
    store = collector.app.state.store
    rows = store.query(
        f"""SELECT r.version, r.Duration / 1e6, r.ok, l.cost
FROM (
    SELECT TraceId, SpanAttributes['{sc.AGENT_VERSION}'] AS version, Duration,
           SpanAttributes['{sc.TASK_SUCCESS}'] = 'true' AS ok
    FROM otel_traces WHERE ParentSpanId = '' AND SpanAttributes['{sc.AGENT_NAME}'] = 'support'
) AS r
INNER JOIN (
    SELECT TraceId, toFloat64(SpanAttributes['{sc.COST_USD}']) AS cost FROM otel_traces WHERE ParentSpanId != ''
) AS l ON r.TraceId = l.TraceId
ORDER BY cityHash64(r.TraceId), r.TraceId"""
    )
    out: dict[str, Truth] = {}
    for version in (BASELINE, CANARY):
        mine = [row for row in rows if row[0] == version]
        out[version] = Truth(
            np.array([row[1] for row in mine], dtype=float),
            np.array([row[2] for row in mine], dtype=float),
            np.array([row[3] for row in mine], dtype=float),
        )
    return out


def _approx(value: Any) -> Any:
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-9, abs=1e-300)
    if isinstance(value, dict):
        return {k: _approx(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_approx(v) for v in value]
    return value


def _head(t: Truth, count: int) -> Truth:
    """The ``count`` tasks of smallest trace-id hash."""
    return Truth(t.durations_ms[:count], t.success[:count], t.cost[:count])


def _delta_variance(t: Truth, tasks: int, successes: float, ratio: float) -> float:
    return float((t.cost - ratio * t.success).var(ddof=1)) / (successes / tasks) ** 2


def test_every_figure_of_a_large_canary_matches_the_raw_spans(big):
    with big.client() as http:
        params = {"agent": "support", "baseline": BASELINE, "canary": CANARY, "from": big.start, "to": big.end}
        response = http.get("/api/v1/compare", params=params)
        again = http.get("/api/v1/compare", params=params)
    assert response.status_code == 200, response.text
    answer = Comparison.model_validate(response.json())
    # The subset is fixed: the same data, the same verdict (sums of floats may add up in another order).
    assert again.json() == _approx(response.json())
    truth = _truth(big)
    b, c = truth[BASELINE], truth[CANARY]
    assert (answer.baseline.tasks, answer.canary.tasks) == (b.tasks, c.tasks) == (TASKS, TASKS)
    assert min(b.success.sum(), c.success.sum()) >= stats.NORMAL_FROM  # the normal approximation's size

    success = answer.metrics["task_success_rate"]
    expected = stats.compare_rates(int(b.success.sum()), b.tasks, int(c.success.sum()), c.tasks, success.alpha)
    assert (success.baseline, success.canary) == (b.success.mean(), c.success.mean())
    assert success.p_value_raw == expected.p_value and success.ci == expected.ci
    assert success.effect == pytest.approx(expected.effect, rel=1e-12)

    # Latency: the exact percentile of every task; the bootstrap over the CAP tasks of smallest hash.
    p95 = answer.metrics["p95_latency_ms"]
    effect = np.percentile(c.durations_ms, 95) - np.percentile(b.durations_ms, 95)
    assert p95.baseline == pytest.approx(np.percentile(b.durations_ms, 95), rel=1e-12)
    assert p95.canary == pytest.approx(np.percentile(c.durations_ms, 95), rel=1e-12)
    cap = stats.BOOTSTRAP_CAP
    boot = stats.compare_percentiles(b.durations_ms[:cap], c.durations_ms[:cap], 95.0, p95.alpha, effect=float(effect))
    assert p95.effect == pytest.approx(effect, rel=1e-9)
    assert p95.ci == pytest.approx(boot.ci, rel=1e-9) and p95.p_value_raw == boot.p_value
    assert p95.test == "bootstrap" and (p95.n_baseline, p95.n_canary) == (TASKS, TASKS)

    # Cost per success: every task's cost over every success; the delta method's variance from the subset.
    cost = answer.metrics["cost_per_successful_task_usd"]
    ratios = [t.cost.sum() / t.success.sum() for t in (b, c)]
    assert (cost.baseline, cost.canary) == (pytest.approx(ratios[0], rel=1e-9), pytest.approx(ratios[1], rel=1e-9))
    subset = [_head(t, cap) for t in (b, c)]
    normal = stats.normal_ratio_difference(
        *[
            (t.cost.sum(), t.success.sum(), t.tasks, _delta_variance(head, t.tasks, t.success.sum(), ratio))
            for t, head, ratio in zip((b, c), subset, ratios, strict=True)
        ],
        cost.alpha,
    )
    assert cost.test == "normal" and (cost.n_baseline, cost.n_canary) == (b.success.sum(), c.success.sum())
    assert cost.effect == pytest.approx(normal.effect, rel=1e-9)
    assert cost.ci == pytest.approx(normal.ci, rel=1e-6)
    assert cost.p_value_raw == pytest.approx(normal.p_value, rel=1e-6, abs=1e-300)

    # Every judged metric: the verdict, the interval at its level and the corrected p-value agree.
    for key, m in answer.metrics.items():
        if m.verdict == "not_applicable":
            continue
        assert m.ci is not None and m.p_value is not None, key
        low, high = m.ci
        excludes = (low is not None and low > 0) or (high is not None and high < 0)
        assert (m.verdict in ("better", "worse")) == excludes == (m.p_value < stats.ALPHA), (key, m)


def test_the_bootstrap_subset_is_the_tasks_of_smallest_trace_id_hash(big):
    # A cap far below the versions' tasks: the read bounds the hash before it merges any task's rows.
    store, prices = big.app.state.store, load_prices(None)
    flt = TaskFilter(
        start=datetime.fromtimestamp(big.start, timezone.utc),
        end=datetime.fromtimestamp(big.end, timezone.utc),
        agent="support",
    )
    samples = version_samples(store, prices, flt, BASELINE, CANARY, EVERYTHING, cap=500)
    truth = _truth(big)
    for version, sample in samples.items():
        t = truth[version]
        assert sample.tasks == t.tasks
        assert sample.totals["success"] == t.success.sum()
        assert sample.totals["cost"] == pytest.approx(t.cost.sum(), rel=1e-9)
        assert sample.percentiles[50.0] == pytest.approx(np.percentile(t.durations_ms, 50), rel=1e-12)
        np.testing.assert_allclose(sample.arrays["duration_ms"], t.durations_ms[:500], rtol=1e-12)
        np.testing.assert_array_equal(sample.arrays["success"], t.success[:500])
        np.testing.assert_allclose(sample.arrays["cost"], t.cost[:500], rtol=1e-9)
    # The window's older hours were read from their seals, the rest live.
    plan = plan_hours(store, flt, EVERYTHING)
    assert plan.sealed and plan.live
