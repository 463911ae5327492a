"""BX-SLING (`verdicts.precision_spikes`) on synthetic histories.

Float32 runs that spike after the fit and float64-loss runs that do not give SUPPORTED; the
control (float64-loss runs that spike as often) is REFUTED; a float32 arm without spikes
fails the positive control; float64 runs that never fit cannot pass by vacuity.
"""

from __future__ import annotations

from grokcore.record import Verdict
from grokcore.verdicts import precision_spikes
from tests.synthetic import assert_positive_control_failed, synthetic, with_batch_loss


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
