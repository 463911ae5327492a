"""Metrics on synthetic curves whose answers are known by construction."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from grokcore.history import History
from grokcore.metrics import (
    Phase,
    Timing,
    delay,
    first_reach,
    loss_spikes,
    peak_in_window,
    peak_step,
    phase,
    t_test,
    t_train,
    ungrokking,
)

BUDGET = 20_000


def grid(budget: int = BUDGET) -> np.ndarray:
    """Log-spaced evaluation steps, plus a linear grid so late transitions are resolved."""
    log = np.geomspace(1, budget, 200).astype(np.int64)
    return np.unique(np.concatenate([[0], log, np.arange(0, budget + 1, 50)]))


def sigmoid_curve(steps: np.ndarray, at: float, width: float = 20.0) -> np.ndarray:
    """Accuracy rising from 0.01 to 1 and crossing 0.95 near step `at`."""
    # shift so that the 0.95 crossing lands at `at`, not the 50% point
    mid = at - width * np.log(0.94 / 0.04)
    return 0.01 + 0.99 / (1 + np.exp(-(steps - mid) / width))


def make_history(
    train_acc: np.ndarray, test_acc: np.ndarray, steps: np.ndarray, budget: int = BUDGET
) -> History:
    n = len(steps)
    return History(
        steps=steps,
        train_loss=1 - train_acc,
        train_acc=train_acc,
        test_loss=1 - test_acc,
        test_acc=test_acc,
        norm=np.ones(n),
        budget=budget,
    )


@pytest.fixture
def grokking_run() -> History:
    s = grid()
    return make_history(sigmoid_curve(s, 100), sigmoid_curve(s, 5000), s)


# -- first_reach / t_train / t_test ---------------------------------------------


def test_first_reach_exact_threshold_counts_and_nan_does_not():
    steps = np.array([0, 10, 20, 30, 40])
    values = np.array([0.1, np.nan, 0.95, 0.2, 0.99])
    assert first_reach(steps, values, 0.95, 100) == Timing(20, False)
    assert first_reach(steps, np.full(5, np.nan), 0.5, 100) == Timing(100, True)
    assert first_reach(steps, values, 1.0, 100) == Timing(100, True)


def test_first_reach_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes"):
        first_reach(np.arange(3), np.zeros(4), 0.5, 10)


def test_grokking_run_timings_delay_and_phase(grokking_run):
    tr, te = t_train(grokking_run), t_test(grokking_run)
    assert not tr.censored and not te.censored
    assert tr.step == pytest.approx(100, abs=10)
    assert te.step == pytest.approx(5000, abs=50)
    d = delay(grokking_run)
    assert d.fitted and not d.censored
    assert d.value == te.step - tr.step
    assert d.value == pytest.approx(4900, abs=60)
    assert phase(grokking_run) is Phase.GROKKING
    assert phase(grokking_run, min_delay_steps=1000, min_delay_ratio=None) is Phase.GROKKING


def test_phase_thresholds_absolute_ratio_and_both():
    s = grid()
    h = make_history(sigmoid_curve(s, 1000), sigmoid_curve(s, 1600), s)  # D ≈ 600
    assert phase(h, min_delay_steps=1000, min_delay_ratio=None) is Phase.COMPREHENSION
    assert phase(h, min_delay_steps=None, min_delay_ratio=0.5) is Phase.GROKKING
    # both given: the ratio holds (600 > 0.5 · 1000) but the absolute bound does not
    assert phase(h, min_delay_steps=1000, min_delay_ratio=0.5) is Phase.COMPREHENSION
    with pytest.raises(ValueError, match="min_delay"):
        phase(h, min_delay_steps=None, min_delay_ratio=None)


def test_test_curve_that_never_rises_is_censored_memorization():
    s = grid()
    h = make_history(sigmoid_curve(s, 100), np.full(s.size, 0.3), s)
    assert t_test(h) == Timing(BUDGET, True)
    d = delay(h)
    assert d.censored and d.fitted
    assert d.value == BUDGET - t_train(h).step  # a lower bound on the true delay
    assert phase(h) is Phase.MEMORIZATION


def test_train_curve_that_never_fits_is_confusion():
    s = grid()
    h = make_history(np.full(s.size, 0.6), np.full(s.size, 0.2), s)
    assert t_train(h).censored
    assert not delay(h).fitted
    assert phase(h) is Phase.CONFUSION


def test_delay_readings_for_statistics_that_need_d_at_least_0():
    """`Delay.bound` counts an unfit run from step 0, `Delay.clipped` reads it as no delay."""
    s = grid()
    early = make_history(sigmoid_curve(s, 3000), sigmoid_curve(s, 1000), s)  # test first
    d = delay(early)
    assert d.value < 0 and d.clipped == 0 and d.bound == 0
    unfit = make_history(np.full(s.size, 0.6), sigmoid_curve(s, 1000), s)
    d = delay(unfit)
    assert not d.fitted and d.fit.step == BUDGET
    assert d.clipped == 0 and d.bound == d.gen.step == t_test(unfit).step
    # a separate test threshold, as MNIST's τ_train 0.99 / τ_test 0.85
    assert delay(unfit, 0.5, 0.99).fit == t_train(unfit, 0.5)
    assert delay(unfit, 0.5, 0.99).gen == t_test(unfit, 0.99)


def test_the_grokking_rule_d_above_5_t_train_is_one_constant():
    import inspect

    from grokcore.metrics import GROK_RATIO
    from grokcore.verdicts import cells_grok, decay_halving, delay_dominates, range_ratio, table_row
    from grokcore.verdicts.table import classify

    assert GROK_RATIO == 5.0
    for f in (cells_grok, decay_halving, delay_dominates, range_ratio, table_row, classify):
        assert inspect.signature(f).parameters["ratio"].default is GROK_RATIO, f.__name__


@settings(max_examples=60, deadline=None)
@given(
    train=hs.lists(hs.floats(0, 1), min_size=1, max_size=40),
    gap=hs.lists(hs.floats(0, 1), min_size=40, max_size=40),
    tau=hs.floats(0.05, 1.0),
)
def test_t_train_never_after_t_test_when_test_below_train(train, gap, tau):
    acc = np.array(train)
    test = acc - np.array(gap[: acc.size]) * acc  # pointwise test <= train
    steps = np.arange(acc.size) * 7
    h = make_history(acc, test, steps, budget=7 * acc.size)
    assert t_train(h, tau).step <= t_test(h, tau).step
    assert delay(h, tau).value >= 0


# -- loss spikes ---------------------------------------------------------------


def test_single_burst_is_found_once_at_its_step():
    loss = np.full(10_000, 1e-6)
    loss[2999] = 1e-2  # step 3000
    (spike,) = loss_spikes(loss, start=500)
    assert spike.step == 3000
    assert spike.factor == pytest.approx(1e4, rel=1e-6)


def test_multi_step_burst_merges_and_reports_peak():
    loss = np.full(10_000, 1e-6)
    loss[2999:3005] = [1e-3, 1e-2, 5e-2, 1e-2, 1e-3, 5e-4]  # steps 3000..3005
    (spike,) = loss_spikes(loss, start=500)
    assert spike.step == 3002
    assert spike.factor == pytest.approx(5e4, rel=1e-6)


def test_spikes_before_start_ignored_and_two_bursts_found():
    loss = np.full(10_000, 1e-6)
    loss[[199, 4999, 7999]] = 1e-3
    spikes = loss_spikes(loss, start=1000)
    assert [s.step for s in spikes] == [5000, 8000]


def test_no_spikes_on_smooth_decay_even_with_noise():
    steps = np.arange(1, 100_001)
    rng = np.random.default_rng(0)
    loss = np.exp(-steps / 5000) * rng.lognormal(0, 0.5, steps.size)  # batch noise
    assert loss_spikes(loss, start=1000) == []


def test_zero_loss_is_floored_not_infinite():
    loss = np.zeros(1000)
    loss[600] = 1e-3
    (spike,) = loss_spikes(loss, start=100)
    assert spike.step == 601
    assert np.isfinite(spike.factor) and spike.factor == pytest.approx(1e9, rel=1e-6)


def test_factor_threshold_is_respected():
    loss = np.full(2000, 1e-6)
    loss[1500] = 5e-5  # 50x: a spike at factor 10, not at the default 100
    assert loss_spikes(loss, start=100) == []
    assert [s.step for s in loss_spikes(loss, start=100, factor=10)] == [1501]


# -- un-grokking -------------------------------------------------------------


def test_brief_dip_is_transient():
    s = np.arange(0, 10_001, 100)
    acc = sigmoid_curve(s, 2000)
    acc = np.where(s >= 2500, 1.0, acc)
    acc[(s >= 5000) & (s <= 5300)] = 0.5
    u = ungrokking(make_history(np.ones(s.size), acc, s, budget=10_000))
    assert u.reached and not u.ungrokked
    assert u.transient_dips == 1
    assert u.first_high is not None and 2000 <= u.first_high <= 2500


def test_collapse_for_good_is_ungrokked():
    s = np.arange(0, 10_001, 100)
    acc = np.where(s >= 2000, 1.0, 0.1)
    acc[(s >= 3000) & (s <= 3200)] = 0.5  # one dip that recovers
    acc[s >= 7000] = 0.3  # then the collapse
    u = ungrokking(make_history(np.ones(s.size), acc, s, budget=10_000))
    assert u.reached and u.ungrokked
    assert u.first_high == 2000
    assert u.transient_dips == 1


def test_never_high_is_not_reached():
    s = np.arange(0, 1001, 100)
    u = ungrokking(make_history(np.ones(s.size), np.full(s.size, 0.95), s, budget=1000))
    assert not u.reached and u.first_high is None and not u.ungrokked


# -- peaks ---------------------------------------------------------------------


def test_norm_peak_between_t_train_and_t_test(grokking_run):
    s = grokking_run.steps
    norm = 10 + 5 * np.exp(-(((s - 3000) / 800.0) ** 2))  # rises while memorizing, then falls
    lo, hi = t_train(grokking_run).step, t_test(grokking_run).step
    assert abs(peak_step(s, norm) - 3000) <= 50
    assert peak_in_window(s, norm, lo, hi)
    assert not peak_in_window(s, norm[::-1], lo, hi)  # peak now near step 17000
    with pytest.raises(ValueError, match="NaN"):
        peak_step(s, np.full(s.size, np.nan))
