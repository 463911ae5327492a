"""OG-TS: the (α, γ) grid of the teacher-student (omnigrok §3, Fig 2b).

Large init (α = 2) groks under small γ, generalizes fast under large γ and never under γ = 0;
small init (α = 0.5) generalizes fast whatever γ. Each condition is summarized by its share of
seeds generalizing (Clopper–Pearson CI) and its median delay D = t_test − t_train; the α = 0.5
rows are the control, and they enter the verdict: "small D" is part of the claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from grokcore import stats
from grokcore.history import History
from grokcore.record import Check, Verdict
from grokcore.stats import Region
from grokcore.verdicts.bounds import censored_ratio, delay_bound, share_bound
from grokcore.verdicts.judgement import Judgement, judge_checks, positive_control


def _runs(alphas, gammas, histories, tau) -> list[dict]:
    rows = []
    for a, g, h in zip(alphas, gammas, histories, strict=True):
        t_fit, t_gen, d = delay_bound(h, tau, tau)
        rows.append(
            {
                "alpha": float(a),
                "gamma": float(g),
                "seed": h.config.get("seed"),
                "t_train": t_fit.step,
                "t_test": t_gen.step,
                "delay": d,
                "fitted": not t_fit.censored,
                "test_censored": t_gen.censored,
                "final_test_acc": round(float(h.test_acc[-1]), 4),
            }
        )
    return rows


def _pick(rows: list[dict], alpha: float, gamma: float | None = None) -> list[dict]:
    return [
        r
        for r in rows
        if np.isclose(r["alpha"], alpha) and (gamma is None or np.isclose(r["gamma"], gamma))
    ]


def condition_table(
    alphas: Sequence[float],
    gammas: Sequence[float],
    histories: Sequence[History],
    tau: float = 0.95,
) -> list[dict]:
    """Per (α, γ): runs, share generalizing with its CP CI, median delay D, censored runs.

    Rows are sorted by α then γ; `plotting.plot_condition_grid` draws them.
    """
    rows = _runs(alphas, gammas, histories, tau)
    out = []
    for a, g in sorted({(r["alpha"], r["gamma"]) for r in rows}):
        rs = _pick(rows, a, g)
        k = sum(not r["test_censored"] for r in rs)
        est = stats.clopper_pearson(k, len(rs))
        out.append(
            {
                "label": f"α={a:g}, γ={g:g}",
                "alpha": a,
                "gamma": g,
                "n": len(rs),
                "generalized": k,
                "share": est.value,
                "share_ci": est.ci,
                "median_delay": float(np.median([r["delay"] for r in rs])),
                "censored": len(rs) - k,
            }
        )
    return out


def _delay_ratio(num: list[dict], den: list[dict], region: Region, name: str, names) -> Check:
    """Median D ratio with a bootstrap CI, demoted where censoring could have produced it."""
    a = np.array([r["delay"] for r in num], float)
    b = np.maximum(np.array([r["delay"] for r in den], float), 1)  # D = 0: "no delay", 1 step
    est = stats.bootstrap_ratio(a, b)
    check = stats.judge(est, region, name, f"{est.method}, n={len(a)}+{len(b)}")
    kind: Literal["above", "below"] = "above" if region.kind == "above" else "below"
    n_cens = sum(r["test_censored"] for r in num), sum(r["test_censored"] for r in den)
    return censored_ratio(check, *n_cens, kind, names)


def init_decay_grid(
    alphas: Sequence[float],
    gammas: Sequence[float],
    histories: Sequence[History],
    large: float = 2.0,
    small: float = 0.5,
    slow: float = 0.03,
    fast: float = 1.0,
    tau: float = 0.95,
    max_no_decay_share: float = 0.2,
    small_bound: float = 0.25,
    need: float = 0.5,
) -> Judgement:
    """OG-TS on a grid of runs, one (α, γ) per history.

    Checks:
    - ordering: median D(large, slow) / median D(large, fast), bootstrap CI above 1;
    - no decay, no generalization: share of (large, γ = 0) runs generalizing ≤
      `max_no_decay_share` (`bounds.share_bound`: point judged, REFUTED if the CP CI misses);
    - small init is fast: median D over all α = `small` runs / median D(large, slow), CI below
      `small_bound`. Each α = `small` row is also reported on its own under `control`.
    Positive control: ≥ `need` of the (large, slow) runs generalize in budget. Runs that never
    generalize keep the lower bound D = budget − t_train (`bounds.delay_bound`); a ratio
    verdict that such runs could overturn is INCONCLUSIVE.
    """
    rows = _runs(alphas, gammas, histories, tau)
    grok, quick, none = _pick(rows, large, slow), _pick(rows, large, fast), _pick(rows, large, 0.0)
    tiny = _pick(rows, small)
    needed = {
        f"α={large:g}, γ={slow:g}": grok,
        f"α={large:g}, γ={fast:g}": quick,
        f"α={large:g}, γ=0": none,
        f"α={small:g}": tiny,
    }
    for what, rs in needed.items():
        if not rs:
            raise ValueError(f"init_decay_grid: no runs at {what}")
    k = sum(not r["test_censored"] for r in grok)
    positive = positive_control(
        f"α = {large:g}, γ = {slow:g} generalizes in budget",
        k,
        len(grok),
        need,
        f"reach test accuracy ≥ {tau}",
    )
    g_name, q_name, _, s_name = needed
    order = _delay_ratio(
        grok, quick, Region.above(1.0), f"D({g_name}) / D({q_name})", (g_name, q_name)
    )
    k0 = sum(not r["test_censored"] for r in none)
    zero = share_bound(
        f"α = {large:g}, γ = 0: share generalizing",
        k0,
        len(none),
        max_no_decay_share,
        "at_most",
        paper_value="0 (Fig 2b: no regularization fails to generalize)",
    )
    fast_small = _delay_ratio(
        tiny, grok, Region.below(small_bound), f"D({s_name}, all γ) / D({g_name})", (s_name, g_name)
    )
    ctrl = []
    d_ref = max(float(np.median([r["delay"] for r in grok])), 1.0)
    for g in sorted({r["gamma"] for r in tiny}):
        rs = _pick(tiny, small, g)
        kg = sum(not r["test_censored"] for r in rs)
        ratio = float(np.median([r["delay"] for r in rs])) / d_ref
        ok = ratio < small_bound and kg == len(rs)
        ctrl.append(
            Check(
                f"α = {small:g}, γ = {g:g}: median D / D({g_name})",
                ratio,
                None,
                f"< {small_bound:g}, every run generalizing",
                Verdict.SUPPORTED if ok else Verdict.REFUTED,
                detail=f"{kg} of {len(rs)} runs generalize",
            )
        )
    j = judge_checks(
        [order, zero, fast_small],
        ctrl,
        rows,
        {
            Verdict.SUPPORTED: f"α = {large:g} groks under small γ, is faster under large γ and "
            f"does not generalize without decay; α = {small:g} is fast whatever γ",
            Verdict.REFUTED: "the (α, γ) grid does not behave as the LU mechanism predicts",
            Verdict.INCONCLUSIVE: "the grid could not be judged cleanly",
        },
        positive,
    )
    return j
