"""Every claim statistic must be able to fail: fed its control (or data violating the claim),
it must not return SUPPORTED. And none may pass by vacuity: when nothing generalizes, the
positive control fails and the verdict is INCONCLUSIVE, never REFUTED or SUPPORTED.
Seeds are fixed and printed in the test ids for replay."""

from __future__ import annotations

import numpy as np
import pytest

from grokcore import setups
from grokcore.history import History
from grokcore.record import Verdict
from grokcore.runs import run
from grokcore.verdicts import delay_ratio, inverse_scaling, no_ungrokking, switch_arms

STEPS = np.unique(np.r_[0, np.round(np.geomspace(1, 20_000, 150))]).astype(np.int64)


def synthetic(
    t_train: float,
    t_test: float | None,
    budget: int = 20_000,
    seed: int = 0,
    collapse_at: float | None = None,
    spike_at: int | None = None,
) -> History:
    """Sigmoid train/test accuracy rising at t_train / t_test (None: never generalizes).

    spike_at: a 1000× training-loss spike at that step (a slingshot), else a flat loss.
    """
    s = np.maximum(STEPS, 1).astype(float)
    tr = 1 / (1 + np.exp(-12 * (np.log(s) - np.log(t_train))))
    te = (
        np.zeros_like(s) if t_test is None else 1 / (1 + np.exp(-12 * (np.log(s) - np.log(t_test))))
    )
    if collapse_at is not None:
        te = np.where(s >= collapse_at, 0.3, te)
    z = np.zeros_like(s)
    batch_loss = np.full(budget, 1e-4, np.float32)
    if spike_at is not None:
        batch_loss[spike_at - 1] = 0.1
    return History(
        steps=STEPS,
        train_loss=1 - tr,
        train_acc=tr,
        test_loss=1 - te,
        test_acc=te,
        norm=z + 1,
        budget=budget,
        batch_loss=batch_loss,
        config={"seed": seed},
    )


def test_inverse_scaling_supports_true_inverse_law():
    rng = np.random.default_rng(0)
    gammas = np.repeat(np.geomspace(0.03, 1, 5), 3)
    hs = [synthetic(60, 100 / g * rng.lognormal(0, 0.1)) for g in gammas]
    assert inverse_scaling(gammas, hs).verdict is Verdict.SUPPORTED


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_inverse_scaling_rejects_gamma_independent_generalization(seed):
    rng = np.random.default_rng(seed)
    gammas = np.repeat(np.geomspace(0.03, 1, 5), 3)
    hs = [synthetic(60, 2000 * rng.lognormal(0, 0.1)) for _ in gammas]
    j = inverse_scaling(gammas, hs)
    assert j.verdict is not Verdict.SUPPORTED
    assert j.checks[0].verdict is Verdict.REFUTED  # slope ≈ 0: CI misses −1


def test_delay_slope_is_reported_beside_the_literal_verdict():
    # D = t_test − t_train ∝ 1/γ exactly, but a large γ-independent fit (t_train = 1,000)
    # flattens log t_test: the literal statistic misses −1, the reported delay slope hits it
    rng = np.random.default_rng(0)
    gammas = np.repeat(np.geomspace(0.03, 1, 5), 3)
    hs = [synthetic(1000, 1000 + 100 / g * rng.lognormal(0, 0.2)) for g in gammas]
    j = inverse_scaling(gammas, hs)
    assert j.verdict is Verdict.REFUTED and j.checks[0].verdict is Verdict.REFUTED
    [d] = [c for c in j.checks if "slope of log D" in c.name]
    assert d.name.startswith("reported, not judged")
    assert abs(d.value + 1) < 0.15  # the delay's exponent, where t_test's reads ≈ −0.4
    assert j.checks[0].value > -0.6
    inside = d.ci[0] <= -1 <= d.ci[1]
    assert d.verdict is (Verdict.SUPPORTED if inside else Verdict.REFUTED)
    assert j.checks[0] is not d  # the headline (and the forest plot) stays on t_test


def test_inverse_scaling_flags_generalizing_control_and_censoring():
    gammas = np.repeat(np.geomspace(0.03, 1, 5), 3)
    hs = [synthetic(60, 100 / g) for g in gammas]
    j = inverse_scaling(gammas, hs, control=[synthetic(60, 500)] * 3)
    assert j.control[0].verdict is Verdict.SUPPORTED  # positive control: the sweep groks
    assert j.control[1].verdict is Verdict.REFUTED  # the γ = 0 control generalized
    censored = [synthetic(60, None) for _ in gammas]
    assert inverse_scaling(gammas, censored).verdict is Verdict.INCONCLUSIVE


def test_no_ungrokking_rejects_collapsing_runs():
    hs = [synthetic(50, 500, spike_at=2000) for _ in range(28)]
    hs += [synthetic(50, 500, collapse_at=3000, spike_at=2900)] * 5
    j = no_ungrokking(hs, [str(i) for i in range(len(hs))])
    assert j.verdict is Verdict.REFUTED


