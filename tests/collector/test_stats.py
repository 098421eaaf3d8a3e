"""The gate's statistics against published examples with known answers (collector/query/stats.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sp

from tracereel.collector.query import stats


def test_fisher_exact_on_the_lady_tasting_tea():
    # Fisher, The Design of Experiments (1935), ch. 2: 8 cups, 4 with milk first; the lady gets 3 of
    # the 4 right. P(3 or more right) = 17/70 = 0.243 one-sided; two-sided 34/70 = 0.486.
    # Expected cell counts are 2 (< 5), so the gate uses Fisher's exact test.
    result = stats.compare_rates(x_baseline=1, n_baseline=4, x_canary=3, n_canary=4)
    assert result.test == "fisher_exact"
    assert result.p_value == pytest.approx(34 / 70)
    assert result.effect == pytest.approx(0.5)


def test_two_proportion_z_test_on_a_worked_example():
    # Usable Stats, "Ask Stats" question 866 (usablestats.com/askstats/question/866): breast cancer in
    # 118 of 3,303 women against 80 of 3,303; pooled p = 0.02997, SE = 0.004196, z = 2.742, two-sided
    # p = 0.00611. Every expected cell count is far above 5, so the gate uses the z test.
    result = stats.compare_rates(x_baseline=80, n_baseline=3303, x_canary=118, n_canary=3303)
    assert result.test == "two_proportion_z"
    assert result.p_value == pytest.approx(0.00611, abs=5e-5)
    assert result.effect == pytest.approx(0.01150, abs=5e-6)
    # The same p-value as the pooled z statistic worked out by hand.
    pooled = (118 + 80) / (2 * 3303)
    z = result.effect / math.sqrt(pooled * (1 - pooled) * 2 / 3303)
    assert z == pytest.approx(2.742, abs=0.001)
    assert result.p_value == pytest.approx(2 * sp.norm.sf(z), rel=1e-9)


def test_newcombe_interval_for_a_difference_of_rates():
    # Newcombe, "Interval estimation for the difference between independent proportions: comparison
    # of eleven methods", Statistics in Medicine 17 (1998), Table II, method 10 (hybrid score):
    # 56/70 - 48/80 -> 0.0524 to 0.3339; 9/10 - 3/10 -> 0.1705 to 0.8090.
    low, high = stats.newcombe_interval(56, 70, 48, 80)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)
    low, high = stats.newcombe_interval(9, 10, 3, 10)
    assert (round(low, 4), round(high, 4)) == (0.1705, 0.8090)


def test_mann_whitney_u_on_scipys_documented_example():
    # The worked example in scipy.stats.mannwhitneyu's documentation (docs.scipy.org, Examples): ages of
    # 5 males [19, 22, 16, 29, 24] and 4 females [20, 11, 17, 12]; U = 17, exact two-sided p = 0.1111
    # (= 14/126: 14 of the 126 ways to rank them are as extreme).
    males, females = np.array([19.0, 22, 16, 29, 24]), np.array([20.0, 11, 17, 12])
    result = stats.compare_latency(baseline_ms=females, canary_ms=males, percentile=50)
    assert result.test == "mann_whitney_u"
    assert result.p_value == pytest.approx(0.1111, abs=1e-4)
    assert result.effect == 22 - 14.5  # median of the canary minus median of the baseline
    assert sp.mannwhitneyu(males, females).statistic == 17


def test_holm_on_the_textbook_four_hypotheses():
    # Holm, "A simple sequentially rejective multiple test procedure" (1979), as worked in Wikipedia's
    # Holm-Bonferroni article: p = 0.01, 0.04, 0.03, 0.005 at alpha 0.05 rejects H1 and H4 only.
    adjusted = stats.holm([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert [p < 0.05 for p in adjusted] == [True, False, False, True]
    assert stats.holm([]) == []
    assert stats.holm([0.9, 0.8]) == [1.0, 1.0]  # capped at 1


def test_sample_size_matches_the_two_group_rule_of_thumb():
    # Two groups, standardised difference 0.5, two-sided alpha 0.05, power 0.8:
    # n = 2 (1.96 + 0.8416)^2 / 0.5^2 = 62.8, the textbook "63 per group" (Cohen 1988, z approximation).
    assert stats.canary_units_needed(0.5, 1.0, 1.0, n_baseline=63) == 63
    # No difference to find, or a baseline too small for any canary to make up for it: no number.
    assert stats.canary_units_needed(0.0, 1.0, 1.0, n_baseline=63) is None
    assert stats.canary_units_needed(0.5, 1.0, 1.0, n_baseline=10) is None


def test_bootstrap_interval_covers_the_true_difference_about_95_percent_of_the_time():
    # No published number for a seeded bootstrap: check what it promises instead. Two versions whose
    # true cost per success is equal (cost ~ exponential(0.01), success ~ Bernoulli(0.8)); over 200
    # simulated comparisons of 60 tasks each, the 95% interval should hold the true difference (0) in
    # about 190; the 99.9% binomial range for 200 draws at 0.95 is about 178 to 199.
    rng = np.random.default_rng(1)
    covered = disagreements = 0
    for _ in range(200):
        versions = []
        for _ in range(2):
            success = (rng.random(60) < 0.8).astype(float)
            versions.append((rng.exponential(0.01, 60), success))
        result = stats.bootstrap_ratio_difference(versions[0], versions[1])
        inside = result.ci[0] <= 0 <= result.ci[1]
        covered += inside
        # The p-value and the interval come from the same resamples: p < 0.05 exactly when 0 is outside.
        disagreements += (result.p_value < 0.05) == inside
    assert 178 <= covered <= 199
    assert disagreements == 0


def test_bootstrap_finds_a_real_difference_and_is_reproducible():
    rng = np.random.default_rng(2)
    cheap = (rng.exponential(0.01, 300), np.ones(300))
    dear = (rng.exponential(0.02, 300), np.ones(300))
    first = stats.bootstrap_ratio_difference(cheap, dear)
    assert first.ci[0] > 0.005 and first.p_value < 0.001
    assert first.effect == pytest.approx(dear[0].mean() - cheap[0].mean())
    assert stats.bootstrap_ratio_difference(cheap, dear) == first  # seeded: the same data, the same answer
