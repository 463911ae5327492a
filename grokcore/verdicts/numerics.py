"""BX-SC (Prieto et al., ICLR 2025, Fig 1): softmax collapse, ⊥AdamW and StableMax.

Three parts, each a share of runs with a one-sided Fisher exact test against its control:

- (a) **collapse**: the share of a run's training samples whose loss is exactly 0 in its loss
  dtype is recorded at every evaluation (`History.zero_loss_share`, `RunConfig.
  keep_zero_loss`). A run has collapsed when that share reaches `collapse` at some step t_c
  while test accuracy is below `tau`, and test accuracy stays below `tau` from t_c to the end
  (Prieto et al. Fig 1: the collapse comes first, and learning stalls after it). Control: the
  same runs with the loss in float64, their share counted in float64 (the collapse is
  numerical, so float64 should collapse less often).
- (b) **⊥AdamW**: share of ⊥AdamW runs reaching test ≥ `tau` within `fast` steps ≥ `most`;
  control: plain AdamW γ = 0 float32 within the same steps.
- (c) **StableMax**: StableMax runs reach test ≥ `tau` more often than float32 softmax runs.

Positive controls: the float32 softmax runs fit (train accuracy ≥ `fit_tau`) in ≥ `most` of
seeds, since without the fit there is nothing to collapse; and the same setting with weight
decay (`decay`) reaches test ≥ `tau` in ≥ `most` of seeds, since a setting that cannot
generalize at all says nothing about what ⊥AdamW or StableMax add.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grokcore import metrics, stats
from grokcore.history import History
from grokcore.record import Check, Verdict
from grokcore.verdicts.judgement import Judgement, judge_checks, positive_control
from grokcore.verdicts.shares import bounded_share


def _reach(h: History, tau: float, within: int | None = None) -> bool:
    t = metrics.first_reach(h.steps, h.test_acc, tau, h.budget)
    return not t.censored and (within is None or t.step <= within)


def _fisher(name: str, k1: int, n1: int, k2: int, n2: int, alpha: float, what: str) -> Check:
    """One-sided Fisher exact test that arm 1's share exceeds arm 2's: SUPPORTED at p < α,
    REFUTED when arm 2's share is as high, else INCONCLUSIVE (too few seeds)."""
    if n1 and n2:
        _, p = stats.fisher_exact(k1, n1, k2, n2, alternative="greater")
        worse = k2 / n2 >= k1 / n1
    else:
        p, worse = float("nan"), False
    return Check(
        name,
        p,
        None,
        f"p < {alpha:g}",
        Verdict.SUPPORTED if p < alpha else (Verdict.REFUTED if worse else Verdict.INCONCLUSIVE),
        detail=what,
        bounds=(0.0, alpha),
    )


def collapse_step(h: History, collapse: float) -> int | None:
    """The first evaluated step where `h`'s zero-loss share is ≥ `collapse`, else None."""
    zeros = np.asarray(h.zero_loss_share, dtype=np.float64)
    if len(zeros) != len(h.steps):
        raise ValueError(
            f"softmax_collapse: run {h.config.get('seed', '?')} recorded no zero-loss share "
            "over training (train it with RunConfig.keep_zero_loss=True)"
        )
    hit = np.flatnonzero(zeros >= collapse)  # NaN (after a divergence) never counts
    return int(h.steps[hit[0]]) if hit.size else None


def collapsed(h: History, collapse: float, tau: float) -> bool:
    """Whether `h` collapsed before it generalized: its zero-loss share reached `collapse` at a
    step t_c with test accuracy below `tau` there and at every evaluation after t_c."""
    t_c = collapse_step(h, collapse)
    if t_c is None:
        return False
    after = np.asarray(h.test_acc)[np.asarray(h.steps) >= t_c]
    return not bool(np.any(after >= tau))


