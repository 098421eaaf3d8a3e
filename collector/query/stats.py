"""The canary gate's statistics, on plain numbers and arrays (DESIGN.md "Gates and monitors", "One truth").

Every comparison answers two one-sided questions, "is the canary's value higher?" and "is it
lower?", each with its own p-value, and gives an interval whose ends are the one-sided bounds at
the level the verdict is decided on. The interval is the inversion of the test itself, so at any
level ``alpha``: the lower end is above 0 exactly when the "higher" p-value is below ``alpha``, the
upper end below 0 exactly when the "lower" p-value is. A verdict, its interval and its p-value
therefore never contradict each other.

- Rates (x events out of n units): the score test for a difference of two proportions
  (Farrington and Manning 1990; at a difference of 0 it is the pooled two-proportion z test), and
  the interval that inverts it (Mee 1984: every difference the score test would not reject). scipy
  has the normal distribution and a root finder, not this interval; the restricted maximum
  likelihood it needs has a closed form (Miettinen and Nurminen 1985), written out below.
- Latency percentiles and cost per successful task (a ratio of sums): a percentile bootstrap of
  the difference (tasks resampled within each version). The p-values are the
  shares of resampled differences on either side of 0, (count + 1) / (resamples + 1), and the
  interval's ends are read from the same resamples with the same comparison, so they agree exactly.
  A resample's percentile depends only on two of its order statistics, and the k-th smallest of n
  uniform draws is Beta(k, n + 1 - k) distributed, so a percentile's resamples are drawn directly
  (the same distribution as resampling every task, at a cost that does not grow with the tasks).
- Cost per successful task with at least NORMAL_FROM units in each version: the normal
  approximation of the ratio's difference (delta method), where the bootstrap and it agree
  (tests/collector/test_stats.py); its interval is the z test inverted, so it agrees with the test.
- Several metrics at once: a weighted Bonferroni correction. Metric k is decided at the one-sided
  level ``ALPHA * weight_k`` (the weights sum to 1) and shown with the interval at that level; its
  corrected p-value is ``min(1, p / weight_k)``. Holm's step-down procedure would decide more, but
  its level depends on the other metrics' p-values, so no interval at a fixed level matches its
  decisions; Bonferroni's level is fixed, and one interval per metric says the same as its test.

Why one-sided: the gate guards against "worse". A false ``fail`` needs a false "worse" on some
metric, and those have at most ``ALPHA`` family-wise (each metric spends its share). A false
``better`` is likewise at most ``ALPHA`` family-wise; it never changes the gate's verdict.

Effects are always canary minus baseline. Nothing here knows SQL or HTTP.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

# scipy is imported by the functions that use it: it takes seconds to import, and every collector
# process imports this module as it starts (the read API), while few requests ever compare.

__all__ = [
    "ALPHA",
    "BOOTSTRAP_CAP",
    "NORMAL_FROM",
    "POWER",
    "RESAMPLES",
    "TestResult",
    "bootstrap_ratio_difference",
    "canary_units_needed",
    "compare_percentiles",
    "compare_rates",
    "corrected_p",
    "normal_ratio_difference",
    "score_interval",
]

# Family-wise, one-sided: how often two equal versions fail the gate at most. Not 5%: a gate that
# spends 5% fails about 5% of equal canaries, and about half of the runs of 200 would measure above
# the 5% target (bench/gate_calibration.py); at 3% a run of 200 stays under it.
ALPHA: Final = 0.03
POWER: Final = 0.8  # of the "how many more tasks" estimate (beta = 0.2)
# A metric's level is ALPHA times its weight (ALPHA / 24 by default, outside task success): 3,999
# resamples leave about five beyond the interval's end at that level, and keep a gate under a second.
RESAMPLES: Final = 3999
# Above this many tasks per version the bootstrap resamples a fixed random subset: the interval
# is then wider than it could be (conservative), and the gate stays fast (bench/query.py).
BOOTSTRAP_CAP: Final = 10_000
# From this many units (successful tasks) in each version on, a ratio's difference is judged by its normal
# approximation: the bootstrap's cost grows with the tasks, and there its intervals and the normal ones agree.
NORMAL_FROM: Final = BOOTSTRAP_CAP
SEED: Final = 20_26  # bootstraps are seeded, so the same data give the same verdict


@dataclass(frozen=True)
class TestResult:
    """One comparison at one level: the test, its two one-sided p-values, the effect and its interval.

    ``p_higher`` is small when the canary's value is higher than the baseline's, ``p_lower`` when
    it is lower. ``ci`` holds the two one-sided bounds at the level asked for; an end is None when
    the data bound it at no value (a bootstrap with no finite resample). ``var_baseline`` and
    ``var_canary`` are the per-unit variances behind the effect (its variance is about
    ``var_baseline / n_baseline + var_canary / n_canary``), for the "how many more tasks" estimate.
    """

    test: str
    effect: float
    p_higher: float
    p_lower: float
    ci: tuple[float | None, float | None]
    var_baseline: float
    var_canary: float

    @property
    def p_value(self) -> float:
        """The one-sided p-value in the direction the canary moved (the smaller of the two)."""
        return min(self.p_higher, self.p_lower)

    @property
    def direction(self) -> int:
        """+1 when the test leans to a higher canary value, -1 to a lower one, 0 to neither."""
        return (self.p_higher < self.p_lower) - (self.p_lower < self.p_higher)


def corrected_p(p_value: float, weight: float) -> float:
    """The weighted Bonferroni p-value: below ALPHA exactly when ``p_value`` is below ``ALPHA * weight``."""
    return min(1.0, p_value / weight)


# --- rates: the score test and its inversion ---------------------------------------------------


def _restricted_rates(x1: int, n1: int, x0: int, n0: int, delta: float) -> tuple[float, float]:
    """The maximum-likelihood rates (p1, p0) under ``p1 - p0 = delta``: Miettinen and Nurminen's cubic."""
    if delta == 0:
        pooled = (x1 + x0) / (n1 + n0)
        return pooled, pooled
    r1, r0 = x1 / n1, x0 / n0
    theta = n0 / n1
    a = 1 + theta
    b = -(1 + theta + r1 + theta * r0 + delta * (theta + 2))
    c = delta**2 + delta * (2 * r1 + theta + 1) + r1 + theta * r0
    d = -r1 * delta * (1 + delta)
    v = b**3 / (3 * a) ** 3 - b * c / (6 * a**2) + d / (2 * a)
    u = math.copysign(math.sqrt(max(0.0, b**2 / (3 * a) ** 2 - c / (3 * a))), v)
    # The cubic's three roots are real; the one in range is this one (rounding can push the cosine past 1).
    cosine = max(-1.0, min(1.0, v / u**3)) if u != 0 else 0.0
    w = (math.pi + math.acos(cosine)) / 3
    p1 = min(1.0, max(0.0, 2 * u * math.cos(w) - b / (3 * a)))
    return p1, min(1.0, max(0.0, p1 - delta))


