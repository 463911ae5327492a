"""Fourier sparsity of a token embedding (Nanda et al. 2023 §4.1, BX-FOURIER).

Nanda et al. project W_E (tokens x d_model) on the Fourier basis of Z_p over the token
axis and find that a handful of key frequencies carry it. Here a frequency k in
1..(p-1)/2 holds the energy of its cos and sin components together, ||F_k||² summed over
d_model; the constant term (k = 0) is left out, as "non-constant" in the claim says.
Energy (squared norm) is our choice; the paper plots the norm per component.
"""

from __future__ import annotations

import numpy as np


def frequency_energy(w_e: np.ndarray, p: int) -> np.ndarray:
    """(p-1)//2 energies, index k-1 for frequency k, of W_E's first p rows (the number tokens)."""
    if w_e.ndim != 2 or w_e.shape[0] < p:
        raise ValueError(f"frequency_energy expects W_E with >= p={p} token rows, got {w_e.shape}")
    coef = np.fft.rfft(w_e[:p], axis=0)  # (p//2 + 1, d): row k mixes cos and sin of frequency k
    return (np.abs(coef[1 : (p - 1) // 2 + 1]) ** 2).sum(axis=1)


def key_frequencies(w_e: np.ndarray, p: int, share: float = 0.9) -> list[int]:
    """The fewest frequencies (largest first) holding `share` of the non-constant energy."""
    if not 0.0 < share <= 1.0:
        raise ValueError(f"share must be in (0, 1], got {share}")
    energy = frequency_energy(w_e, p)
    order = np.argsort(energy)[::-1]
    cum = np.cumsum(energy[order]) / energy.sum()
    n = int(np.searchsorted(cum, share - 1e-12) + 1)
    return sorted(int(k) + 1 for k in order[:n])
