"""BX-SC (Prieto et al., ICLR 2025, Fig 1): softmax collapse, ⊥AdamW and StableMax.

Three parts, each a share of runs with a one-sided Fisher exact test against its control:

- (a) **collapse**: a run has collapsed when the share of its training samples whose float32
  loss is exactly 0 (`grokcore.numerics.zero_loss_share`, measured by the claim on the final
  parameters) is ≥ `collapse` while its final test accuracy is below `tau`. Control: the same
  runs with the loss in float64, measured in float64 (Prieto et al.: the collapse is
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


def softmax_collapse(
    f32: Sequence[History],
    zero32: Sequence[float],
    f64: Sequence[History],
    zero64: Sequence[float],
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
    """BX-SC's three parts (module docstring). `zero32` / `zero64`: each run's zero-loss share
    of its training samples at the final parameters (float32 loss for `f32`, float64 loss for
    `f64`)."""
    if len(zero32) != len(f32) or len(zero64) != len(f64):
        raise ValueError("softmax_collapse: one zero-loss share per run of f32 and f64")
    if fast < 1:
        raise ValueError(f"softmax_collapse: fast must be ≥ 1 step, got {fast}")

    def collapsed(hs: Sequence[History], zs: Sequence[float]) -> int:
        return sum(z >= collapse and not _reach(h, tau) for h, z in zip(hs, zs, strict=True))

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
    c32, c64 = collapsed(f32, zero32), collapsed(f64, zero64)
    k_orth = sum(_reach(h, tau, fast) for h in orth)
    k_base_fast = sum(_reach(h, tau, fast) for h in f32)
    k_sm = sum(_reach(h, tau) for h in stablemax)
    k_base = sum(_reach(h, tau) for h in f32)
    checks = [
        bounded_share(
            f"(a) float32 softmax runs collapsed (float32 zero-loss share ≥ {collapse:g}, "
            f"test < {tau})",
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
    arms = (("softmax f32", f32, zero32), ("softmax f64 loss", f64, zero64))
    more = (("⊥AdamW", orth, None), ("StableMax", stablemax, None), ("AdamW γ>0", decay, None))
    for arm, hs, zs in (*arms, *more):
        for i, h in enumerate(hs):
            t = metrics.first_reach(h.steps, h.test_acc, tau, h.budget)
            runs.append(
                {
                    "arm": arm,
                    "seed": h.config.get("seed"),
                    "zero-loss share": None if zs is None else round(float(zs[i]), 4),
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