def _score(x1: int, n1: int, x0: int, n0: int, delta: float) -> float:
    """The score statistic for ``p1 - p0 = delta``: large when the observed difference is above ``delta``."""
    p1, p0 = _restricted_rates(x1, n1, x0, n0, delta)
    gap = x1 / n1 - x0 / n0 - delta
    variance = p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0
    if variance <= 0:
        return 0.0 if gap == 0 else math.copysign(math.inf, gap)
    return gap / math.sqrt(variance)


def _invert(statistic: Callable[[float], float], target: float, low: float, high: float) -> float:
    """Where the decreasing ``statistic`` crosses ``target`` in ``[low, high]`` (an end when it does not)."""
    from scipy import optimize

    f_low, f_high = statistic(low) - target, statistic(high) - target
    if f_low <= 0:
        return low
    if f_high >= 0:
        return high
    return float(optimize.brentq(lambda d: statistic(d) - target, low, high, xtol=1e-13, rtol=1e-13))


def score_interval(x_canary: int, n_canary: int, x_baseline: int, n_baseline: int, alpha: float) -> tuple[float, float]:
    """Every difference ``canary - baseline`` of rates that the one-sided score tests at ``alpha`` do not reject.

    Mee's (1984) interval, at confidence ``1 - 2 * alpha``: its lower end is above 0 exactly when
    the score test finds the canary's rate higher at ``alpha``, its upper end below 0 exactly when
    it finds it lower.
    """
    from scipy import stats

    crit = float(stats.norm.isf(alpha))
    observed = x_canary / n_canary - x_baseline / n_baseline

    def z(delta: float) -> float:
        return _score(x_canary, n_canary, x_baseline, n_baseline, delta)

    # Just inside -1 and 1: at the ends themselves the restricted rates are 0 and 1, with no variance.
    edge = 1 - 1e-12
    lower = _invert(z, crit, -edge, observed) if observed > -edge else -1.0
    upper = _invert(z, -crit, observed, edge) if observed < edge else 1.0
    return lower, upper


