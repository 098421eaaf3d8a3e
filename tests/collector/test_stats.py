"""The gate's statistics (collector/query/stats.py): published examples, and properties over many inputs.

The property that matters most to a user: a verdict, its interval and its p-value never
contradict each other. For every test kind (rates, latency percentiles, cost ratio) and many
generated inputs, at the levels the gate uses: the interval excludes 0 exactly when the
corrected p-value is below ALPHA, and then on the side the verdict names.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize
from scipy import stats as sp

from tracereel.collector.query import judge, stats
from tracereel.collector.query.compare import DEFAULT_METRICS, levels

# The levels the default gate decides at: two thirds of ALPHA for task success, 1/24 for each other.
LEVELS = sorted(set(levels(DEFAULT_METRICS).values()))


def test_the_default_levels_spend_alpha_once():
    shares = levels(DEFAULT_METRICS)
    assert sum(shares.values()) == pytest.approx(stats.ALPHA)
    assert shares["task_success_rate"] == pytest.approx(stats.ALPHA * 2 / 3) == pytest.approx(0.02)
    assert [v for k, v in shares.items() if k != "task_success_rate"] == pytest.approx([stats.ALPHA / 24] * 8)
    # Without task success, equal shares; one metric alone gets all of ALPHA.
    assert levels(("loop_rate", "retry_rate")) == {"loop_rate": stats.ALPHA / 2, "retry_rate": stats.ALPHA / 2}
    assert levels(("task_success_rate",)) == {"task_success_rate": stats.ALPHA}
    assert levels(()) == {}


def test_the_score_test_at_a_difference_of_0_is_the_pooled_z_test_of_a_worked_example():
    # Usable Stats, "Ask Stats" question 866 (usablestats.com/askstats/question/866): breast cancer in
    # 118 of 3,303 women against 80 of 3,303; pooled p = 0.02997, SE = 0.004196, z = 2.742, two-sided
    # p = 0.00611, so one-sided 0.003055 that the canary's rate is higher.
    result = stats.compare_rates(x_baseline=80, n_baseline=3303, x_canary=118, n_canary=3303, alpha=0.025)
    assert result.test == "two_proportion_z"
    assert result.p_higher == pytest.approx(0.00611 / 2, abs=3e-5)
    assert result.p_lower == pytest.approx(1 - result.p_higher)
    assert result.direction == 1
    assert result.effect == pytest.approx(0.01150, abs=5e-6)
    pooled = (118 + 80) / (2 * 3303)
    z = result.effect / math.sqrt(pooled * (1 - pooled) * 2 / 3303)
    assert z == pytest.approx(2.742, abs=0.001)
    assert result.p_higher == pytest.approx(sp.norm.sf(z), rel=1e-9)


@pytest.mark.parametrize(("x1", "n1", "x0", "n0"), [(56, 70, 48, 80), (9, 10, 3, 10), (0, 24, 9, 194), (30, 30, 1, 40)])
def test_the_score_interval_ends_where_the_score_test_reaches_the_level(x1, n1, x0, n0):
    # Mee's interval is every difference the one-sided score tests do not reject: at each end, the
    # score statistic with the rates fitted under that difference (checked against a numerical
    # maximum of the likelihood) is exactly the normal quantile of the level.
    alpha = 0.025
    low, high = stats.score_interval(x1, n1, x0, n0, alpha)
    assert -1 <= low < x1 / n1 - x0 / n0 < high <= 1

    def z(delta: float) -> float:
        def minus_log_likelihood(p1: float) -> float:
            p0 = p1 - delta
            return -(sp.binom.logpmf(x1, n1, p1) + sp.binom.logpmf(x0, n0, p0))

        fit = optimize.minimize_scalar(
            minus_log_likelihood,
            bounds=(max(0.0, delta) + 1e-12, min(1.0, 1 + delta) - 1e-12),
            method="bounded",
            options={"xatol": 1e-12},
        )
        p1, p0 = fit.x, fit.x - delta
        return (x1 / n1 - x0 / n0 - delta) / math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)

    crit = sp.norm.isf(alpha)
    for end, target in ((low, crit), (high, -crit)):
        if abs(end) < 1 - 1e-9:
            assert z(end) == pytest.approx(target, abs=1e-4)


def test_a_percentile_bootstrap_on_scipys_mann_whitney_example():
    # The ages of scipy.stats.mannwhitneyu's documented example: 5 males [19, 22, 16, 29, 24] and
    # 4 females [20, 11, 17, 12]. The effect is the difference of the medians, 22 - 14.5.
    males, females = np.array([19.0, 22, 16, 29, 24]), np.array([20.0, 11, 17, 12])
    result = stats.compare_percentiles(baseline_ms=females, canary_ms=males, percentile=50, alpha=0.025)
    assert result.test == "bootstrap"
    assert result.effect == 22 - 14.5
    low, high = result.ci
    assert low is not None and high is not None and low <= result.effect <= high


def test_sample_size_matches_the_one_sided_rule_of_thumb():
    # Two groups, standardised difference 0.5, one-sided alpha 0.025 (= two-sided 0.05), power 0.8:
    # n = 2 (1.96 + 0.8416)^2 / 0.5^2 = 62.8, the textbook "63 per group" (Cohen 1988, z approximation).
    assert stats.canary_units_needed(0.5, 1.0, 1.0, n_baseline=63, alpha=0.025) == 63
    # No difference to find, or a baseline too small for any canary to make up for it: no number.
    assert stats.canary_units_needed(0.0, 1.0, 1.0, n_baseline=63, alpha=0.025) is None
    assert stats.canary_units_needed(0.5, 1.0, 1.0, n_baseline=10, alpha=0.025) is None


def _agrees(result: stats.TestResult, alpha: float) -> str:
    """'' when the interval at ``alpha``, the corrected p-value and the decision agree; else what disagrees."""
    weight = alpha / stats.ALPHA
    significant = stats.corrected_p(result.p_value, weight) < stats.ALPHA
    low, high = result.ci
    above, below = low is not None and low > 0, high is not None and high < 0
    if significant != (above or below):
        return f"p={result.p_value} at {alpha}, interval {result.ci}"
    if (above and result.direction != 1) or (below and result.direction != -1):
        return f"direction {result.direction}, interval {result.ci}"
    return ""


def test_rates_interval_and_p_value_agree_over_many_inputs():
    rng = np.random.default_rng(17)
    disagreements, significant = [], 0
    for _ in range(2000):
        n0, n1 = int(rng.integers(2, 800)), int(rng.integers(2, 800))
        p0 = rng.choice([rng.random(), rng.random() * 0.05, 1 - rng.random() * 0.05])
        p1 = min(1.0, max(0.0, p0 + rng.normal(0, 0.08)))
        x0, x1 = int(rng.binomial(n0, p0)), int(rng.binomial(n1, p1))
        alpha = float(rng.choice([*LEVELS, stats.ALPHA]))
        result = stats.compare_rates(x0, n0, x1, n1, alpha)
        significant += result.p_value < alpha
        if problem := _agrees(result, alpha):
            disagreements.append(((x0, n0, x1, n1), problem))
        low, high = result.ci
        assert low is not None and high is not None and low <= result.effect <= high
    assert disagreements == []
    assert 200 < significant < 1800  # both kinds of answer were exercised


def test_latency_and_cost_intervals_and_p_values_agree_over_many_inputs():
    rng = np.random.default_rng(23)
    disagreements, significant = [], 0
    for i in range(40):
        nb, nc = int(rng.integers(20, 300)), int(rng.integers(20, 300))
        shift = float(rng.choice([0.0, 0.1, 0.3, -0.3]))
        alpha = float(rng.choice(LEVELS))
        baseline, canary = rng.lognormal(6.5, 0.6, nb), rng.lognormal(6.5 + shift, 0.6, nc)
        if i % 2:
            result = stats.compare_percentiles(baseline, canary, float(rng.choice([50.0, 95.0])), alpha)
        else:
            success_b, success_c = (rng.random(nb) < 0.8).astype(float), (rng.random(nc) < 0.8).astype(float)
            result = stats.bootstrap_ratio_difference((baseline / 1e5, success_b), (canary / 1e5, success_c), alpha)
        significant += result.p_value < alpha
        if problem := _agrees(result, alpha):
            disagreements.append((i, problem))
    assert disagreements == []
    assert 4 < significant < 36


def test_bootstrap_interval_covers_the_true_difference_about_as_often_as_it_says():
    # Two versions whose true cost per success is equal (cost ~ exponential(0.01), success ~
    # Bernoulli(0.8)); at alpha 0.025 per side the interval is a 95% one, so over 200 simulated
    # comparisons of 60 tasks each it should hold 0 about 190 times; the 99.9% binomial range is 178 to 199.
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(200):
        versions = []
        for _ in range(2):
            success = (rng.random(60) < 0.8).astype(float)
            versions.append((rng.exponential(0.01, 60), success))
        result = stats.bootstrap_ratio_difference(versions[0], versions[1], alpha=0.025)
        low, high = result.ci
        covered += low is not None and high is not None and low <= 0 <= high
    assert 178 <= covered <= 199


def test_bootstrap_finds_a_real_difference_and_is_reproducible():
    rng = np.random.default_rng(2)
    cheap = (rng.exponential(0.01, 300), np.ones(300))
    dear = (rng.exponential(0.02, 300), np.ones(300))
    first = stats.bootstrap_ratio_difference(cheap, dear, alpha=0.025)
    assert first.ci[0] is not None and first.ci[0] > 0.005
    assert first.p_higher == 1 / (stats.RESAMPLES + 1)  # no resample at or below 0
    assert first.effect == pytest.approx(dear[0].mean() - cheap[0].mean())
    assert stats.bootstrap_ratio_difference(cheap, dear, alpha=0.025) == first  # seeded: the same data, the same answer


def _tasks(durations_ms: list[float], rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
    """Per-task arrays as task_samples gives them: successes, one tool call each, these durations."""
    n = len(durations_ms)
    columns = ("grounded", "scored", "tool_timeouts", "tool_errors", "retries", "looped", "priced", "llm_calls")
    arrays = {name: np.zeros(n) for name in (*columns, "violated", "escalated")}
    arrays.update(success=np.ones(n), tool_calls=np.ones(n), tool_ok=np.ones(n), steps=np.ones(n))
    arrays["cost"] = (rng or np.random.default_rng(0)).exponential(0.01, n)
    arrays["duration_ms"] = np.array(durations_ms, dtype=float)
    return arrays


def test_the_judges_verdicts_agree_with_their_intervals_for_every_metric():
    # The judge itself, over generated pairs of versions: every judged metric's verdict, corrected
    # p-value and interval (at that metric's level) say the same, whichever kind of test it took.
    rng = np.random.default_rng(5)
    for _ in range(6):
        sizes = int(rng.integers(40, 300)), int(rng.integers(40, 300))
        versions = []
        canary_success, canary_slower = float(rng.choice([0.9, 0.75])), float(rng.choice([0, 0.3]))
        for n, success, slow in zip(sizes, (0.9, canary_success), (0.0, canary_slower), strict=True):
            arrays = _tasks(list(rng.lognormal(6.5 + slow, 0.5, n)), rng)
            arrays["success"] = (rng.random(n) < success).astype(float)
            arrays["tool_calls"] = rng.poisson(1.5, n).astype(float)
            arrays["tool_errors"] = rng.binomial(arrays["tool_calls"].astype(int), 0.05).astype(float)
            arrays["tool_ok"] = arrays["tool_calls"] - arrays["tool_errors"]
            arrays["looped"] = (rng.random(n) < 0.05).astype(float)
            versions.append(arrays)
        answer = judge(versions[0], versions[1])
        for key, m in answer.metrics.items():
            assert m.alpha is not None and m.confidence == pytest.approx(1 - 2 * m.alpha), key
            assert m.ci is not None and m.p_value is not None, key
            low, high = m.ci
            excludes = (low is not None and low > 0) or (high is not None and high < 0)
            assert (m.verdict in ("better", "worse")) == excludes == (m.p_value < stats.ALPHA), (key, m)
            if excludes:
                assert (low is not None and low > 0) == ((m.verdict == "better") == m.higher_is_better), (key, m)


def test_a_latency_percentile_is_judged_on_the_percentile_itself():
    # The baseline: most tasks take 100 ms, one in ten 10 s (a slow dependency). The canary: every
    # task 200 ms. The median rose (worse); the p95 fell from 10 s to 200 ms (better). Each verdict
    # is about its own percentile, with its interval on the same side of 0.
    baseline = _tasks([10_000.0 if i % 10 == 0 else 100.0 + i % 7 for i in range(200)])
    canary = _tasks([200.0 + i % 5 for i in range(200)])
    answer = judge(baseline, canary, ("p50_latency_ms", "p95_latency_ms"))
    p50, p95 = answer.metrics["p50_latency_ms"], answer.metrics["p95_latency_ms"]
    assert p50.verdict == "worse" and p50.effect is not None and p50.effect > 0
    assert p50.ci is not None and p50.ci[0] is not None and p50.ci[0] > 0
    assert p95.verdict == "better" and p95.ci is not None and p95.ci[1] is not None and p95.ci[1] < 0
    assert answer.verdict == "fail"


def test_metrics_nobody_observed_are_not_applicable_and_out_of_the_family():
    # An agent that calls no tools: its tool metrics have no unit in either version.
    rng = np.random.default_rng(3)
    versions = []
    for n in (400, 300):
        arrays = _tasks(list(rng.lognormal(6.5, 0.5, n)), rng)
        arrays.update(tool_calls=np.zeros(n), tool_ok=np.zeros(n), steps=np.ones(n), llm_calls=np.ones(n))
        versions.append(arrays)
    answer = judge(versions[0], versions[1])
    assert answer.verdict == "promote"
    tools = {"tool_error_rate", "tool_timeout_rate"}
    for key in tools:
        m = answer.metrics[key]
        assert (m.verdict, m.gate, m.alpha, m.ci, m.p_value) == ("not_applicable", "not_applicable", None, None, None)
        assert m.reason == "no tool calls in either version"
    # The family is the seven other metrics: task success keeps two thirds of ALPHA, six share the rest.
    shares = {k: m.alpha for k, m in answer.metrics.items() if k not in tools}
    assert shares == levels(tuple(shares))
    assert shares["loop_rate"] == pytest.approx(stats.ALPHA / 18)
    # Some but too few tool calls is still insufficient data, and keeps the gate from promoting.
    versions[1]["tool_calls"][:5] = 1
    versions[1]["tool_ok"][:5] = 1
    few = judge(versions[0], versions[1])
    assert few.metrics["tool_error_rate"].verdict == "insufficient_data"
    assert few.verdict == "inconclusive"


def _calibration_bench():
    spec = importlib.util.spec_from_file_location(
        "gate_calibration", Path(__file__).resolve().parents[2] / "bench" / "gate_calibration.py"
    )
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # its dataclasses look their module up there
    spec.loader.exec_module(bench)
    return bench


def test_the_gate_calibration_on_fixed_seeds():
    # bench/gate_calibration.py with 20 canaries per scenario instead of 200 (the README has those
    # figures). Bounds wide enough for 20 draws: between equal versions the gate fails about 5% at
    # most and is never inconclusive with this much data; a 10-point drop in success fails ~95%.
    equal, worse = _calibration_bench().calibrate(draws=20, seed=11)
    assert equal.draws == worse.draws == 20
    assert equal.verdicts["fail"] <= 3 and equal.verdicts["inconclusive"] <= 2
    assert worse.verdicts["fail"] >= 14
    assert worse.worse["task_success_rate"] >= 14


@pytest.mark.parametrize(("n", "percentile"), [(7, 50.0), (200, 95.0), (5000, 95.0), (1, 50.0)])
def test_percentile_resamples_drawn_from_order_statistics_match_resampling_the_tasks(n, percentile):
    # The gate draws a resample's percentile from the Beta laws of its order statistics instead of
    # resampling every task: the same distribution. Against numpy's own resampling of the tasks,
    # 4,000 draws each: a two-sample Kolmogorov-Smirnov test does not tell them apart, and their
    # quantiles agree within the Monte Carlo error.
    rng = np.random.default_rng(n)
    values = rng.lognormal(6.5, 0.6, n)
    drawn = stats._percentile_resamples(values, percentile, np.random.default_rng(1), 4000)
    picks = rng.integers(0, n, size=(4000, n))
    resampled = np.percentile(values[picks], percentile, axis=1)
    if n == 1:
        assert set(drawn) == set(resampled) == {values[0]}
        return
    # Rounded: both interpolate between the same two values, but not with the same rounding, and the test
    # would read a last-bit difference of a value both hit often as a difference of the distributions.
    assert sp.ks_2samp(np.round(drawn, 6), np.round(resampled, 6)).pvalue > 0.001
    spread = float(np.percentile(resampled, 90) - np.percentile(resampled, 10))
    for q in (5, 25, 50, 75, 95):
        assert abs(np.percentile(drawn, q) - np.percentile(resampled, q)) < 0.1 * spread + 1e-9, q


def test_the_normal_approximation_of_cost_per_success_agrees_with_the_bootstrap_where_it_takes_over():
    # From NORMAL_FROM successful tasks in each version on, cost per success is judged by the delta
    # method's normal approximation. Already a little below that (BOOTSTRAP_CAP tasks, the most the
    # bootstrap resamples whole, 80% of them successful), on skewed costs (lognormal), its p-values and
    # interval ends match the bootstrap's within a few percent.
    rng = np.random.default_rng(29)
    n = stats.BOOTSTRAP_CAP
    alpha = stats.ALPHA / 24
    versions = []
    for shift in (0.0, 0.03):
        cost = rng.lognormal(-4.6 + shift, 0.8, n)
        versions.append((cost, (rng.random(n) < 0.8).astype(float)))
    assert min(v[1].sum() for v in versions) < stats.NORMAL_FROM
    boot = stats.bootstrap_ratio_difference(versions[0], versions[1], alpha)
    normal = stats.normal_ratio_difference(
        *[(float(c.sum()), float(s.sum()), n, _delta_variance(c, s)) for c, s in versions], alpha
    )
    assert normal.test == "normal" and normal.effect == pytest.approx(boot.effect, rel=1e-12)
    assert normal.var_baseline == pytest.approx(boot.var_baseline, rel=1e-9)
    width = boot.ci[1] - boot.ci[0]  # type: ignore[operator]
    assert normal.ci[0] == pytest.approx(boot.ci[0], abs=0.05 * width)
    assert normal.ci[1] == pytest.approx(boot.ci[1], abs=0.05 * width)
    assert normal.p_value == pytest.approx(boot.p_value, abs=0.01)


def _delta_variance(cost: np.ndarray, success: np.ndarray) -> float:
    ratio = cost.sum() / success.sum()
    return float((cost - ratio * success).var(ddof=1)) / float(success.mean()) ** 2


def test_the_normal_approximations_interval_and_p_value_agree_over_many_inputs():
    rng = np.random.default_rng(31)
    disagreements, significant = [], 0
    for i in range(500):
        alpha = float(rng.choice(LEVELS))
        sides = []
        for _ in range(2):
            n = int(rng.integers(10_000, 40_000))
            sides.append((float(rng.normal(0.02, 0.002) * n), float(n * 0.8), n, float(rng.uniform(1e-5, 1e-3))))
        result = stats.normal_ratio_difference(sides[0], sides[1], alpha)
        significant += result.p_value < alpha
        if problem := _agrees(result, alpha):
            disagreements.append((i, problem))
    assert disagreements == []
    assert 50 < significant < 450
