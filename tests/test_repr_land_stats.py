"""OG-REPR (`verdicts.size_trend`, `verdicts.rqi`) and LS-LAND (`verdicts.range_ratio`) on
synthetic inputs: SUPPORTED on the claimed shape, not SUPPORTED on the control or the reversed
ordering, INCONCLUSIVE ("positive control failed") when nothing generalizes or groks."""

from __future__ import annotations

import numpy as np
import pytest

from grokcore.record import Verdict
from grokcore.verdicts import range_ratio, rqi, size_trend
from grokcore.verdicts.sizes import first_generalized, parallelograms
from tests.synthetic import assert_positive_control_failed, synthetic

SIZES = (25, 35, 45, 54)
BUDGET = 1000


def runs(rule, n=6, seed=0):
    """(sizes, final RQI, times) for n seeds a size; rule(size) -> (generalizes?, time)."""
    rng = np.random.default_rng(seed)
    sizes, finals, times = [], [], []
    for size in SIZES:
        for _ in range(n):
            gen, t = rule(size)
            sizes.append(size)
            finals.append(rng.uniform(0.96, 1.0) if gen else rng.uniform(0.0, 0.4))
            times.append(int(t * rng.lognormal(0, 0.1)) if gen else BUDGET)
    return sizes, finals, times


def paper(size):  # Fig 6e: 45 and 55 generalize, 55 sooner; 25 and 35 never
    return size >= 45, {45: 500, 54: 125}.get(size, BUDGET)


def test_rqi_is_one_for_a_linear_representation_and_low_for_a_random_one():
    assert len(parallelograms(10)) == 70
    assert rqi(3.0 * np.arange(10) - 7) == 1.0
    assert rqi(np.arange(10)[:, None] * [1.0, -2.0]) == 1.0  # any affine map, any width
    assert rqi(np.random.default_rng(0).normal(size=10)) < 0.2
    assert rqi(np.ones(10)) == 0.0  # collapsed
    with pytest.raises(ValueError, match="p ≥ 4"):
        rqi(np.arange(3.0))


def test_first_generalized_takes_the_first_rung_over_the_threshold():
    assert first_generalized([125, 250, 500, 1000], [0.1, 0.97, 0.5, 0.99], 1000) == 250
    assert first_generalized([1000, 500], [0.2, 0.3], 1000) == 1000


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_size_trend_supports_figure_6e(seed):
    j = size_trend(*runs(paper, seed=seed), budget=BUDGET, fast=54, slow=45, seed=seed)
    assert j.verdict is Verdict.SUPPORTED, j.reason


def test_size_trend_reversed_ordering_is_not_supported():
    def reversed_(size):  # fewer pairs generalize more often, and sooner
        return size <= 35, {25: 100, 35: 300}.get(size, BUDGET)

    j = size_trend(*runs(reversed_), budget=BUDGET, fast=25, slow=35)
    # the largest size never generalizes: no positive control
    assert_positive_control_failed(j)

    def slower_with_more(size):  # all generalize, but 54 later than 45
        return True, {45: 150, 54: 600}.get(size, 400)

    j = size_trend(*runs(slower_with_more), budget=BUDGET, fast=54, slow=45)
    assert j.verdict is not Verdict.SUPPORTED
    speed = next(c for c in j.checks if c.name.startswith("median t"))
    assert speed.verdict is Verdict.REFUTED


def test_size_trend_with_no_size_effect_is_not_supported():
    def flat(size):  # every size alike: the control has no trend
        return True, 300

    j = size_trend(*runs(flat), budget=BUDGET, fast=54, slow=45)
    assert j.verdict is not Verdict.SUPPORTED


def test_size_trend_nothing_generalizes_is_inconclusive():
    j = size_trend(*runs(lambda s: (False, BUDGET)), budget=BUDGET, fast=54, slow=45)
    assert_positive_control_failed(j)


def test_size_trend_rejects_ragged_input():
    with pytest.raises(ValueError, match="equally long"):
        size_trend([25, 35], [1.0], [10, 10], budget=BUDGET, fast=35, slow=25)


# -- LS-LAND --------------------------------------------------------------------------------


def arm(t_train, t_test, n=6):
    return [synthetic(t_train, t_test, seed=s) for s in range(n)]


GROKS = arm(100, 3000)  # D = 29·t_train: grokking
COMPREHENDS = arm(100, 150)  # D = 0.5·t_train: comprehension


def test_range_ratio_supports_uneven_grokking_optima():
    rng = np.random.default_rng(0)
    j = range_ratio(GROKS, 8 * rng.uniform(0.9, 1.1, 6), COMPREHENDS, rng.uniform(0.9, 1.1, 6))
    assert j.verdict is Verdict.SUPPORTED, j.reason
    assert 6 < j.checks[0].value < 10


def test_range_ratio_control_with_equal_ranges_is_not_supported():
    rng = np.random.default_rng(1)
    j = range_ratio(GROKS, rng.uniform(0.5, 1.5, 6), COMPREHENDS, rng.uniform(0.5, 1.5, 6))
    assert j.verdict is not Verdict.SUPPORTED


def test_range_ratio_flatter_grokking_optima_are_refuted():
    j = range_ratio(GROKS, [0.1] * 3 + [0.12] * 3, COMPREHENDS, [1.0] * 3 + [1.1] * 3)
    assert j.verdict is Verdict.REFUTED


def test_range_ratio_needs_the_grokking_arm_to_grok():
    j = range_ratio(COMPREHENDS, [8.0] * 6, COMPREHENDS, [1.0] * 6)
    assert_positive_control_failed(j)
    j = range_ratio(arm(None, None), [8.0] * 6, COMPREHENDS, [1.0] * 6)  # nothing fits
    assert_positive_control_failed(j)


def test_range_ratio_control_arm_that_groks_too_is_not_supported():
    j = range_ratio(GROKS, [8.0, 9.0] * 3, arm(100, 3000), [1.0, 1.1] * 3)
    assert j.verdict is Verdict.INCONCLUSIVE


def test_range_ratio_rejects_ranges_that_do_not_match_the_runs():
    with pytest.raises(ValueError, match="one loss range per history"):
        range_ratio(GROKS, [1.0], COMPREHENDS, [1.0] * 6)