def compare_rates(x_baseline: int, n_baseline: int, x_canary: int, n_canary: int, alpha: float) -> TestResult:
    """Compare two rates with the score test (pooled z at a difference of 0); its inverted interval at ``alpha``."""
    from scipy import stats

    z = _score(x_canary, n_canary, x_baseline, n_baseline, 0.0)
    # Both versions' units vary as the pooled rate's: a canary rate of 0 seen in a few tasks is
    # not a variance of 0 (which would make any few more tasks look enough).
    pooled = (x_baseline + x_canary) / (n_baseline + n_canary)
    return TestResult(
        test="two_proportion_z",
        effect=x_canary / n_canary - x_baseline / n_baseline,
        p_higher=float(stats.norm.sf(z)),
        p_lower=float(stats.norm.cdf(z)),
        ci=score_interval(x_canary, n_canary, x_baseline, n_baseline, alpha),
        var_baseline=pooled * (1 - pooled),
        var_canary=pooled * (1 - pooled),
    )


# --- percentiles and ratios: the bootstrap -----------------------------------------------------


def _subset(values: NDArray[Any], rng: np.random.Generator) -> NDArray[Any]:
    return values if len(values) <= BOOTSTRAP_CAP else rng.choice(values, BOOTSTRAP_CAP, replace=False)


def _resampled(data: tuple[NDArray[Any], NDArray[Any]], statistic: Any, rng: np.random.Generator) -> NDArray[Any]:
    """scipy's bootstrap distribution of a two-sample statistic (canary first), seeded by ``rng``; finite values."""
    from scipy import stats

    # A resample of a few tasks may hold no successful one (a ratio of inf) or be all alike: scipy
    # then warns; such resamples bound nothing and are left out.
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        boot = stats.bootstrap(
            data,
            statistic,
            n_resamples=RESAMPLES,
            method="percentile",
            random_state=rng,
            batch=500,
        )
    dist = np.sort(np.asarray(boot.bootstrap_distribution, dtype=float))
    return dist[np.isfinite(dist)]


