"""OG-MNIST and OG-DATA: MNIST groks at large init, and more data generalizes sooner.

OG-MNIST (omnigrok §4, Fig 3d): with 1k training images and α = 8 the training set is fit early
and test accuracy rises much later; standard init (α = 1) shows no such delay. OG-DATA (Fig 3e):
the time to generalize falls as the training set grows.

The thresholds default to OG-CE's for MNIST (train ≥ 0.99, test ≥ 0.85): a 1k-image MLP tops
out near 0.9 test accuracy, so 0.95 would censor every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from grokcore import metrics, stats
from grokcore.history import History
from grokcore.record import Check, Verdict
from grokcore.stats import Region
from grokcore.verdicts.bounds import censored_ratio, delay_bound
from grokcore.verdicts.judgement import Judgement, judge_checks, positive_control, timings


def _gap(h: History, fit_tau: float) -> float | None:
    """Final test accuracy minus test accuracy at the first step train accuracy ≥ fit_tau."""
    fit = metrics.first_reach(h.steps, h.train_acc, fit_tau, h.budget)
    if fit.censored:
        return None
    return float(h.test_acc[-1]) - h.at(fit.step)["test_acc"]


def _gap_check(name: str, gaps: list[float], region: Region, n_unfit: int, fit_tau: float) -> Check:
    note = f"{n_unfit} runs never reached train accuracy {fit_tau:g} (no gap)"
    if len(gaps) < 2:
        detail = f"{len(gaps)} runs with a gap; {note}"
        return Check(name, float("nan"), None, region.text, Verdict.INCONCLUSIVE, detail=detail)
    est = stats.bootstrap_stat(gaps)
    return stats.judge(est, region, name, f"{est.method}, n={est.n}; {note}")


def delay_contrast(
    grok: Sequence[History],
    standard: Sequence[History],
    bound: float = 10.0,
    names: tuple[str, str] = ("α=8", "α=1"),
    tau_train: float = 0.99,
    tau_test: float = 0.85,
    fit_tau: float = 0.99,
    min_gap: float = 0.2,
    need: float = 0.5,
) -> Judgement:
    """OG-MNIST: D(grok) ≫ D(standard), and a large test-accuracy gap at the fit for grok only.

    Checks:
    - median D(grok) / median D(standard) (D = 0 counts as 1 step), bootstrap CI above
      `bound`; censoring that could have produced the verdict makes it INCONCLUSIVE;
    - per grok run, gap = final test accuracy − test accuracy at the first step train accuracy
      ≥ `fit_tau`: median gap, bootstrap CI above `min_gap` ("far below");
    - the same gap for the standard arm, CI below `min_gap` (the delay is the large init's).
    Positive control: ≥ `need` of the grok runs fit (train ≥ `tau_train`) and generalize
    (test ≥ `tau_test`) in budget.
    """
    gname, sname = names
    runs: list[dict[str, Any]] = []
    delays: dict[str, list[int]] = {}
    gaps: dict[str, list[float]] = {}
    cens: dict[str, int] = {}
    unfit: dict[str, int] = {}
    for arm, hs in ((gname, grok), (sname, standard)):
        delays[arm], gaps[arm] = [], []
        cens[arm] = unfit[arm] = 0
        for h in hs:
            a, b, d = delay_bound(h, tau_train, tau_test)
            gap = _gap(h, fit_tau)
            delays[arm].append(d)
            cens[arm] += b.censored
            if gap is None:
                unfit[arm] += 1
            else:
                gaps[arm].append(gap)
            runs.append(
                {
                    "arm": arm,
                    "seed": h.config.get("seed"),
                    "t_train": a.step,
                    "t_test": b.step,
                    "delay": d,
                    "fitted": not a.censored,
                    "test_censored": b.censored,
                    "gap at fit": None if gap is None else round(gap, 4),
                    "final_test_acc": round(float(h.test_acc[-1]), 4),
                }
            )
    k = sum(r["fitted"] and not r["test_censored"] for r in runs if r["arm"] == gname)
    positive = positive_control(
        f"{gname} arm fits and generalizes",
        k,
        len(grok),
        need,
        f"reach train ≥ {tau_train} and test ≥ {tau_test}",
    )
    checks: list[Check] = []
    est = None
    if delays[gname] and delays[sname]:
        est = stats.bootstrap_ratio(delays[gname], np.maximum(delays[sname], 1))
        ratio = stats.judge(
            est,
            Region.above(bound),
            f"delay ratio D({gname}) / D({sname})",
            f"{est.method}, n={len(grok)}+{len(standard)}",
        )
        checks.append(censored_ratio(ratio, cens[gname], cens[sname], "above", names))
    checks.append(
        _gap_check(
            f"{gname}: final test acc − test acc when train acc first ≥ {fit_tau:g}",
            gaps[gname],
            Region.above(min_gap),
            unfit[gname],
            fit_tau,
        )
    )
    checks.append(
        _gap_check(
            f"{sname}: final test acc − test acc when train acc first ≥ {fit_tau:g}",
            gaps[sname],
            Region.below(min_gap),
            unfit[sname],
            fit_tau,
        )
    )
    j = judge_checks(
        checks,
        [],
        runs,
        {
            Verdict.SUPPORTED: f"{gname} fits first and generalizes much later; {sname} does not",
            Verdict.REFUTED: f"{gname} does not show a grokking delay far beyond {sname}'s",
            Verdict.INCONCLUSIVE: "the delay contrast could not be judged cleanly",
        },
        positive,
    )
    j.fit = est
    return j


def data_speedup(
    sizes: Sequence[float],
    histories: Sequence[History],
    tau: float = 0.85,
    tau_train: float = 0.99,
    need: float = 0.5,
    min_sizes: int = 2,
    seed: int = 0,
    x_name: str = "n_train",
    x_label: str = "N",
    x_plural: str = "sizes",
    paper_value: str | None = None,
) -> Judgement:
    """OG-DATA: Spearman ρ(N, t_test) with a pair-bootstrap CI below 0.

    A run that never reaches test accuracy `tau` counts at its budget (a lower bound: with one
    budget for all runs that keeps its rank above every generalized run) and is reported in
    `runs` and in the check's detail. Positive control: at ≥ `min_sizes` sizes, ≥ `need` of
    the runs generalize in budget, so that a trend in t_test is measured and not only censoring.

    The amount of data need not be a count: `x_name` (the key in `runs`), `x_label` (in the
    check's name) and `x_plural` (in the positive control) name another axis, e.g. the train
    fraction of `verdicts.fraction_speedup`. Integral values are stored as int, others as float.
    """
    runs: list[dict[str, Any]] = []
    for n, h in zip(sizes, histories, strict=True):
        a, b = timings(h, tau_train, tau)
        runs.append(
            {
                x_name: int(n) if float(n).is_integer() else float(n),
                "seed": h.config.get("seed"),
                "t_train": a.step,
                "t_test": b.step,
                "test_censored": b.censored,
                "budget": h.budget,
                "final_test_acc": round(float(h.test_acc[-1]), 4),
            }
        )
    good = []
    for n in sorted({r[x_name] for r in runs}):
        rs = [r for r in runs if r[x_name] == n]
        if sum(not r["test_censored"] for r in rs) >= need * len(rs):
            good.append(n)
    positive = Check(
        f"positive control: {x_plural} at which the runs generalize",
        float(len(good)),
        None,
        f"≥ {min_sizes} {x_plural} with ≥ {need:.0%} of runs reaching test accuracy ≥ {tau}",
        Verdict.SUPPORTED if len(good) >= min_sizes else Verdict.INCONCLUSIVE,
        detail=f"{len(good)} {x_plural} ({', '.join(map(str, good)) or 'none'})",
    )
    n_cens = sum(r["test_censored"] for r in runs)
    budgets = {r["budget"] for r in runs}
    detail = f"{n_cens} of {len(runs)} runs censored, counted at their budget"
    if len(budgets) > 1:
        detail += f" (budgets differ: {sorted(budgets)}, so censored ranks are approximate)"
    checks, est = [], None
    if len(runs) >= 3 and len({r[x_name] for r in runs}) >= 2:
        est = stats.spearman([r[x_name] for r in runs], [r["t_test"] for r in runs], seed=seed)
        name = f"Spearman ρ({x_label}, t_test)"
        checks.append(
            stats.judge(est, Region.below(0.0), name, f"{est.method}; {detail}", paper_value)
        )
    j = judge_checks(
        checks,
        [],
        runs,
        {
            Verdict.SUPPORTED: "time to generalize falls as the training set grows",
            Verdict.REFUTED: "time to generalize does not fall with more training data",
            Verdict.INCONCLUSIVE: f"the trend of t_test with {x_label} could not be established",
        },
        positive,
    )
    j.fit = est
    return j
