"""The canary gate's statistics, on plain numbers and arrays: every test is scipy's (DESIGN.md "Gates and monitors").

- Rates (x events out of n units): Fisher's exact test when a 2x2 cell's expected count is
  below 5, else the two-proportion z test (scipy's chi-square test of the 2x2 table without
  continuity correction: chi² = z², so the p-value is the two-sided z test's). The interval for
  the difference of rates is Newcombe's hybrid score interval (his method 10), built from
  Wilson intervals of each rate.
- Latency: Mann-Whitney U on the per-task durations; the effect is the difference of the
  metric's percentile (p50 or p95), with a percentile-bootstrap interval.
- Cost per successful task (sum of cost / successful tasks): a percentile-bootstrap interval
  of the difference, resampling tasks within each version; the p-value is the bootstrap's
  (twice the smaller share of resampled differences on either side of 0).
- Several metrics at once: Holm's step-down correction of the p-values.

Effects are always canary minus baseline. Nothing here knows SQL or HTTP.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from scipy import stats

__all__ = [
    "ALPHA",
    "CONFIDENCE",
    "POWER",
    "TestResult",
    "bootstrap_ratio_difference",
    "canary_units_needed",
    "compare_latency",
    "compare_rates",
    "holm",
    "newcombe_interval",
]

ALPHA: Final = 0.05  # significance level of every test, after Holm's correction
CONFIDENCE: Final = 0.95  # of every interval (not corrected: it shows the size of the effect)
POWER: Final = 0.8  # of the "how many more tasks" estimate (beta = 0.2)
# Enough for a 95% percentile interval (Efron and Tibshirani suggest 1,000 to 2,000); the p-value's
# resolution is then 1/2,000, far below 0.05 even after Holm's correction.
RESAMPLES: Final = 1999
# Above this many tasks per version the bootstrap resamples a fixed random subset: the interval
# is then wider than it could be (conservative), and the gate stays fast (bench/query.py).
BOOTSTRAP_CAP: Final = 10_000
SEED: Final = 20_26  # bootstraps are seeded, so the same data give the same verdict


@dataclass(frozen=True)
class TestResult:
    """One comparison: the test's name, its two-sided p-value, the effect and its interval.

    ``var_baseline``/``var_canary`` are the per-unit variances behind the effect (the effect's
    variance is about ``var_baseline / n_baseline + var_canary / n_canary``), for the
    "how many more tasks" estimate. ``direction`` is the way the test itself sees the canary
    (+1 higher, -1 lower, 0 neither): the effect's sign, except for Mann-Whitney U, where it is
    which version's values tend to be larger.
    """

    test: str
    p_value: float
    effect: float
    ci: tuple[float, float]
    var_baseline: float
    var_canary: float
    direction: int


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def _wilson(x: int, n: int, confidence: float) -> tuple[float, float]:
    ci = stats.binomtest(x, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def newcombe_interval(
    x_canary: int, n_canary: int, x_baseline: int, n_baseline: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Newcombe's (1998) hybrid score interval for ``x_canary/n_canary - x_baseline/n_baseline``."""
    p1, p2 = x_canary / n_canary, x_baseline / n_baseline
    l1, u1 = _wilson(x_canary, n_canary, confidence)
    l2, u2 = _wilson(x_baseline, n_baseline, confidence)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def compare_rates(x_baseline: int, n_baseline: int, x_canary: int, n_canary: int) -> TestResult:
    """Compare two rates: Fisher's exact test if an expected cell count is < 5, else the two-proportion z test."""
    table = np.array([[x_canary, n_canary - x_canary], [x_baseline, n_baseline - x_baseline]])
    expected = stats.contingency.expected_freq(table)
    if (expected < 5).any():
        test, p = "fisher_exact", float(stats.fisher_exact(table).pvalue)
    else:
        # Without Yates' correction the chi-square test of a 2x2 table is the pooled two-proportion z test.
        chi2 = stats.chi2_contingency(table, correction=False)
        test, p = "two_proportion_z", float(chi2.pvalue)
    p_b, p_c = x_baseline / n_baseline, x_canary / n_canary
    # Both versions' units vary as the pooled rate's: a canary rate of 0 seen in a few tasks is
    # not a variance of 0 (which would make any few more tasks look enough).
    pooled = (x_baseline + x_canary) / (n_baseline + n_canary)
    return TestResult(
        test=test,
        p_value=min(1.0, p),
        effect=p_c - p_b,
        ci=newcombe_interval(x_canary, n_canary, x_baseline, n_baseline),
        var_baseline=pooled * (1 - pooled),
        var_canary=pooled * (1 - pooled),
        direction=_sign(p_c - p_b),
    )


def _subset(values: NDArray[Any], rng: np.random.Generator) -> NDArray[Any]:
    return values if len(values) <= BOOTSTRAP_CAP else rng.choice(values, BOOTSTRAP_CAP, replace=False)


def _bootstrap(data: tuple[NDArray[Any], NDArray[Any]], statistic: Any, rng: np.random.Generator) -> Any:
    """scipy's percentile bootstrap of a two-sample statistic (canary first), seeded by ``rng``."""
    # A resample of a few tasks may hold no successful one (a ratio of inf) or be all alike: scipy
    # then warns and the interval holds nan, which the caller reports as no interval.
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        return stats.bootstrap(
            data,
            statistic,
            n_resamples=RESAMPLES,
            confidence_level=CONFIDENCE,
            method="percentile",
            random_state=rng,
            batch=200,
        )


