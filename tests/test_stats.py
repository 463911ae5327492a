"""Statistics on synthetic data with a known truth, and the CI -> verdict rule.

Stochastic tests run over a fixed set of seeds (the seed is in the test id, so
a failure can be replayed).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from grokcore.record import Verdict
from grokcore.stats import (
    Estimate,
    Region,
    bootstrap_diff,
    bootstrap_ratio,
    clopper_pearson,
    clopper_pearson_upper,
    fisher_exact,
    judge,
    logistic_midpoint,
    loglog_slope,
    share,
    spearman,
)

SEEDS = [0, 1, 2, 3, 4]


def power_law_sample(slope: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """t = 50 · γ^slope with 20% log-normal noise, 6 γ values × 4 seeds (the OG-INV design)."""
    rng = np.random.default_rng(seed)
    gamma = np.repeat(np.geomspace(0.03, 1.0, 6), 4)
    return gamma, 50 * gamma**slope * rng.lognormal(0, 0.2, gamma.size)


# -- judging ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ci", "region", "verdict"),
    [
        ((0.1, 0.2), Region.below(0.25), Verdict.SUPPORTED),
        ((0.2, 0.3), Region.below(0.25), Verdict.INCONCLUSIVE),
        ((0.3, 0.5), Region.below(0.25), Verdict.REFUTED),
        ((1.1, 2.0), Region.above(1.0), Verdict.SUPPORTED),
        ((0.9, 1.1), Region.above(1.0), Verdict.INCONCLUSIVE),
        ((0.2, 0.9), Region.above(1.0), Verdict.REFUTED),
        ((0.4, 0.6), Region.inside(0.3, 0.8), Verdict.SUPPORTED),
        ((0.2, 0.6), Region.inside(0.3, 0.8), Verdict.INCONCLUSIVE),
        ((0.85, 0.9), Region.inside(0.3, 0.8), Verdict.REFUTED),
        ((-1.2, -0.8), Region.contains(-1), Verdict.SUPPORTED),
        ((-0.3, 0.2), Region.contains(-1), Verdict.REFUTED),
        ((0.1, 0.5), Region.excludes(0), Verdict.SUPPORTED),
        ((-0.1, 0.5), Region.excludes(0), Verdict.INCONCLUSIVE),
    ],
)
def test_judge_semantics(ci, region, verdict):
    est = Estimate(value=sum(ci) / 2, ci=ci, n=10, method="synthetic")
    check = judge(est, region, "stat")
    assert check.verdict is verdict
    assert check.region == region.text
    assert check.ci == ci and check.level == 0.95


def test_region_text_reads_like_the_catalogue():
    assert Region.below(0.25).text == "CI below 0.25"
    assert Region.contains(-1).text == "CI contains −1"
    assert Region.inside(0.3, 0.8).text == "CI inside [0.3, 0.8]"
    with pytest.raises(ValueError, match="lo < hi"):
        Region.inside(1, 0)


@pytest.mark.parametrize("bad", [(math.nan, (0.0, 1.0)), (0.5, (math.nan, 1.0))])
def test_nan_estimate_is_inconclusive_and_says_why(bad):
    value, ci = bad
    check = judge(Estimate(value, ci), Region.contains(0.5), "stat", paper_value="0.5")
    assert check.verdict is Verdict.INCONCLUSIVE
    assert "NaN" in check.detail
    assert check.paper_value == "0.5"


# -- log-log slope -------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_inverse_law_slope_contains_minus_one_and_excludes_zero(seed):
    est = loglog_slope(*power_law_sample(-1.0, seed))
    assert est.ci[0] < -1 < est.ci[1]
    assert judge(est, Region.contains(-1), "slope").verdict is Verdict.SUPPORTED
    assert judge(est, Region.excludes(0), "slope").verdict is Verdict.SUPPORTED


@pytest.mark.parametrize("seed", SEEDS)
def test_flat_law_is_refuted_against_minus_one(seed):
    est = loglog_slope(*power_law_sample(0.0, seed))
    assert judge(est, Region.contains(-1), "slope").verdict is Verdict.REFUTED


def test_exact_power_law_gives_exact_slope():
    x = np.geomspace(1, 100, 7)
    est = loglog_slope(x, 3 * x**-0.7)
    assert est.value == pytest.approx(-0.7)
    assert est.ci[1] - est.ci[0] < 1e-6
    assert est.n == 7


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        ([1, 2], [1, 2], "at least 3"),
        ([1, 2, 0], [1, 2, 3], "positive"),
        ([2, 2, 2], [1, 2, 3], "distinct"),
    ],
)
def test_loglog_slope_rejects_bad_input(x, y, match):
    with pytest.raises(ValueError, match=match):
        loglog_slope(x, y)


# -- bootstrap of two samples ---------------------------------------------------


def delays(median: float, n: int, seed: int) -> np.ndarray:
    return median * np.random.default_rng(seed).lognormal(0, 0.5, n)


@pytest.mark.parametrize("seed", SEEDS)
def test_ratio_of_one_tenth_is_below_quarter(seed):
    est = bootstrap_ratio(delays(100, 12, seed), delays(1000, 12, seed + 100), n_boot=4000)
    assert est.ci[1] < 0.25
    assert judge(est, Region.below(0.25), "D ratio").verdict is Verdict.SUPPORTED


@pytest.mark.parametrize("seed", SEEDS)
def test_ratio_of_one_is_refuted_below_quarter(seed):
    est = bootstrap_ratio(delays(1000, 12, seed), delays(1000, 12, seed + 100), n_boot=4000)
    assert est.ci[0] < 1 < est.ci[1]
    assert judge(est, Region.below(0.25), "D ratio").verdict is Verdict.REFUTED


def test_bootstrap_diff_and_mean_stat():
    a, b = delays(1000, 30, 0) + 500, delays(1000, 30, 1)
    est = bootstrap_diff(a, b, stat=np.mean, n_boot=4000)
    assert est.value == pytest.approx(a.mean() - b.mean())
    assert est.ci[0] > 0 and "mean" in est.method


def test_zero_denominator_gives_nan_ci_and_inconclusive():
    est = bootstrap_ratio([1.0, 2.0, 3.0], [0.0, 0.0, 1.0], n_boot=500)
    assert math.isnan(est.ci[0]) and "bad resamples" in est.method
    assert judge(est, Region.below(0.25), "ratio").verdict is Verdict.INCONCLUSIVE


# -- counts ----------------------------------------------------------------------


def test_clopper_pearson_known_values():
    est = clopper_pearson(0, 16)
    assert est.value == 0 and est.ci[0] == 0
    assert est.ci[1] == pytest.approx(0.206, abs=5e-4)
    assert clopper_pearson_upper(0, 30) < 0.1
    assert clopper_pearson_upper(5, 5) == 1.0
    assert share([True] * 3 + [False] * 13) == clopper_pearson(3, 16)


@settings(max_examples=100, deadline=None)
@given(n=hs.integers(1, 200), frac=hs.floats(0, 1), level=hs.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_clopper_pearson_ci_is_ordered_and_covers_the_point(n, frac, level):
    k = round(frac * n)
    est = clopper_pearson(k, n, level)
    assert 0 <= est.ci[0] <= k / n <= est.ci[1] <= 1
    # a one-sided bound at level L is tighter than the two-sided upper end at L
    assert clopper_pearson_upper(k, n, level) <= est.ci[1] + 1e-12


def test_fisher_exact_separates_nine_of_ten_from_one_of_ten():
    odds, p = fisher_exact(9, 10, 1, 10)
    assert p < 0.05 and odds > 1
    assert fisher_exact(5, 10, 5, 10)[1] > 0.5
    with pytest.raises(ValueError):
        fisher_exact(11, 10, 1, 10)


# -- Spearman -------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_spearman_of_decreasing_relation_is_below_zero(seed):
    rng = np.random.default_rng(seed)
    frac = rng.uniform(0.2, 0.8, 15)
    t_gen = 1000 / frac**2 * rng.lognormal(0, 0.3, frac.size)
    est = spearman(frac, t_gen, n_boot=2000, seed=seed)
    assert est.ci[1] < 0
    assert judge(est, Region.below(0), "ρ").verdict is Verdict.SUPPORTED


def test_spearman_constant_input_is_nan():
    est = spearman([1, 2, 3, 4], [5, 5, 5, 5])
    assert math.isnan(est.value)


def test_spearman_skips_degenerate_resamples():
    # with 3 points many resamples repeat one pair; those must be skipped, not NaN the CI
    est = spearman([1, 2, 3], [3, 2, 1], n_boot=500)
    assert est.value == -1 and not math.isnan(est.ci[0])


# -- logistic midpoint ----------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_logistic_midpoint_recovers_critical_fraction(seed):
    rng = np.random.default_rng(seed)
    frac = np.repeat(np.linspace(0.05, 0.6, 12), 6)
    p = 1 / (1 + np.exp(-(frac - 0.25) / 0.04))
    generalized = rng.random(frac.size) < p
    est = logistic_midpoint(frac, generalized, n_boot=400, seed=seed)
    assert est.ci[0] <= 0.25 <= est.ci[1]
    assert judge(est, Region.inside(0.15, 0.4), "50% point").verdict is Verdict.SUPPORTED


def test_logistic_midpoint_separable_data_stays_finite():
    frac = np.array([0.1, 0.15, 0.2, 0.3, 0.35, 0.4])
    est = logistic_midpoint(frac, frac > 0.25, n_boot=200)
    assert 0.2 < est.value < 0.3
    assert all(np.isfinite(est.ci))


def test_logistic_midpoint_one_class_is_nan():
    assert math.isnan(logistic_midpoint([0.1, 0.2, 0.3], [True, True, True]).value)


# -- reproducibility ------------------------------------------------------------


def test_seeded_estimates_repeat_exactly():
    a, b = delays(100, 10, 0), delays(1000, 10, 1)
    x = np.linspace(0.1, 0.6, 30)
    y = x > 0.3
    y[[3, 20]] = ~y[[3, 20]]
    for f in (
        lambda: bootstrap_ratio(a, b, n_boot=2000),
        lambda: bootstrap_diff(a, b, n_boot=2000),
        lambda: spearman(a, b, n_boot=2000),
        lambda: logistic_midpoint(x, y, n_boot=200),
    ):
        assert f() == f()
    assert bootstrap_ratio(a, b, n_boot=2000, seed=1) != bootstrap_ratio(a, b, n_boot=2000)
