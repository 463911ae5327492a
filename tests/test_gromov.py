"""Gromov's analytic modular-addition net (grokcore.gromov): exact when wide, not under controls."""

import numpy as np
import pytest

from grokcore.gromov import (
    accuracy_all_pairs,
    analytic_weights,
    fourier_ipr,
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
