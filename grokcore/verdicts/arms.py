"""Arm comparisons: one arm's grokking delay against another's (OG-CE, OG-CONSTR), and
weight-decay schedules (RP-LATEWD)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from grokcore import metrics, stats
from grokcore.history import History
from grokcore.record import Check, Verdict
from grokcore.stats import Region
from grokcore.verdicts.judgement import (
    Judgement,
    count_check,
    judge_checks,
    positive_control,
    share_generalizing,
    timings,
)


def delay_ratio(
    treat: Sequence[History],
    reference: Sequence[History],
    bound: float,
    names: tuple[str, str],
    tau_train: float = 0.95,
    tau_test: float = 0.95,
    min_reference_delay: float = 1.0,
    treat_must_generalize: bool = False,
) -> Judgement:
    """Median delay ratio treat/reference with a bootstrap CI, judged against `Region.below(bound)`.

    Positive control: the reference arm must itself grok (median delay >
    min_reference_delay × median t_train, most runs generalizing), else the comparison
    says nothing and the verdict is INCONCLUSIVE.
    Censored delays are lower bounds. Censoring in the reference makes the ratio an
    overestimate: safe for SUPPORTED, but it cannot refute, so REFUTED turns
    INCONCLUSIVE. Censoring in the treatment arm makes the ratio an underestimate,
    so SUPPORTED turns INCONCLUSIVE. A reference arm counts as grokking only if most
    of its runs actually generalize in budget.
    """
    tname, rname = names
    rows: dict[str, list] = {tname: [], rname: []}
    runs = []
    for arm, hs in ((tname, treat), (rname, reference)):
        for h in hs:
            delay = metrics.delay(h, tau_train, tau_test)
            a, b, d = delay.fit, delay.gen, delay.clipped
            rows[arm].append((a, b, d))
            runs.append(
                {
                    "arm": arm,
                    "seed": h.config.get("seed"),
                    "t_train": a.step,
                    "t_test": b.step,
                    "delay": d,
                    "test_censored": b.censored,
                    "final_test_acc": round(float(h.test_acc[-1]), 4),
                }
            )
    r_delay = np.array([d for _, _, d in rows[rname]], float)
    r_fit = np.array([a.step for a, _, _ in rows[rname]], float)
    t_delay = np.array([d for _, _, d in rows[tname]], float)
    checks: list[Check] = []
    r_general = sum(not b.censored for _, b, _ in rows[rname])
    ratio_d = float(np.median(r_delay) / max(np.median(r_fit), 1))
    groks = ratio_d > min_reference_delay and 2 * r_general > len(rows[rname])
    positive = Check(
        f"positive control: {rname} arm groks (median D / median t_train)",
        ratio_d,
        None,
        f"> {min_reference_delay}, most runs reaching test ≥ {tau_test}",
        Verdict.SUPPORTED if groks else Verdict.INCONCLUSIVE,
        detail=f"median D = {np.median(r_delay):.0f}, median t_train = "
        f"{np.median(r_fit):.0f}; {r_general} of {len(rows[rname])} "
        f"reach test ≥ {tau_test} in budget",
    )
    est = stats.bootstrap_ratio(t_delay, np.maximum(r_delay, 1))
    ratio = stats.judge(
        est,
        Region.below(bound),
        f"delay ratio {tname}/{rname}",
        f"ratio of median delays, percentile bootstrap, n={len(t_delay)}+{len(r_delay)}",
    )
    censored_t = sum(b.censored for _, b, _ in rows[tname])
    censored_r = len(rows[rname]) - r_general
    if censored_t and ratio.verdict is Verdict.SUPPORTED:
        ratio = replace(
            ratio,
            verdict=Verdict.INCONCLUSIVE,
            detail=ratio.detail + f"; {censored_t} {tname} runs censored",
        )
    if censored_r and ratio.verdict is Verdict.REFUTED:
        ratio = replace(
            ratio,
            verdict=Verdict.INCONCLUSIVE,
            detail=ratio.detail + f"; {censored_r} {rname} runs censored "
            "(their delays are lower bounds)",
        )
    checks.insert(0, ratio)  # the headline statistic first: the report's summary shows it
    if treat_must_generalize:
        k = sum(not b.censored for _, b, _ in rows[tname])
        n = len(rows[tname])
        ok = (
            Verdict.SUPPORTED
            if k == n
            else (Verdict.REFUTED if 2 * k < n else Verdict.INCONCLUSIVE)
        )
        checks.append(
            Check(
                f"{tname} runs reaching test accuracy ≥ {tau_test}",
                k / n,
                None,
                "all",
                ok,
                detail=f"{k} of {n}",
            )
        )
    return judge_checks(
        checks,
        [],
        runs,
        {
            Verdict.SUPPORTED: f"{tname} cuts the grokking delay of {rname} below {bound}×",
            Verdict.REFUTED: f"{tname} does not cut the delay below {bound}× of {rname}",
            Verdict.INCONCLUSIVE: "the comparison could not be made cleanly",
        },
        positive,
    )


def switch_arms(
    late_on: Sequence[History],
    early_off: Sequence[History],
    never: Sequence[History],
    always_on: Sequence[History],
    tau: float = 0.95,
    high: float = 0.8,
    low: float = 0.2,
    alpha: float = 0.05,
) -> Judgement:
    """late-on share ≥ high (Fisher exact vs γ = 0, p < alpha); early-off share ≤ low.

    Positive control: with weight decay on throughout, ≥ `high` of the runs generalize;
    otherwise the setting cannot grok in budget at all and "early-off does not
    generalize" would pass by vacuity.
    """
    ka, na = share_generalizing(always_on, tau)
    positive = positive_control(
        "γ on throughout generalizes", ka, na, high, f"reach test accuracy ≥ {tau}"
    )
    kl, nl = share_generalizing(late_on, tau)
    ke, ne = share_generalizing(early_off, tau)
    k0, n0 = share_generalizing(never, tau)
    _, p = stats.fisher_exact(kl, nl, k0, n0, alternative="greater")
    late = Check(
        "late-on share generalizing",
        kl / nl,
        stats.clopper_pearson(kl, nl).ci,
        f"≥ {high} and Fisher p < {alpha} vs γ = 0",
        Verdict.SUPPORTED if kl / nl >= high and p < alpha else Verdict.REFUTED,
        detail=f"{kl}/{nl} vs γ=0 {k0}/{n0}, one-sided Fisher p = {p:.3g}",
    )
    early = Check(
        "early-off share generalizing",
        ke / ne,
        stats.clopper_pearson(ke, ne).ci,
        f"≤ {low}",
        Verdict.SUPPORTED if ke / ne <= low else Verdict.REFUTED,
        detail=f"{ke}/{ne}",
    )
    ctrl = [count_check("γ = 0 throughout: share generalizing", k0, n0, k0 / n0 <= low, f"≤ {low}")]
    runs = []
    arms = (("late-on", late_on), ("early-off", early_off), ("γ=0", never), ("on", always_on))
    for arm, hs in arms:
        for h in hs:
            t = timings(h, tau, tau)[1]
            runs.append(
                {
                    "arm": arm,
                    "seed": h.config.get("seed"),
                    "t_test": t.step,
                    "generalized": not t.censored,
                    "final_test_acc": round(float(h.test_acc[-1]), 4),
                }
            )
    return judge_checks(
        [late, early],
        ctrl,
        runs,
        {
            Verdict.SUPPORTED: "late weight decay still groks, early-removed decay does not",
            Verdict.REFUTED: "the weight-decay schedule arms do not behave as claimed",
            Verdict.INCONCLUSIVE: "",
        },
        positive,
    )
