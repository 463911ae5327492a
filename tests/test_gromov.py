"""Gromov's analytic modular-addition net (grokcore.gromov): exact when wide, not under controls."""

import numpy as np
import pytest

from grokcore.gromov import (
    accuracy_all_pairs,
    analytic_weights,
    fourier_ipr,
    mean_ipr,
    onehot_input_weights,
    width_threshold,
)

P = 97


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wide_analytic_net_is_exact_and_narrow_is_not(seed):
    assert accuracy_all_pairs(*analytic_weights(P, 1024, seed), P) == 1.0
    assert accuracy_all_pairs(*analytic_weights(P, 16, seed), P) < 0.5
    assert width_threshold(P, [16, 64, 256, 1024], seed) in (256, 1024)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shuffled_frequencies_control_is_rejected(seed):
    # frequencies permuted between neurons: chance level (1/p ≈ 0.01), far from exact
    assert accuracy_all_pairs(*analytic_weights(P, 1024, seed, shuffle=True), P) < 0.1
    assert width_threshold(P, [256, 1024], seed, shuffle=True) is None


def test_fourier_ipr_separates_analytic_weights_from_random_init():
    w1, _ = analytic_weights(P, 128, 0)
    assert np.allclose(fourier_ipr(w1, P), 1.0)
    init = np.random.default_rng(0).normal(size=(128, 2 * P))
    assert fourier_ipr(init, P).mean() < 0.1


def test_bad_shapes_fail_with_a_message():
    with pytest.raises(ValueError, match="2p=194"):
        fourier_ipr(np.zeros((4, 10)), P)
    with pytest.raises(ValueError, match="width >= 1"):
        analytic_weights(P, 0, 0)


def test_onehot_input_weights_lays_the_embeddings_side_by_side():
    wx, wy = np.arange(12.0).reshape(3, 4), -np.arange(12.0).reshape(3, 4)
    w = onehot_input_weights({"wx.weight": wx, "wy.weight": wy, "out.weight": wx}, 3)
    assert w.shape == (4, 6) and (w[:, :3] == wx.T).all() and (w[:, 3:] == wy.T).all()
    with pytest.raises(ValueError, match="not a OneHotNet"):
        onehot_input_weights({"embed.weight": wx}, 3)


def _verdict(trained, init, shuffled=(0.01, 0.01, 0.01), thresholds=(160, 144, 160)):
    from grokcore.gromov import gromov_verdict

    return gromov_verdict(list(thresholds), list(shuffled), 320, trained, init, [True] * 3)


def test_the_verdict_supports_a_localized_trained_net():
    from grokcore.record import Verdict

    assert _verdict([0.49, 0.5, 0.47], [0.04, 0.04, 0.045]).verdict is Verdict.SUPPORTED


def test_the_verdict_rejects_the_at_init_control():
    # weights at init in place of the trained ones: IPR ratio ≈ 1, far below 3
    from grokcore.record import Verdict

    init = [mean_ipr(np.random.default_rng(s).normal(size=(256, 2 * P)), P) for s in range(6)]
    j = _verdict(init[:3], init[3:])
    assert j.verdict is Verdict.REFUTED
    assert any("IPR" in c.name and c.verdict is Verdict.REFUTED for c in j.checks)


def test_the_verdict_rejects_a_shuffled_net_that_were_exact():
    from grokcore.record import Verdict

    shuffled = [accuracy_all_pairs(*analytic_weights(P, 320, s), P) for s in range(3)]
    j = _verdict([0.49, 0.5, 0.47], [0.04] * 3, shuffled=shuffled)
    assert j.verdict is Verdict.REFUTED  # an unshuffled net in the control's place: exact


def test_no_grokked_run_is_inconclusive():
    from grokcore.gromov import gromov_verdict
    from grokcore.record import Verdict

    j = gromov_verdict([160] * 3, [0.01] * 3, 320, [0.5] * 3, [0.04] * 3, [False] * 3)
    assert j.verdict is Verdict.INCONCLUSIVE
