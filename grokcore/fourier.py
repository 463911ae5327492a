"""Fourier sparsity of a token embedding (Nanda et al. 2023 §4.1, BX-FOURIER).

Nanda et al. project W_E (tokens x d_model) on the Fourier basis of Z_p over the token
axis and find that a handful of key frequencies carry it. Here a frequency k in
1..(p-1)/2 holds the energy of its cos and sin components together, ||F_k||² summed over
d_model; the constant term (k = 0) is left out, as "non-constant" in the claim says.
Energy (squared norm) is our choice; the paper plots the norm per component.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from grokcore import stats
from grokcore.record import Verdict
from grokcore.verdicts.judgement import Judgement, count_check, judge_checks, positive_control


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


def token_embedding(params: dict[str, np.ndarray]) -> np.ndarray:
    """W_E (tokens x d) of a kept run: a transformer's or an embedding MLP's `embed.weight`."""
    if "embed.weight" not in params:
        raise ValueError(f"no token embedding (embed.weight) in these parameters: {sorted(params)}")
    return params["embed.weight"]


def fourier_verdict(
    keys: Sequence[int],
    grokked: Sequence[bool],
    control_keys: Sequence[int],
    *,
    max_keys: int = 8,
    most: float = 0.8,
    factor: float = 3.0,
    need: float = 0.5,
) -> Judgement:
    """BX-FOURIER's statistic. keys: the number of key frequencies (`key_frequencies`) of each
    γ = 1 run, grokked: whether it reached test accuracy 0.95; control_keys: the same number
    for each γ = 0 (memorizing) run.

    Positive control: ≥ `need` of the γ = 1 runs grok. Checks: ≤ `max_keys` keys in
    ≥ `most` of the grokked runs, and the control's median over the grokked runs' median
    (bootstrap CI) above `factor`.
    """
    if len(keys) != len(grokked) or not control_keys:
        raise ValueError("fourier_verdict needs one key count per run and a control arm")
    k_grok = int(sum(grokked))
    positive = positive_control("γ = 1 runs grok", k_grok, len(keys), need, "reach test 0.95")
    sparse = [n for n, g in zip(keys, grokked, strict=True) if g]
    k_sparse = sum(n <= max_keys for n in sparse)
    sparse_check = count_check(
        f"grokked runs with ≤ {max_keys} key frequencies",
        k_sparse,
        len(sparse),
        bool(sparse) and k_sparse >= most * len(sparse),
        f"≥ {most:.0%} of grokked runs",
        f"{k_sparse} of {len(sparse)} grokked runs; key counts {sparse}",
    )
    paper = "5 keys {14, 35, 41, 42, 52} (Nanda §4.1, p = 113)"
    checks = [dataclasses.replace(sparse_check, paper_value=paper)]
    if sparse:
        checks.append(
            stats.judge(
                stats.bootstrap_ratio(list(control_keys), sparse),
                stats.Region.above(factor),
                "control: key frequencies of γ = 0 runs / grokked runs",
            )
        )
    why = {
        Verdict.SUPPORTED: "grokked embeddings are carried by a few Fourier frequencies, "
        "memorizing ones are not",
        Verdict.REFUTED: "the grokked embeddings are not sparse, or the memorizing ones are too",
    }
    runs = [{"keys": int(n), "grokked": bool(g)} for n, g in zip(keys, grokked, strict=True)]
    runs += [{"keys": int(n), "control": True} for n in control_keys]
    return judge_checks(checks, [], runs, why, positive)