def softmax_collapse(
    f32: Sequence[History],
    f64: Sequence[History],
    orth: Sequence[History],
    stablemax: Sequence[History],
    decay: Sequence[History],
    fast: int,
    tau: float = 0.95,
    collapse: float = 0.5,
    most: float = 0.8,
    fit_tau: float = 0.99,
    alpha: float = 0.05,
) -> Judgement:
    """BX-SC's three parts (module docstring). The `f32` and `f64` runs must carry their
    zero-loss share over training (`History.zero_loss_share`: the float32 loss's for `f32`,
    the float64 loss's for `f64`)."""
    if fast < 1:
        raise ValueError(f"softmax_collapse: fast must be ≥ 1 step, got {fast}")

    def n_collapsed(hs: Sequence[History]) -> int:
        return sum(collapsed(h, collapse, tau) for h in hs)

    n32, n64, no, ns = len(f32), len(f64), len(orth), len(stablemax)
    fit = sum(
        not metrics.first_reach(h.steps, h.train_acc, fit_tau, h.budget).censored for h in f32
    )
    positive = positive_control(
        "float32 softmax runs fit", fit, n32, most, f"reach train accuracy ≥ {fit_tau}"
    )
    k_wd = sum(_reach(h, tau) for h in decay)
    if positive.verdict is Verdict.SUPPORTED:
        positive = positive_control(
            "the setting with weight decay generalizes",
            k_wd,
            len(decay),
            most,
            f"reach test accuracy ≥ {tau} (AdamW γ > 0; float32 softmax: {fit} of {n32} fit)",
        )
    c32, c64 = n_collapsed(f32), n_collapsed(f64)
    k_orth = sum(_reach(h, tau, fast) for h in orth)
    k_base_fast = sum(_reach(h, tau, fast) for h in f32)
    k_sm = sum(_reach(h, tau) for h in stablemax)
    k_base = sum(_reach(h, tau) for h in f32)
    checks = [
        bounded_share(
            f"(a) float32 softmax runs collapsed (float32 zero-loss share ≥ {collapse:g} "
            f"while test < {tau}, and test < {tau} after it)",
            c32,
            n32,
            most,
            "at_least",
            f"float64-loss runs collapsed: {c64} of {n64}",
            paper_value="Fig 1: the zero-loss share rises to ≈ 1 before test accuracy moves",
        ),
        _fisher(
            "(a) one-sided Fisher p, float32 collapses more often than float64 loss",
            c32, n32, c64, n64, alpha, f"float32 {c32}/{n32} vs float64 {c64}/{n64}",
        ),
        bounded_share(
            f"(b) ⊥AdamW runs with test ≥ {tau} within {fast:,} steps",
            k_orth,
            no,
            most,
            "at_least",
            f"plain AdamW γ = 0: {k_base_fast} of {n32} within the same steps",
            paper_value="Fig 1: ⊥AdamW generalizes within ≈ 300 epochs",
        ),
        _fisher(
            f"(b) one-sided Fisher p, ⊥AdamW reaches test ≥ {tau} within {fast:,} steps more "
            "often than plain AdamW",
            k_orth, no, k_base_fast, n32, alpha,
            f"⊥AdamW {k_orth}/{no} vs AdamW {k_base_fast}/{n32}",
        ),
        _fisher(
            f"(c) one-sided Fisher p, StableMax reaches test ≥ {tau} more often than float32 "
            "softmax",
            k_sm, ns, k_base, n32, alpha, f"StableMax {k_sm}/{ns} vs softmax {k_base}/{n32}",
        ),
    ]  # fmt: skip
    runs = []
    arms = (("softmax f32", f32, True), ("softmax f64 loss", f64, True))
    more = (("⊥AdamW", orth, False), ("StableMax", stablemax, False), ("AdamW γ>0", decay, False))
    for arm, hs, zs in (*arms, *more):
        for h in hs:
            t = metrics.first_reach(h.steps, h.test_acc, tau, h.budget)
            t_c = collapse_step(h, collapse) if zs else None
            runs.append(
                {
                    "arm": arm,
                    "seed": h.config.get("seed"),
                    "final zero-loss share": round(float(h.zero_loss_share[-1]), 4) if zs else None,
                    "max zero-loss share": round(float(np.nanmax(h.zero_loss_share)), 4)
                    if zs
                    else None,
                    "t_collapse": t_c,
                    "test_acc at t_collapse": None
                    if t_c is None
                    else round(float(h.at(t_c)["test_acc"]), 4),
                    "t_test": None if t.censored else t.step,
                    "final_train_acc": round(float(h.train_acc[-1]), 4),
                    "final_test_acc": round(float(h.test_acc[-1]), 4),
                }
            )
    return judge_checks(
        checks,
        [],
        runs,
        {
            Verdict.SUPPORTED: "float32 softmax collapses before it generalizes, float64 does "
            "not; ⊥AdamW generalizes fast; StableMax generalizes where softmax does not",
            Verdict.REFUTED: "a part of the claim is contradicted by its control",
            Verdict.INCONCLUSIVE: "too few seeds, or a part could not be pinned down",
        },
        positive,
    )