def _bootstrap_result(
    test: str, effect: float, dist: NDArray[Any], alpha: float, variances: tuple[float, float]
) -> TestResult:
    """The p-values and the interval at ``alpha`` from one sorted bootstrap distribution, read alike.

    ``p_higher(d)`` is the share of resampled differences at or below ``d``: (count + 1) / (B + 1).
    The lower end is the smallest resampled value ``d`` with ``p_higher(d) >= alpha``; since the
    count only grows with ``d``, it is above 0 exactly when ``p_higher(0) < alpha``. The upper end
    mirrors it with the share at or above ``d``.
    """
    b = len(dist)
    if b == 0 or alpha * (b + 1) <= 1:
        # No resample, or a level finer than the resamples can resolve: nothing is shown either way.
        return TestResult(test, effect, 1.0, 1.0, (None, None), *variances)
    higher = (np.searchsorted(dist, dist, side="right") + 1) / (b + 1)  # p_higher(d) at each resampled d
    lower = (b - np.searchsorted(dist, dist, side="left") + 1) / (b + 1)
    p_higher = (int(np.searchsorted(dist, 0.0, side="right")) + 1) / (b + 1)
    p_lower = (b - int(np.searchsorted(dist, 0.0, side="left")) + 1) / (b + 1)
    reaching = np.nonzero(higher >= alpha)[0]
    low = float(dist[reaching[0]]) if len(reaching) else None
    reaching = np.nonzero(lower >= alpha)[0]
    high = float(dist[reaching[-1]]) if len(reaching) else None
    return TestResult(test, effect, min(1.0, p_higher), min(1.0, p_lower), (low, high), *variances)


def _unit_variance(dist: NDArray[Any], n_baseline: int, n_canary: int) -> float:
    """The per-unit variance the resampled differences imply, if both versions' units vary alike."""
    if len(dist) < 2:
        return math.inf
    variance: float = float(dist.var(ddof=1))
    return variance / (1 / n_baseline + 1 / n_canary)


def _percentile_resamples(values: NDArray[Any], percentile: float, rng: np.random.Generator, size: int) -> NDArray[Any]:
    """``size`` bootstrap resamples of numpy's (linear) ``percentile`` of ``values``, drawn without resampling.

    numpy's percentile of n values is ``v[lo] + frac * (v[lo + 1] - v[lo])`` at ``h = (n - 1) q``, so a
    resample's needs its (lo+1)-th and (lo+2)-th smallest draws. A draw is ``sorted[floor(n U)]`` with U
    uniform, and floor is monotone: the k-th smallest draw is ``sorted[floor(n U_(k))]``, U_(k) ~ Beta(k, n + 1 - k),
    and the next one above it the smallest of the other n - k uniforms on (U_(k), 1).
    """
    ordered = np.sort(np.asarray(values, dtype=float))
    n = len(ordered)
    h = (n - 1) * percentile / 100
    lo = min(math.floor(h), n - 1)
    frac = h - lo
    first_u = rng.beta(lo + 1, n - lo, size)
    first = ordered[np.minimum((first_u * n).astype(np.int64), n - 1)]
    if frac == 0 or lo + 1 >= n:
        return first
    second_u = first_u + (1 - first_u) * rng.beta(1, n - lo - 1, size)
    second = ordered[np.minimum((second_u * n).astype(np.int64), n - 1)]
    return first + frac * (second - first)


def compare_percentiles(
    baseline_ms: NDArray[Any],
    canary_ms: NDArray[Any],
    percentile: float,
    alpha: float,
    *,
    effect: float | None = None,
) -> TestResult:
    """The difference of the ``percentile`` (0-100) of the durations: a bootstrap test and interval at ``alpha``.

    ``effect``: the difference over every task when the arrays are a subset of them (default: the arrays').
    """
    rng = np.random.default_rng(SEED)
    b, c = _subset(baseline_ms, rng), _subset(canary_ms, rng)
    resampled = _percentile_resamples(c, percentile, rng, RESAMPLES) - _percentile_resamples(
        b, percentile, rng, RESAMPLES
    )
    dist = np.sort(resampled[np.isfinite(resampled)])
    if effect is None:
        effect = float(np.percentile(canary_ms, percentile) - np.percentile(baseline_ms, percentile))
    variance = _unit_variance(dist, len(b), len(c))
    return _bootstrap_result("bootstrap", effect, dist, alpha, (variance, variance))


