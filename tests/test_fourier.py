"""BX-FOURIER's statistic (grokcore.fourier): few keys in a Fourier-built W_E, many in noise."""

import numpy as np
import pytest

from grokcore.fourier import frequency_energy, key_frequencies

P = 113
KEYS = [14, 35, 41, 42, 52]  # Nanda et al. 2023 §4.1's mainline run


def _fourier_embedding(seed: int, noise: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(P)[:, None]
    w = sum(
        np.cos(2 * np.pi * k * t / P) @ rng.normal(size=(1, 128))
        + np.sin(2 * np.pi * k * t / P) @ rng.normal(size=(1, 128))
        for k in KEYS
    )
    return w + noise * rng.normal(size=(P, 128)) + 3.0  # + constant: left out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_fourier_built_embedding_has_its_keys(seed):
    assert key_frequencies(_fourier_embedding(seed, noise=0.1), P) == KEYS


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_control_a_dense_embedding_needs_over_3x_the_threshold(seed):
    # a memorizing net's W_E stands in as Gaussian noise: energy spread over all 56 frequencies
    dense = np.random.default_rng(seed).normal(size=(P + 1, 128))
    assert len(key_frequencies(dense, P)) >= 3 * 8


def test_energy_is_per_frequency_and_bad_input_fails():
    w = np.cos(2 * np.pi * 7 * np.arange(P) / P)[:, None]
    e = frequency_energy(w, P)
    assert e.shape == ((P - 1) // 2,) and e.argmax() == 6 and np.isclose(e.sum(), e[6])
    with pytest.raises(ValueError, match="token rows"):
        frequency_energy(np.zeros((10, 4)), P)
    with pytest.raises(ValueError, match="share"):
        key_frequencies(w, P, share=0.0)


def test_the_verdict_supports_few_keys_and_rejects_the_memorizing_control():
    from grokcore.fourier import fourier_verdict
    from grokcore.record import Verdict

    grokked = [len(key_frequencies(_fourier_embedding(s, 0.1), P)) for s in range(5)]
    dense = [
        len(key_frequencies(np.random.default_rng(s).normal(size=(P, 128)), P)) for s in range(5)
    ]
    assert fourier_verdict(grokked, [True] * 5, dense).verdict is Verdict.SUPPORTED
    # the control's statistic on a control that is as sparse as the grokked runs: rejected
    j = fourier_verdict(grokked, [True] * 5, grokked)
    assert j.verdict is Verdict.REFUTED
    assert any(c.name.startswith("control") and c.verdict is Verdict.REFUTED for c in j.checks)
    # dense embeddings in the grokked arm's place fail the ≤ 8 keys check
    assert fourier_verdict(dense, [True] * 5, dense).verdict is Verdict.REFUTED


def test_the_verdict_without_grokked_runs_is_inconclusive():
    from grokcore.fourier import fourier_verdict
    from grokcore.record import Verdict

    assert fourier_verdict([5] * 4, [False] * 4, [40] * 4).verdict is Verdict.INCONCLUSIVE
