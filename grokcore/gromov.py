"""Gromov's analytic solution of x + y mod p (arXiv 2301.02679, §2), and the Fourier IPR.

The net is one-hot(x) ‖ one-hot(y) (2p) -> N hidden units, activation z**2 -> p,
no biases (the reference model is ``fcn`` in d-doshi/Grokking utils/Grokking_lib.py,
commit c42bd22: ``self.fc2(self.fc1(x) ** 2)``, ``bias=False``). The reference
repository does not ship the construction itself, so the weights below follow the
paper's §2 formulas as stated there (from memory of the paper, not checked against
code): neuron n has a frequency σ(n) and two random
phases φ_n, ψ_n;

    W1[n, x]     = cos(2π σ(n) x / p + φ_n)            (x-half of the input)
    W1[n, p + y] = cos(2π σ(n) y / p + ψ_n)            (y-half)
    W2[q, n]     = cos(-2π σ(n) q / p - φ_n - ψ_n)

Squaring (cos a + cos b) gives the cross term cos(a + b) + cos(a - b); multiplied by
W2 and summed over neurons, the cos(a + b) part gives N/2 · cos(2π σ (x + y - q) / p),
largest at q = x + y mod p, while every other term carries a random phase and
averages to O(√N). So the net is exact once N is large enough: the width threshold.
The overall scale (the paper's (2/N)^(1/3)) does not change the argmax and is left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from grokcore import stats
from grokcore.record import Verdict
from grokcore.verdicts.judgement import Judgement, count_check, judge_checks, positive_control


def analytic_weights(
    p: int, width: int, seed: int, shuffle: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(W1 (N, 2p), W2 (p, N)) of the Fourier-built net; frequencies uniform on 1..(p-1)/2.

    shuffle=True is the control: W2's frequencies are permuted between neurons, so a
    neuron's output no longer matches the frequency and phases of its input weights.
    """
    if p < 3 or width < 1:
        raise ValueError(f"analytic_weights needs p >= 3 and width >= 1, got p={p}, width={width}")
    rng = np.random.default_rng(seed)
    sigma = rng.integers(1, (p - 1) // 2 + 1, size=width)
    phi, psi = rng.uniform(0.0, 2 * np.pi, size=(2, width))
    k = np.arange(p)
    angle = 2 * np.pi * np.outer(sigma, k) / p  # (N, p)
    w1 = np.concatenate([np.cos(angle + phi[:, None]), np.cos(angle + psi[:, None])], axis=1)
    out_sigma = rng.permutation(sigma) if shuffle else sigma
    w2 = np.cos(-2 * np.pi * np.outer(out_sigma, k) / p - (phi + psi)[:, None]).T
    return w1, w2


def accuracy_all_pairs(w1: np.ndarray, w2: np.ndarray, p: int) -> float:
    """Accuracy of argmax W2 (W1 [e_x ‖ e_y])**2 against x + y mod p over all p² pairs."""
    x, y = np.divmod(np.arange(p * p), p)
    hidden = w1[:, x] + w1[:, p + y]  # (N, p²): one-hot inputs select columns
    logits = w2 @ hidden**2
    return float(np.mean(logits.argmax(axis=0) == (x + y) % p))


def width_threshold(p: int, widths: list[int], seed: int, shuffle: bool = False) -> int | None:
    """Smallest width in `widths` (ascending) from which all larger widths are exact, else None."""
    exact = [accuracy_all_pairs(*analytic_weights(p, n, seed, shuffle), p) == 1.0 for n in widths]
    for i in range(len(widths)):
        if all(exact[i:]):
            return widths[i]
    return None


def fourier_ipr(weights: np.ndarray, p: int, r: int = 2) -> np.ndarray:
    """Per-neuron IPR of the input weights' Fourier power, over frequencies 0..p//2.

    IPR_r = Σ_k (P_k / Σ P)**r of the normalized power spectrum, taken on the x-half and the
    y-half of each row and averaged (d-doshi/Grokking ``calculate_ipr`` computes
    Σ (a / ||a||)^(2r) on amplitudes a, which is the same number with P = a²).
    1 = one frequency, 1/(p//2 + 1) = flat.
    """
    if weights.ndim != 2 or weights.shape[1] != 2 * p:
        raise ValueError(f"fourier_ipr expects (N, 2p={2 * p}) input weights, got {weights.shape}")
    iprs = []
    for half in (weights[:, :p], weights[:, p:]):
        power = np.abs(np.fft.rfft(half, axis=1)) ** 2
        power = power / power.sum(axis=1, keepdims=True)
        iprs.append((power**r).sum(axis=1))
    return np.mean(iprs, axis=0)


def onehot_input_weights(params: dict[str, np.ndarray], p: int) -> np.ndarray:
    """A trained `OneHotNet`'s first layer as (N, 2p): the x- and y-embeddings' rows 0..p-1.

    params: `History.unflatten()` of a run kept with `keep_params`; the embeddings are
    (vocab, N) lookups, the transposes of the first layer's two halves.
    """
    if "wx.weight" not in params or "wy.weight" not in params:
        raise ValueError(f"not a OneHotNet's parameters (no wx/wy.weight): {sorted(params)}")
    return np.concatenate([params["wx.weight"][:p].T, params["wy.weight"][:p].T], axis=1)


def init_input_weights(model_cfg: Any, p: int, seed: int) -> np.ndarray:
    """The (N, 2p) first layer of a `OneHotMLP` as PyTorch's default init draws it from `seed`
    (`nn.Embedding`'s N(0, 1)): BX-GROMOV's at-init control. Drawn by `build_model`, so the
    same distribution as a run's init, not necessarily its very numbers."""
    from grokcore.models import build_model

    net = build_model(model_cfg, p, p, seed)
    params = {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()}
    return onehot_input_weights(params, p)


def mean_ipr(weights: np.ndarray, p: int) -> float:
    """The mean over neurons of `fourier_ipr`: one number per net."""
    return float(fourier_ipr(weights, p).mean())


def gromov_verdict(
    thresholds: Sequence[int | None],
    shuffled_acc: Sequence[float],
    max_width: int,
    trained_ipr: Sequence[float],
    init_ipr: Sequence[float],
    grokked: Sequence[bool],
    *,
    factor: float = 3.0,
    chance_below: float = 0.1,
    need: float = 0.5,
) -> Judgement:
    """BX-GROMOV's statistic, in two parts judged together.

    Analytic (per seed of the construction): a width threshold exists inside the sweep (every
    seed exact from some N on; its median reported with a bootstrap CI), and the control —
    frequencies shuffled between neurons, at the widest N — stays below `chance_below`
    accuracy in every seed. Trained: the arm must grok (positive control, ≥ `need` of runs
    reach test accuracy 0.95), and the median per-run mean Fourier IPR of the grokked runs'
    input weights over that of the at-init weights has its CI above `factor`.
    """
    if not thresholds or len(trained_ipr) != len(grokked) or not init_ipr:
        raise ValueError(
            "gromov_verdict needs analytic seeds, one IPR per trained run and init IPRs"
        )
    n = len(thresholds)
    found = [t for t in thresholds if t is not None]
    checks = [
        count_check(
            "analytic net exact from a width inside the sweep",
            len(found),
            n,
            len(found) == n,
            "every construction seed",
            f"{len(found)} of {n} seeds exact on all p² pairs from some N ≤ {max_width} on",
        )
    ]
    if found:
        est = stats.bootstrap_stat(np.asarray(found, dtype=float))
        checks.append(
            stats.judge(
                est,
                stats.Region.below(max_width + 1),
                "median width threshold N*",
                paper_value="exact once N is large (§2; no threshold number checked here)",
            )
        )
    k_chance = sum(a < chance_below for a in shuffled_acc)
    checks.append(
        count_check(
            "control: frequencies shuffled between neurons stay at chance",
            k_chance,
            len(shuffled_acc),
            k_chance == len(shuffled_acc),
            f"accuracy < {chance_below} at N = {max_width} in every seed",
        )
    )
    k_grok = int(sum(grokked))
    positive = positive_control("trained net groks", k_grok, len(grokked), need, "reach test 0.95")
    ipr = [v for v, g in zip(trained_ipr, grokked, strict=True) if g]
    if ipr:
        est = stats.bootstrap_ratio(ipr, list(init_ipr))
        checks.append(
            stats.judge(
                est,
                stats.Region.above(factor),
                "Fourier IPR of input weights, grokked / init",
                paper_value="Fourier-localized neurons after grokking (Gromov Fig 3, IPR)",
            )
        )
    runs = [
        {"trained IPR": round(v, 4), "grokked": bool(g)}
        for v, g in zip(trained_ipr, grokked, strict=True)
    ]
    why = {
        Verdict.SUPPORTED: "the analytic net is exact above a width threshold and trained nets "
        "end Fourier-localized",
        Verdict.REFUTED: "a part of the claim fails",
    }
    j = judge_checks(checks, [], runs, why, positive)
    j.evidence = {
        "thresholds": list(thresholds),
        "shuffled_acc": list(shuffled_acc),
        "trained_ipr": list(trained_ipr),
        "init_ipr": list(init_ipr),
    }
    return j


def analytic_sweep(
    p: int, widths: Sequence[int], seeds: Sequence[int]
) -> tuple[list[int | None], list[float]]:
    """Per construction seed: the width threshold over `widths` (ascending), and the shuffled
    control's accuracy at the widest N."""
    thresholds = [width_threshold(p, list(widths), s) for s in seeds]
    shuffled = [
        accuracy_all_pairs(*analytic_weights(p, max(widths), s, shuffle=True), p) for s in seeds
    ]
    return thresholds, shuffled
