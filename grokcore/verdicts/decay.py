"""Claims about the weight-decay rate γ: LS-WD2 and RP-NOWD.

LS-WD2 (li-sakib §3.4, Fig 8): on the LS-DIV setting, γ = 2 has "about half the grokking delay
of weight decay 1", and much larger γ keeps training and validation accuracy low.
RP-NOWD (rnn-poster, "Impact of Weight Decay"): without weight decay the recurrent net does not
generalize; with it, it does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from grokcore import metrics, stats
from grokcore.history import History
from grokcore.metrics import GROK_RATIO, Phase
from grokcore.record import Check, Verdict
from grokcore.stats import Region
from grokcore.verdicts.bounds import delay_bound
from grokcore.verdicts.judgement import (
    Judgement,
    judge_checks,
    positive_control,
    share_generalizing,
    timings,
)
from grokcore.verdicts.shares import bounded_share


def _censored_band(
    check: Check, num_censored: int, den_censored: int, names: tuple[str, str]
) -> Check:
    """Demote a verdict on a delay ratio judged against a band [lo, hi] that censoring could
    have produced (censored delays are lower bounds; `bounds.censored_ratio` for two sides).

    Numerator censoring means the true ratio may be larger: SUPPORTED (it may exceed hi) and
    REFUTED below the band are unsafe. Denominator censoring means it may be smaller:
    SUPPORTED and REFUTED above the band are unsafe.
    """
    if check.ci is None or check.bounds is None or check.verdict is Verdict.INCONCLUSIVE:
        return check
    above = min(check.ci) > check.bounds[1]  # a REFUTED CI lies wholly above or below the band
    unsafe = []
    if num_censored and (check.verdict is Verdict.SUPPORTED or not above):
        unsafe.append(f"{num_censored} {names[0]} runs censored (the true ratio may be larger)")
    if den_censored and (check.verdict is Verdict.SUPPORTED or above):
        unsafe.append(f"{den_censored} {names[1]} runs censored (the true ratio may be smaller)")
    if not unsafe:
        return check
    why = f"; {'; '.join(unsafe)}, so {check.verdict.value} cannot be concluded"
    return replace(check, verdict=Verdict.INCONCLUSIVE, detail=check.detail + why)


def decay_halving(
    gammas: Sequence[float],
    histories: Sequence[History],
    base: float = 1.0,
    double: float = 2.0,
    band: tuple[float, float] = (0.3, 0.8),
    max_fit_share: float = 0.2,
    ratio: float = GROK_RATIO,
    need: float = 0.5,
    tau: float = 0.95,
) -> Judgement:
    """LS-WD2 on runs at γ ∈ {`base`, `double`, something much larger}, one γ per history.

    Checks:
    - median D(`double`) / median D(`base`), percentile bootstrap CI inside `band` (D = 0 counts
      as 1 step in the denominator); a run that never generalizes keeps the lower bound
      D = budget − t_train (`bounds.delay_bound`), and a verdict such runs could overturn
      is INCONCLUSIVE;
    - the largest γ fails to fit: share of its runs reaching train accuracy ≥ `tau` ≤
      `max_fit_share` (`bounded_share`).
    Positive control: ≥ `need` of the γ = `base` runs grok as in LS-DIV (fit, generalize,
    D > `ratio` · t_train), so that there is a delay to halve.
    """
    g = np.asarray(gammas, float)
    if len(g) != len(histories):
        raise ValueError(f"decay_halving: {len(g)} gammas for {len(histories)} histories")
    top = float(g.max()) if len(g) else float("nan")
    for what, v in (("base", base), ("double", double)):
        if not np.any(np.isclose(g, v)):
            raise ValueError(f"decay_halving: no runs at γ = {v:g} ({what})")
    if not top > double:
        raise ValueError(f"decay_halving: the largest γ ({top:g}) must exceed γ = {double:g}")
    runs: list[dict[str, Any]] = []
    for gamma, h in zip(g, histories, strict=True):
        a, b, d = delay_bound(h, tau, tau)
        runs.append(
            {
                "gamma": float(gamma),
                "seed": h.config.get("seed"),
                "t_train": a.step,
                "t_test": b.step,
                "delay": d,
                "fitted": not a.censored,
                "test_censored": b.censored,
                "phase": metrics.phase(h, tau, None, ratio).value,
                "final_train_acc": round(float(h.train_acc[-1]), 4),
                "final_test_acc": round(float(h.test_acc[-1]), 4),
            }
        )

    def arm(v: float) -> list[dict[str, Any]]:
        return [r for r in runs if np.isclose(r["gamma"], v)]

    one, two, big = arm(base), arm(double), arm(top)
    k = sum(r["phase"] == Phase.GROKKING.value for r in one)
    positive = positive_control(
        f"γ = {base:g} groks", k, len(one), need, f"grok (D > {ratio:g}·t_train)"
    )
    names = (f"γ={double:g}", f"γ={base:g}")
    est = stats.bootstrap_ratio([r["delay"] for r in two], np.maximum([r["delay"] for r in one], 1))
    halving = stats.judge(
        est,
        Region.inside(*band),
        f"delay ratio D({names[0]}) / D({names[1]})",
        f"{est.method}, n={len(two)}+{len(one)}",
        paper_value="≈ 0.5 ('about half the grokking delay', §3.4, Fig 8)",
    )
    cens = sum(r["test_censored"] for r in two), sum(r["test_censored"] for r in one)
    halving = _censored_band(halving, *cens, names)
    k_fit = sum(r["fitted"] for r in big)
    fails = bounded_share(
        f"γ = {top:g}: share reaching train accuracy ≥ {tau}",
        k_fit,
        len(big),
        max_fit_share,
        "at_most",
        paper_value="accuracy stays low (§3.4, Fig 8)",
    )
    j = judge_checks(
        [halving, fails],
        [],
        runs,
        {
            Verdict.SUPPORTED: f"γ = {double:g} roughly halves the delay of γ = {base:g}, and "
            f"γ = {top:g} does not fit",
            Verdict.REFUTED: "the delay does not scale with γ as li-sakib report",
            Verdict.INCONCLUSIVE: "the effect of γ on the delay could not be pinned down",
        },
        positive,
    )
    j.fit = est
    return j


def decay_necessary(
    no_decay: Sequence[History],
    decay: Sequence[History],
    low: float = 0.2,
    high: float = 0.8,
    alpha: float = 0.05,
    tau: float = 0.95,
) -> Judgement:
    """RP-NOWD: share generalizing with γ = 0 ≤ `low`, and below the γ > 0 arm's.

    Checks: share of `no_decay` runs reaching test accuracy ≥ `tau` ≤ `low` (`bounded_share`);
    one-sided Fisher exact test that the `decay` arm generalizes more often, p < `alpha`
    (REFUTED when the γ = 0 share is as high as the γ > 0 one, else INCONCLUSIVE: too few
    seeds). Positive control: ≥ `high` of the `decay` runs generalize, else the setting cannot
    grok in budget and "γ = 0 does not generalize" would pass by vacuity.
    """
    kd, nd = share_generalizing(decay, tau)
    k0, n0 = share_generalizing(no_decay, tau)
    positive = positive_control("γ > 0 generalizes", kd, nd, high, f"reach test accuracy ≥ {tau}")
    zero = bounded_share(
        "γ = 0: share generalizing",
        k0,
        n0,
        low,
        "at_most",
        detail=f"γ > 0: {kd} of {nd}",
        paper_value="'poor generalization' without weight decay",
    )
    if n0 and nd:
        _, p = stats.fisher_exact(kd, nd, k0, n0, alternative="greater")
        worse = k0 / n0 >= kd / nd
    else:
        p, worse = float("nan"), False
    fisher = Check(
        "one-sided Fisher exact p, γ > 0 generalizes more often than γ = 0",
        p,
        None,
        f"p < {alpha:g}",
        Verdict.SUPPORTED if p < alpha else (Verdict.REFUTED if worse else Verdict.INCONCLUSIVE),
        detail=f"γ > 0 {kd}/{nd} vs γ = 0 {k0}/{n0}",
        bounds=(0.0, alpha),
    )
    runs = []
    for arm, hs in (("γ=0", no_decay), ("γ>0", decay)):
        for h in hs:
            a, b = timings(h, tau, tau)
            runs.append(
                {
                    "arm": arm,
                    "seed": h.config.get("seed"),
                    "t_train": a.step,
                    "t_test": b.step,
                    "generalized": not b.censored,
                    "final_test_acc": round(float(h.test_acc[-1]), 4),
                }
            )
    return judge_checks(
        [zero, fisher],
        [],
        runs,
        {
            Verdict.SUPPORTED: "without weight decay the model does not generalize; with it, "
            "it does",
            Verdict.REFUTED: "the model generalizes without weight decay too",
            Verdict.INCONCLUSIVE: "too few seeds to separate γ = 0 from γ > 0",
        },
        positive,
    )
