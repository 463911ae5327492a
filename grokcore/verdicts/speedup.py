"""BX-GROKFAST (Lee et al. 2024, ironjr/grokfast README): does the EMA gradient filter cut
the steps to generalize by ≥ 10×, tested against the weight decay it also changes?

Grokfast's README compares each filtered run with a baseline at *another* weight decay
(MNIST γ 0.01 vs 2.0; algorithmic γ 0 vs 0.005), one seed a row. The fair comparison holds
everything but the filter fixed: per setup,

    t95(arm) = first evaluated step with test accuracy ≥ τ (censored at the budget)
    speedup  = median t95(control) / median t95(Grokfast),  percentile bootstrap CI

for two controls, each of which must be beaten by more than `bound` (10×):
- **same decay**: Grokfast's weight decay, no filter;
- **lr × (1 + λ)**: that, with the learning rate raised by the factor the filter adds to a
  steady gradient (g + λ·EMA(g) ≈ (1 + λ)·g), since a longer step alone can speed things up.

Censoring: a control run that never reaches τ counts at its budget, so its t95 and the
ratio are lower bounds; a REFUTED (CI at or below `bound`) that a censored control could
have produced becomes INCONCLUSIVE (`bounds.censored_ratio`), while a SUPPORTED stands
(the true ratio is larger still). A censored Grokfast run can only shrink the true ratio,
so it blocks SUPPORTED instead.

The README's own comparison (baseline at the README's γ / Grokfast) is reported beside
the paper's factor, as a control check that takes no part in the verdict.

Positive control: the Grokfast arm reaches τ in ≥ `most` of its seeds (there is nothing to
accelerate otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grokcore import metrics, stats
from grokcore.history import History
from grokcore.record import Check, Verdict
from grokcore.verdicts.bounds import censored_ratio
from grokcore.verdicts.judgement import Judgement, judge_checks, merge, positive_control


def reach_times(hs: Sequence[History], tau: float) -> tuple[np.ndarray, int]:
    """Each run's t95 (first step with test accuracy ≥ τ, else its budget) and the number
    censored."""
    ts = [metrics.first_reach(h.steps, h.test_acc, tau, h.budget) for h in hs]
    return np.array([t.step for t in ts], dtype=np.float64), sum(t.censored for t in ts)


def speedup_check(
    name: str,
    slow: Sequence[History],
    fast: Sequence[History],
    tau: float,
    bound: float,
    names: tuple[str, str],
    paper_value: str | None = None,
    seed: int = 0,
) -> Check:
    """median t95(slow) / median t95(fast), bootstrap CI, judged above `bound`, with a
    verdict that censoring could have produced made INCONCLUSIVE (module docstring)."""
    if not slow or not fast:
        return Check(name, float("nan"), None, f"CI above {bound:g}", Verdict.INCONCLUSIVE,
                     detail="an arm has no runs")  # fmt: skip
    ts, cs = reach_times(slow, tau)
    tf, cf = reach_times(fast, tau)
    est = stats.bootstrap_ratio(ts, tf, np.median, seed=seed)
    detail = (
        f"median t95 {np.median(ts):,.0f} ({names[0]}, {cs} of {len(ts)} censored at the "
        f"budget) / {np.median(tf):,.0f} ({names[1]}, {cf} of {len(tf)} censored)"
    )
    check = stats.judge(est, stats.Region.above(bound), name, detail, paper_value=paper_value)
    return censored_ratio(check, cs, cf, "above", names)


def grokfast_setup(
    readme: Sequence[History],
    grokfast: Sequence[History],
    same_decay: Sequence[History],
    lr_step: Sequence[History],
    tau: float,
    paper_factor: float,
    lamb: float,
    bound: float = 10.0,
    most: float = 0.8,
    tau_train: float | None = None,
    grok_ratio: float = metrics.GROK_RATIO,
    need_late: float = 0.5,
) -> Judgement:
    """One setup of BX-GROKFAST (module docstring): the four arms' histories, the test
    accuracy τ that t95 reads, the README's factor for the same comparison, and λ.

    Two positive controls: the Grokfast arm generalizes (≥ `most` of its runs reach τ), and
    the README's baseline groks late (≥ `need_late` of its runs fit the training set, train
    accuracy ≥ `tau_train`, default τ, and generalize with D > `grok_ratio`·t_train): without
    a delayed generalization there is nothing for the filter to speed up, and a ratio near 1
    would say nothing about the claim."""
    k = sum(not metrics.first_reach(h.steps, h.test_acc, tau, h.budget).censored for h in grokfast)
    t_fit = tau if tau_train is None else tau_train
    late = sum(
        metrics.phase(h, t_fit, None, grok_ratio, tau_test=tau) is metrics.Phase.GROKKING
        for h in readme
    )
    positive = [
        positive_control(
            "the Grokfast arm generalizes", k, len(grokfast), most, f"reach test accuracy ≥ {tau:g}"
        ),
        positive_control(
            "the README's baseline groks late", late, len(readme), need_late,
            f"fit (train ≥ {t_fit:g}) and reach test ≥ {tau:g} with D > {grok_ratio:g}·t_train",
        ),
    ]  # fmt: skip
    checks = [
        speedup_check(
            "t95(Grokfast's γ, no filter) / t95(Grokfast)", same_decay, grokfast, tau, bound,
            ("same-decay", "Grokfast"),
        ),
        speedup_check(
            f"t95(Grokfast's γ, lr × {1 + lamb:g}, no filter) / t95(Grokfast)", lr_step,
            grokfast, tau, bound, (f"lr × {1 + lamb:g}", "Grokfast"),
        ),
    ]  # fmt: skip
    readme_check = speedup_check(
        "reported: t95(the README's baseline γ) / t95(Grokfast)", readme, grokfast, tau, bound,
        ("README-baseline", "Grokfast"), paper_value=f"×{paper_factor:g} (one seed a row)",
    )  # fmt: skip
    rows = []
    arms = {"README baseline": readme, "Grokfast": grokfast, "same γ, no filter": same_decay,
            f"lr × {1 + lamb:g}": lr_step}  # fmt: skip
    for arm, hs in arms.items():
        for h in hs:
            t = metrics.first_reach(h.steps, h.test_acc, tau, h.budget)
            rows.append({
                "arm": arm, "seed": h.config.get("seed"), "t95": None if t.censored else t.step,
                "censored at": t.step if t.censored else None,
                "final_test_acc": round(float(h.test_acc[-1]), 4),
            })  # fmt: skip
    return judge_checks(
        checks,
        [readme_check],
        rows,
        {
            Verdict.SUPPORTED: f"the filter cuts t95 by more than {bound:g}× at its own weight "
            "decay and against the longer step",
            Verdict.REFUTED: f"at Grokfast's own weight decay the filter cuts t95 by no more "
            f"than {bound:g}×",
            Verdict.INCONCLUSIVE: "too few seeds, or censored runs leave the ratio open",
        },
        positive,
    )


def grokfast_speedup(setups: dict[str, Judgement]) -> Judgement:
    """BX-GROKFAST over its setups (MNIST, algorithmic): every setup's checks must hold."""
    if not setups:
        raise ValueError("grokfast_speedup: no setup was judged")
    return merge(setups)