def bootstrap_ratio_difference(
    baseline: tuple[NDArray[Any], NDArray[Any]],
    canary: tuple[NDArray[Any], NDArray[Any]],
    alpha: float,
    *,
    effect: float | None = None,
) -> TestResult:
    """``sum(num)/sum(den)`` of the canary minus the baseline's: a bootstrap test and interval at ``alpha``.

    Each version is ``(numerators, denominators)`` per task (for cost per successful task:
    each task's cost and whether it succeeded); a task's two numbers are resampled together.
    ``effect``: the difference over every task when the arrays are a subset of them (default: the arrays').
    """
    rng = np.random.default_rng(SEED)
    idx_b = _subset(np.arange(len(baseline[0])), rng)
    idx_c = _subset(np.arange(len(canary[0])), rng)

    def ratio(values: tuple[NDArray[Any], NDArray[Any]], idx: NDArray[Any], axis: int) -> NDArray[Any]:
        i = idx.astype(np.int64)
        return values[0][i].sum(axis=axis) / values[1][i].sum(axis=axis)

    def difference(ic: NDArray[Any], ib: NDArray[Any], axis: int = -1) -> NDArray[Any]:
        return ratio(canary, ic, axis) - ratio(baseline, ib, axis)

    dist = _resampled((idx_c.astype(float), idx_b.astype(float)), difference, rng)
    if effect is None:
        effect = float(canary[0].sum() / canary[1].sum() - baseline[0].sum() / baseline[1].sum())
    # Delta-method variance per task of a ratio estimate: var(num - R * den) / mean(den)².
    variances: list[float] = []
    for num, den in (baseline, canary):
        r = num.sum() / den.sum()
        spread: float = float((num - r * den).var(ddof=1))
        variances.append(spread / float(den.mean()) ** 2)
    return _bootstrap_result("bootstrap", effect, dist, alpha, (variances[0], variances[1]))


def normal_ratio_difference(
    baseline: tuple[float, float, int, float],
    canary: tuple[float, float, int, float],
    alpha: float,
) -> TestResult:
    """``sum(num)/sum(den)`` of the canary minus the baseline's: the normal approximation's test and interval.

    Each version is ``(sum of numerators, sum of denominators, tasks, per-task variance)``, the variance
    the delta method's ``var(num - R * den) / mean(den)²`` (as :func:`bootstrap_ratio_difference` gives
    it), so the ratio's variance is ``variance / tasks``. The interval is every difference the one-sided
    z tests at ``alpha`` do not reject: its lower end is above 0 exactly when ``p_higher`` is below ``alpha``.
    """
    from scipy import stats

    (num_b, den_b, tasks_b, var_b), (num_c, den_c, tasks_c, var_c) = baseline, canary
    effect = num_c / den_c - num_b / den_b
    se = math.sqrt(var_b / tasks_b + var_c / tasks_c)
    crit = float(stats.norm.isf(alpha))
    if not se > 0:  # every task alike in both versions: the difference is what it is
        higher, lower = (0.0, 1.0) if effect > 0 else (1.0, 0.0) if effect < 0 else (1.0, 1.0)
        return TestResult("normal", effect, higher, lower, (effect, effect), var_b, var_c)
    z = effect / se
    return TestResult(
        "normal",
        effect,
        float(stats.norm.sf(z)),
        float(stats.norm.cdf(z)),
        (effect - crit * se, effect + crit * se),
        var_b,
        var_c,
    )


def canary_units_needed(
    distance: float, var_baseline: float, var_canary: float, n_baseline: int, alpha: float
) -> int | None:
    """How many canary units in all would detect an effect of ``distance`` one-sided at ``alpha`` with POWER.

    The usual normal-approximation sample size, with the baseline's size fixed at what it is:
    ``z_(1-alpha) + z_(power)`` standard errors must fit in ``distance``. None when no number
    of canary units would do (the distance is 0, or the baseline alone is too noisy).
    """
    from scipy import stats

    if not (distance > 0 and math.isfinite(distance) and math.isfinite(var_baseline) and math.isfinite(var_canary)):
        return None
    z = stats.norm.isf(alpha) + stats.norm.ppf(POWER)
    room = (distance / z) ** 2 - var_baseline / n_baseline
    if room <= 0:
        return None
    return max(1, math.ceil(var_canary / room)) if var_canary > 0 else 1
