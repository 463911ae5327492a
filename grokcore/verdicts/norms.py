"""OG-NORM: the weight norm rises while the model overfits, then falls below its initial value
as it generalizes (omnigrok §5, Fig 7a; Nanda et al. 2023). Without weight decay (γ = 0) the
norm has nothing to pull it down: that is the control.
"""

from __future__ import annotations

from collections.abc import Sequence

from grokcore import metrics, stats
from grokcore.history import History
from grokcore.record import Verdict
from grokcore.verdicts.bounds import share_bound
from grokcore.verdicts.judgement import (
    Judgement,
    count_check,
    judge_checks,
    positive_control,
    timings,
)


def _norm_row(h: History, tau: float, arm: str) -> dict:
    a, b = timings(h, tau, tau)
    peak = metrics.peak_step(h.steps, h.norm)
    generalized = not (a.censored or b.censored)
    in_window = generalized and a.step <= peak <= b.step
    ends_below = bool(h.norm[-1] < h.norm[0])
    return {
        "arm": arm,
        "seed": h.config.get("seed"),
        "t_train": a.step,
        "t_test": b.step,
        "generalized": generalized,
        "peak_step": peak,
        "norm_init": round(float(h.norm[0]), 4),
        "norm_peak": round(float(max(h.norm)), 4),
        "norm_final": round(float(h.norm[-1]), 4),
        "peak_between": in_window,
        "ends_below_init": ends_below,
        "rise_and_fall": in_window and ends_below,
    }


def norm_rise_fall(
    histories: Sequence[History],
    control: Sequence[History] = (),
    tau: float = 0.95,
    min_share: float = 0.8,
    need: float = 0.5,
) -> Judgement:
    """Share of generalizing seeds whose norm peaks in [t_train, t_test] and ends below ‖w‖_0.

    Check: that share ≥ `min_share`, with its Clopper–Pearson CI (`bounds.share_bound`: the
    point share is judged; REFUTED when the CI lies below the bound). Seeds that never fit or
    never generalize have no [t_train, t_test] window: they are left out of the share and
    counted in its detail and in `runs`.
    Positive control: ≥ `need` of the runs fit and generalize in budget.
    Control (reported): at most 1 − `min_share` of the `control` runs (γ = 0) end with their
    norm below its initial value.
    """
    runs = [_norm_row(h, tau, "main") for h in histories]
    gen = [r for r in runs if r["generalized"]]
    positive = positive_control(
        "runs fit and generalize", len(gen), len(runs), need, f"reach train and test ≥ {tau}"
    )
    k = sum(r["rise_and_fall"] for r in gen)
    peaks = sum(r["peak_between"] for r in gen)
    below = sum(r["ends_below_init"] for r in gen)
    check = share_bound(
        "seeds whose ‖w‖ peaks between t_train and t_test and ends below ‖w‖_0",
        k,
        len(gen),
        min_share,
        "at_least",
        detail=f"peak in window {peaks}, ends below init {below}; "
        f"{len(runs) - len(gen)} runs that never generalized left out",
    )
    ctrl = []
    if control:
        rows = [_norm_row(h, tau, "control") for h in control]
        runs += rows
        kc = sum(r["ends_below_init"] for r in rows)
        ctrl.append(
            count_check(
                "γ = 0 runs whose norm ends below its initial value",
                kc,
                len(rows),
                kc <= (1 - min_share) * len(rows),
                f"≤ {1 - min_share:.0%} of runs (no decay: the norm does not fall)",
            )
        )
    j = judge_checks(
        [check],
        ctrl,
        runs,
        {
            Verdict.SUPPORTED: "the weight norm rises while the model overfits and falls below "
            "its initial value as it generalizes",
            Verdict.REFUTED: "the weight norm does not rise and fall around generalization",
            Verdict.INCONCLUSIVE: "too few seeds to tell",
        },
        positive,
    )
    j.fit = stats.clopper_pearson(k, len(gen)) if gen else None
    return j