def _unit_variance(low: float, high: float, n_baseline: int, n_canary: int) -> float:
    """The per-unit variance an interval implies, if both versions' units vary alike."""
    se = (high - low) / (2 * stats.norm.ppf(0.5 + CONFIDENCE / 2))
    return float(se**2 / (1 / n_baseline + 1 / n_canary))


def compare_latency(baseline_ms: NDArray[Any], canary_ms: NDArray[Any], percentile: float) -> TestResult:
    """Mann-Whitney U on the durations; effect = difference of the ``percentile`` (0-100), bootstrap interval."""
    test = stats.mannwhitneyu(canary_ms, baseline_ms, alternative="two-sided")
    p = float(test.pvalue)
    # U counts the (canary, baseline) pairs where the canary is larger (ties count half).
    shift = float(test.statistic) - len(canary_ms) * len(baseline_ms) / 2
    rng = np.random.default_rng(SEED)
    b, c = _subset(baseline_ms, rng), _subset(canary_ms, rng)

    def difference(cs: NDArray[Any], bs: NDArray[Any], axis: int = -1) -> NDArray[Any]:
        return np.percentile(cs, percentile, axis=axis) - np.percentile(bs, percentile, axis=axis)

    boot = _bootstrap((c, b), difference, rng)
    low, high = float(boot.confidence_interval.low), float(boot.confidence_interval.high)
    variance = _unit_variance(low, high, len(b), len(c))
    return TestResult(
        test="mann_whitney_u",
        p_value=p,
        effect=float(np.percentile(canary_ms, percentile) - np.percentile(baseline_ms, percentile)),
        ci=(low, high),
        var_baseline=variance,
        var_canary=variance,
        direction=_sign(shift),
    )


def bootstrap_ratio_difference(
    baseline: tuple[NDArray[Any], NDArray[Any]], canary: tuple[NDArray[Any], NDArray[Any]]
) -> TestResult:
    """``sum(num)/sum(den)`` of the canary minus the baseline's: a percentile bootstrap, tasks resampled per version.

    Each version is ``(numerators, denominators)`` per task (for cost per successful task:
    each task's cost and whether it succeeded); a task's two numbers are resampled together.
    """
    rng = np.random.default_rng(SEED)
    idx_b = _subset(np.arange(len(baseline[0])), rng)
    idx_c = _subset(np.arange(len(canary[0])), rng)

    def ratio(values: tuple[NDArray[Any], NDArray[Any]], idx: NDArray[Any], axis: int) -> NDArray[Any]:
        i = idx.astype(np.int64)
        return values[0][i].sum(axis=axis) / values[1][i].sum(axis=axis)

    def difference(ic: NDArray[Any], ib: NDArray[Any], axis: int = -1) -> NDArray[Any]:
        return ratio(canary, ic, axis) - ratio(baseline, ib, axis)

    boot = _bootstrap((idx_c.astype(float), idx_b.astype(float)), difference, rng)
    dist = np.asarray(boot.bootstrap_distribution)
    dist = dist[np.isfinite(dist)]
    # The percentile bootstrap's p-value: 0 lies outside the (1 - p) interval.
    share = min(float(np.mean(dist <= 0)), float(np.mean(dist >= 0))) if len(dist) else 0.5
    p = min(1.0, max(2 * share, 1 / (len(dist) + 1)))
    low, high = float(boot.confidence_interval.low), float(boot.confidence_interval.high)
    effect = float(canary[0].sum() / canary[1].sum() - baseline[0].sum() / baseline[1].sum())
    # Delta-method variance per task of a ratio estimate: var(num - R * den) / mean(den)².
    variances = []
    for num, den in (baseline, canary):
        r = num.sum() / den.sum()
        variances.append(float(np.var(num - r * den, ddof=1) / np.mean(den) ** 2))
    return TestResult(
        test="bootstrap",
        p_value=p,
        effect=effect,
        ci=(low, high),
        var_baseline=variances[0],
        var_canary=variances[1],
        direction=_sign(effect),
    )


def holm(p_values: list[float]) -> list[float]:
    """Holm's (1979) step-down adjusted p-values, in the order given (each compared with ALPHA)."""
    m = len(p_values)
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda j: p_values[j])):
        # The k-th smallest p is multiplied by (m - k + 1); adjusted values never decrease.
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def canary_units_needed(distance: float, var_baseline: float, var_canary: float, n_baseline: int) -> int | None:
    """How many canary units in all would detect an effect of ``distance`` at ALPHA with POWER.

    The usual normal-approximation sample size, with the baseline's size fixed at what it is:
    ``z_(1-alpha/2) + z_(power)`` standard errors must fit in ``distance``. None when no number
    of canary units would do (the distance is 0, or the baseline alone is too noisy).
    """
    if not (distance > 0 and math.isfinite(distance) and math.isfinite(var_baseline) and math.isfinite(var_canary)):
        return None
    z = stats.norm.ppf(1 - ALPHA / 2) + stats.norm.ppf(POWER)
    room = (distance / z) ** 2 - var_baseline / n_baseline
    if room <= 0:
        return None
    return max(1, math.ceil(var_canary / room)) if var_canary > 0 else 1
