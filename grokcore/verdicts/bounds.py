"""Two judging rules the omnigrok statistics share: a share of seeds against a bound, and a ratio
of grokking delays some of which are censored.

Both exist because the quick tier runs a handful of seeds. With 3–6 seeds no Clopper–Pearson
interval fits inside [0.8, 1] (that takes 17 of 17), and a run that never generalizes has only a
lower bound on its delay. The rules below say which verdicts such data can still carry.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from grokcore import metrics, stats
from grokcore.history import History
from grokcore.metrics import Timing
from grokcore.record import Check, Verdict


def share_bound(
    name: str,
    k: int,
    n: int,
    bound: float,
    side: Literal["at_least", "at_most"],
    detail: str = "",
    paper_value: str | None = None,
) -> Check:
    """The share k/n against `bound`, with its Clopper–Pearson CI.

    The verdict reads the point share: SUPPORTED when k/n meets the bound, REFUTED when the
    whole 95% CI misses it (the data rule the bound out), INCONCLUSIVE when the point misses
    but the CI still reaches the bound. An empty arm (n = 0) is INCONCLUSIVE.
    """
    sign = "≥" if side == "at_least" else "≤"
    region = f"share {sign} {bound:g} (CI reported; point judged, REFUTED if the CI misses)"
    if n == 0:
        return Check(name, float("nan"), None, region, Verdict.INCONCLUSIVE, detail="no runs")
    est = stats.clopper_pearson(k, n)
    lo, hi = est.ci
    if side == "at_least":
        meets, ruled_out = est.value >= bound, hi < bound
    else:
        meets, ruled_out = est.value <= bound, lo > bound
    verdict = (
        Verdict.SUPPORTED if meets else (Verdict.REFUTED if ruled_out else Verdict.INCONCLUSIVE)
    )
    text = f"{k} of {n} runs, Clopper–Pearson 95% CI [{lo:.2f}, {hi:.2f}]"
    return Check(
        name,
        est.value,
        est.ci,
        region,
        verdict,
        detail=f"{text}; {detail}" if detail else text,
        paper_value=paper_value,
    )


def delay_bound(h: History, tau_train: float, tau_test: float) -> tuple[Timing, Timing, int]:
    """(t_train, t_test, D) with D the lower bound `metrics.Delay.bound` of the run's delay.

    A run that never generalizes gets D = budget − t_train, or the whole budget when it never
    fit either: an unfit run must not read as "no delay".
    """
    d = metrics.delay(h, tau_train, tau_test)
    return d.fit, d.gen, d.bound


def censored_ratio(
    check: Check,
    num_censored: int,
    den_censored: int,
    kind: Literal["above", "below"],
    names: tuple[str, str],
) -> Check:
    """Demote a verdict on a ratio of delays that censoring could have produced.

    Censored delays are lower bounds. Censoring in the numerator makes the true ratio larger
    than the estimate; in the denominator, smaller. With the claim region above (or below) a
    bound, a verdict the true ratio could overturn becomes INCONCLUSIVE, naming the arm.
    """
    unsafe: list[tuple[Verdict, str, int]] = []
    if num_censored:  # true ratio may be larger
        v = Verdict.SUPPORTED if kind == "below" else Verdict.REFUTED
        unsafe.append((v, names[0], num_censored))
    if den_censored:  # true ratio may be smaller
        v = Verdict.REFUTED if kind == "below" else Verdict.SUPPORTED
        unsafe.append((v, names[1], den_censored))
    for verdict, arm, k in unsafe:
        if check.verdict is verdict:
            return replace(
                check,
                verdict=Verdict.INCONCLUSIVE,
                detail=f"{check.detail}; {k} {arm} runs censored (their delays are lower "
                f"bounds), so {verdict.value} cannot be concluded",
            )
    return check