def test_no_ungrokking_needs_enough_runs_to_bound_the_rate():
    clean = [synthetic(50, 500, spike_at=2000) for _ in range(33)]
    assert no_ungrokking(clean, ["r"] * 33).verdict is Verdict.SUPPORTED
    # 16 clean runs: the one-sided CP upper bound is 0.17, so the claim cannot be shown
    j = no_ungrokking(clean[:16], ["r"] * 16)
    assert j.verdict is Verdict.INCONCLUSIVE
    assert j.reason.startswith("positive control failed")


def test_no_ungrokking_without_spikes_has_no_power():
    """REFERENCES §3.4: a run set with no ≥ 100× loss spike cannot show 'never un-grokked'."""
    calm = [synthetic(50, 500) for _ in range(33)]
    j = no_ungrokking(calm, ["r"] * 33)
    assert j.verdict is Verdict.INCONCLUSIVE
    assert "spikes" in j.control[0].name and "no power" in j.reason
    assert all(r["spikes ≥100× after fit"] == 0 for r in j.runs)


def test_delay_ratio_rejects_the_control_against_itself():
    ref = [synthetic(60, 3000 * (1 + 0.1 * i)) for i in range(6)]
    same = [synthetic(60, 3000 * (1 + 0.1 * i)) for i in range(6)]
    assert delay_ratio(same, ref, 0.2, ("treat", "ref")).verdict is Verdict.REFUTED
    fast = [synthetic(60, 150 + 10 * i) for i in range(6)]
    assert delay_ratio(fast, ref, 0.2, ("treat", "ref")).verdict is Verdict.SUPPORTED


def test_delay_ratio_is_inconclusive_when_the_reference_does_not_grok():
    ref = [synthetic(60, 70) for _ in range(6)]  # generalizes with the fit: no grokking
    fast = [synthetic(60, 65) for _ in range(6)]
    assert delay_ratio(fast, ref, 0.25, ("CE", "MSE")).verdict is not Verdict.SUPPORTED


def test_delay_ratio_does_not_support_with_censored_treatment():
    ref = [synthetic(60, 15000) for _ in range(4)]
    never = [synthetic(60, None, budget=1000) for _ in range(4)]
    j = delay_ratio(never, ref, 0.2, ("constrained", "free"), treat_must_generalize=True)
    assert j.verdict is not Verdict.SUPPORTED


def test_delay_ratio_cannot_refute_against_a_censored_reference():
    """A reference that never generalizes gives lower-bound delays: no REFUTED, no 'groks'."""
    ref = [synthetic(60, None, budget=8000) for _ in range(4)]
    slow = [synthetic(60, 7000) for _ in range(4)]
    j = delay_ratio(slow, ref, 0.25, ("CE", "MSE"))
    assert j.verdict is Verdict.INCONCLUSIVE
    assert j.control[0].verdict is Verdict.INCONCLUSIVE  # positive control: ref does not grok


def test_switch_arms_rejects_gamma_zero_as_late_on():
    never = [synthetic(60, None) for _ in range(6)]
    late = [synthetic(60, 4000) for _ in range(6)]
    on = [synthetic(60, 2000) for _ in range(6)]
    assert switch_arms(late, never, never, on).verdict is Verdict.SUPPORTED
    assert switch_arms(never, never, never, on).verdict is Verdict.REFUTED


# -- positive controls: nothing generalizes -> INCONCLUSIVE, for every statistic ------------


def _nothing(n: int) -> list[History]:
    return [synthetic(60, None, seed=i) for i in range(n)]


NOTHING_GENERALIZES = {
    "inverse_scaling": lambda: inverse_scaling(np.repeat([0.03, 0.1, 0.3, 1.0], 3), _nothing(12)),
    "no_ungrokking": lambda: no_ungrokking(_nothing(33), ["r"] * 33),
    "delay_ratio": lambda: delay_ratio(_nothing(6), _nothing(6), 0.2, ("a", "b")),
    "delay_ratio (must generalize)": lambda: delay_ratio(
        _nothing(6), _nothing(6), 0.2, ("a", "b"), treat_must_generalize=True
    ),
    # the old RP-LATEWD paper tier: every arm at chance, which once read as "early-off
    # SUPPORTED" and "late-on REFUTED"
    "switch_arms": lambda: switch_arms(_nothing(6), _nothing(6), _nothing(6), _nothing(6)),
}


@pytest.mark.parametrize("judge", NOTHING_GENERALIZES.values(), ids=NOTHING_GENERALIZES.keys())
def test_nothing_generalizes_is_inconclusive(judge):
    j = judge()
    assert j.verdict is Verdict.INCONCLUSIVE
    assert j.reason.startswith("positive control failed")
    assert j.control[0].name.startswith("positive control")


def test_real_control_runs_are_rejected(tmp_path):
    """Real training: the γ = 0 arm, passed where the late-on arm belongs, is REFUTED, and the
    grokking arm compared with itself does not show a delay cut."""
    seeds = range(3)
    grok = [setups.modular(seed=s, weight_decay=1.0) for s in seeds]  # groks at quick scale
    never = [setups.modular(seed=s, weight_decay=0.0) for s in seeds]
    hs = run(grok + never, use_cache=False, progress=False)
    h_grok, h_never = hs[:3], hs[3:]
    assert switch_arms(h_never, h_never, h_never, h_grok).verdict is Verdict.REFUTED
    assert delay_ratio(h_grok, h_grok, 0.2, ("a", "b")).verdict is not Verdict.SUPPORTED
