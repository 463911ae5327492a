"""BX-SLING (`verdicts.precision_spikes`) on synthetic histories.

Float32 runs that spike after the fit and float64-loss runs that do not give SUPPORTED; the
control (float64-loss runs that spike as often) is REFUTED; a float32 arm without spikes
fails the positive control; float64 runs that never fit cannot pass by vacuity.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from grokcore.record import Verdict
from grokcore.verdicts import precision_spikes, softmax_collapse
from tests.synthetic import (
    assert_positive_control_failed,
    rise,
    synthetic,
    with_batch_loss,
)


def runs(n=6, spikes_at=(), t_train=50.0):
    """n runs that fit at ≈ t_train, with 10^4× spikes at `spikes_at` (after the fit)."""
    return [with_batch_loss(synthetic(t_train, None, seed=s), spikes_at) for s in range(n)]


def test_float64_without_spikes_is_supported():
    j = precision_spikes(runs(spikes_at=(3000, 9000)), runs())
    assert j.verdict is Verdict.SUPPORTED, j.reason
    few, fisher = j.checks
    assert few.value == 0.0 and fisher.value < 0.05  # 6/6 vs 0/6: p = 1/924 · 1 ≈ 0.001
    assert len(j.runs) == 12


def test_control_float64_spiking_as_often_is_refuted():
    j = precision_spikes(runs(spikes_at=(3000,)), runs(spikes_at=(5000,)))
    assert j.verdict is Verdict.REFUTED
    assert all(c.verdict is Verdict.REFUTED for c in j.checks)


def test_too_few_seeds_is_inconclusive_not_supported():
    # 2/2 vs 0/2: float64 share 0 meets ≤ 0.2, but Fisher p = 1/6 > 0.05
    j = precision_spikes(runs(2, spikes_at=(3000,)), runs(2))
    assert j.verdict is Verdict.INCONCLUSIVE
    assert j.checks[1].value > 0.05


def test_float32_arm_without_spikes_fails_the_positive_control():
    assert_positive_control_failed(precision_spikes(runs(), runs()))
    assert_positive_control_failed(precision_spikes(runs(t_train=None), runs()))


def test_float64_runs_that_never_fit_do_not_pass_by_vacuity():
    j = precision_spikes(runs(spikes_at=(3000,)), runs(t_train=None))
    assert j.verdict is Verdict.INCONCLUSIVE
    assert "no float64 run fit" in j.checks[0].detail


# -- BX-SC (`verdicts.softmax_collapse`) -------------------------------------------------


def zeros(h, at=None, level=0.9):
    """`h` with a zero-loss share over training that rises to `level` at step `at` (None:
    stays 0)."""
    return replace(h, zero_loss_share=level * rise(at))


def sc(n=6, **kw):
    """BX-SC's arms as the claim describes them, with overrides per keyword: float32 softmax
    fits at 50 and never generalizes, 90% of its losses exactly 0 from ≈ 200 on; the
    float64-loss runs do not collapse; ⊥AdamW generalizes at 150 (within 300 steps);
    StableMax at 5,000."""
    arms = {
        "f32": [zeros(synthetic(50, None, seed=s), 200) for s in range(n)],
        "f64": [zeros(synthetic(50, None, seed=s)) for s in range(n)],
        "orth": [synthetic(30, 150, budget=300, seed=s) for s in range(n)],
        "stablemax": [synthetic(50, 5000, seed=s) for s in range(n)],
        "decay": [synthetic(50, 3000, seed=s) for s in range(n)],
    }
    arms.update(kw)
    return softmax_collapse(**arms, fast=300)


def test_softmax_collapse_claimed_shape_is_supported():
    j = sc()
    assert j.verdict is Verdict.SUPPORTED, j.reason
    assert [c.verdict for c in j.checks] == [Verdict.SUPPORTED] * 5
    assert len(j.runs) == 30


def test_control_float64_collapsing_too_is_refuted():
    # the float64 arm collapses as often: (a) is not numerical
    j = sc(f64=[zeros(synthetic(50, None, seed=s), 200) for s in range(6)])
    assert j.verdict is Verdict.REFUTED
    assert j.checks[1].verdict is Verdict.REFUTED


def test_control_plain_adamw_as_fast_as_orthograd_is_refuted():
    fast = [zeros(synthetic(30, 150, seed=s)) for s in range(6)]  # plain AdamW: by 150
    j = sc(f32=fast)
    assert j.verdict is Verdict.REFUTED
    assert j.checks[3].verdict is Verdict.REFUTED  # (b) Fisher
    assert j.checks[4].verdict is Verdict.REFUTED  # (c) Fisher: softmax generalizes too


def test_slow_orthograd_and_stablemax_like_softmax_are_refuted():
    j = sc(
        orth=[synthetic(30, None, budget=300, seed=s) for s in range(6)],
        stablemax=[synthetic(50, None, seed=s) for s in range(6)],
    )
    assert j.verdict is Verdict.REFUTED
    assert [c.verdict for c in j.checks[2:]] == [Verdict.REFUTED] * 3


def test_softmax_that_never_fits_fails_the_positive_control():
    assert_positive_control_failed(sc(f32=[zeros(synthetic(None, None, seed=s)) for s in range(6)]))
    # a setting that does not generalize even with weight decay
    j = sc(decay=[synthetic(50, None, seed=s) for s in range(6)])
    assert_positive_control_failed(j)
    assert "weight decay" in j.reason


def test_collapse_read_over_training_must_precede_the_stall():
    # zeros that come only after the run generalized (test at 3,000, zeros at 8,000) are no
    # collapse; nor are zeros that arrive while test accuracy is still low but before it rises
    late = [zeros(synthetic(50, 3000, seed=s), 8000) for s in range(6)]
    early = [zeros(synthetic(50, 3000, seed=s), 200) for s in range(6)]
    for f32 in (late, early):
        j = sc(f32=f32)
        assert j.checks[0].value == 0.0 and j.checks[0].verdict is Verdict.REFUTED
    row = sc().runs[0]
    assert row["t_collapse"] is not None and 150 < row["t_collapse"] <= 220
    assert row["test_acc at t_collapse"] == 0.0 and row["final zero-loss share"] == 0.9


def test_softmax_collapse_needs_the_share_over_training():
    with pytest.raises(ValueError, match="keep_zero_loss"):
        sc(f32=[synthetic(50, None, seed=s) for s in range(6)])


def test_zero_loss_figure_draws_the_share_over_training(tmp_path):
    from grokcore import plotting
    from tests.synthetic import assert_png

    f32 = [zeros(synthetic(50, None, seed=s), 200) for s in range(3)]
    f64 = [zeros(synthetic(50, None, seed=s)) for s in range(3)]
    unrecorded = [synthetic(50, None)]  # a run without the series is left out, not an error
    path = plotting.plot_zero_loss(
        {"float32": f32, "float64": f64, "none": unrecorded}, tmp_path / "z.png", tau=0.95
    )
    assert_png(path)
