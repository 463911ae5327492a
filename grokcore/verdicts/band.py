"""LS-BAND: comprehension occupies a band of train-size / batch-size ratios (li-sakib §3.2).

li-sakib §3.2 (Table 2, Fig 4) trains the transformer on x ÷ y at 30/70 over a grid of train
sizes (set by the prime p) and batch sizes, and sorts every run into three categories:

- **grokking**: it fits and generalizes (train and validation accuracy ≥ 95%), with a grokking
  delay D = t_val − t_train > 1000 steps;
- **comprehension**: it fits and generalizes with D < 1000 steps;
- **confusion**: "other cases": it never fits, or fits and never generalizes in budget
  (grokcore's memorization is folded in here, as the paper does).

"The comprehension region, characterized by a (train size / batch size) ratio mostly ranging
from 20 to 800, lies between the confusion and grokking regions." The paper's rule is an
absolute 1000 steps; a shorter quick-tier budget states its equivalent as a ratio,
D > r·t_train (`metrics.phase`'s `min_delay_ratio`).

Statistic: the share of comprehension runs against x = log10(train size / batch size), fitted
by least squares as a quadratic in x over the runs; its peak is the vertex when the fit is
concave, else the better grid end, clipped to the grid's x range. Its CI is a percentile
parametric bootstrap that keeps every grid point: each ratio's count of comprehension runs is
redrawn as Binomial(n, q) with q from the Jeffreys posterior Beta(k + ½, n − k + ½) (resampling
runs within a ratio would give a zero-width CI wherever a ratio's few seeds agree). SUPPORTED when
the whole CI lies strictly inside the grid (an intermediate ratio), REFUTED when it sits at
one end (the share rises or falls across the grid, or no run comprehends), else
INCONCLUSIVE. The band found (the ratios at which most runs comprehend) is reported beside
the paper's 20–800.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from grokcore import metrics, stats
from grokcore.config import ModularTask, RunConfig
from grokcore.history import History
from grokcore.metrics import Phase
from grokcore.record import Check, Verdict
from grokcore.verdicts.judgement import Judgement, judge_checks

PAPER_BAND = (20.0, 800.0)  # li-sakib §3.2, Fig 4: "mostly ranging from 20 to 800"
CATEGORIES = ("confusion", "comprehension", "grokking")


def category(
    h: History, tau: float = 0.95, min_delay_steps: int | None = 1000, ratio: float | None = None
) -> str:
    """li-sakib §3.2's category of one run: "grokking", "comprehension" or "confusion"."""
    ph = metrics.phase(h, tau, min_delay_steps, ratio)
    if ph in (Phase.GROKKING, Phase.COMPREHENSION):
        return ph.value
    return "confusion"  # never fits, or fits and never generalizes ("other cases")


def band_table(ratios: Sequence[float], cats: Sequence[str]) -> list[dict[str, Any]]:
    """Per distinct ratio (ascending): runs and the share of each category."""
    if len(ratios) != len(cats):
        raise ValueError(f"band_table: {len(ratios)} ratios for {len(cats)} categories")
    out = []
    for r in sorted(set(ratios)):
        cs = [c for x, c in zip(ratios, cats, strict=True) if x == r]
        out.append({"ratio": r, "n": len(cs), **{c: cs.count(c) / len(cs) for c in CATEGORIES}})
    return out


def _peak(x: np.ndarray, y: np.ndarray, lo: float, hi: float) -> float:
    """x of the maximum over [lo, hi] of the least-squares quadratic through (x, y)."""
    if np.ptp(y) == 0:
        return math.nan  # all 0 or all 1: no peak
    c2, c1, _ = np.polyfit(x, y, 2)
    if c2 < 0:
        return float(np.clip(-c1 / (2 * c2), lo, hi))
    return lo if c2 * lo * lo + c1 * lo >= c2 * hi * hi + c1 * hi else hi


def _band(table: list[dict[str, Any]]) -> tuple[float, float] | None:
    most = [r["ratio"] for r in table if r["comprehension"] >= 0.5]
    return (min(most), max(most)) if most else None


def comprehension_band(
    ratios: Sequence[float],
    histories: Sequence[History],
    tau: float = 0.95,
    min_delay_steps: int | None = 1000,
    min_delay_ratio: float | None = None,
    need: float = 0.5,
    n_boot: int = 1000,
    seed: int = 0,
) -> Judgement:
    """LS-BAND: the share of comprehension runs peaks at an intermediate train/batch ratio.

    ratios: train size / batch size of each history's run (≥ 3 distinct values).
    min_delay_steps / min_delay_ratio: the grokking rule (`metrics.phase`): li-sakib's
    D > 1000 steps by default; the quick tier passes a ratio instead.
    Positive control: at some ratio ≥ `need` of the runs generalize (comprehension or
    grokking), so that the grid is not confusion throughout.
    """
    if len(ratios) != len(histories):
        raise ValueError(f"comprehension_band: {len(ratios)} ratios for {len(histories)} runs")
    if any(not (r > 0 and math.isfinite(r)) for r in ratios):
        raise ValueError("comprehension_band: every train/batch ratio must be positive and finite")
    if len(set(ratios)) < 3:
        raise ValueError(
            f"comprehension_band: {len(set(ratios))} distinct ratios; an intermediate peak "
            "needs at least 3"
        )
    rule = f"D > {min_delay_steps} steps" if min_delay_steps is not None else ""
    if min_delay_ratio is not None:
        rule += (" and " if rule else "") + f"D > {min_delay_ratio:g}·t_train"
    rows, cats = [], []
    for r, h in zip(ratios, histories, strict=True):
        a, b = metrics.t_train(h, tau), metrics.t_test(h, tau)
        cat = category(h, tau, min_delay_steps, min_delay_ratio)
        cats.append(cat)
        rows.append(
            {
                "ratio": round(float(r), 3),
                "seed": h.config.get("seed"),
                "t_train": a.step,
                "t_test": b.step,
                "category": cat,
                "final_test_acc": round(float(h.test_acc[-1]), 4),
            }
        )
    table = band_table(list(ratios), cats)
    good = [t["ratio"] for t in table if t["comprehension"] + t["grokking"] >= need]
    positive = Check(
        "positive control: ratios at which the runs generalize",
        float(len(good)),
        None,
        f"≥ 1 ratio with ≥ {need:.0%} of runs reaching train and validation accuracy ≥ {tau}",
        Verdict.SUPPORTED if good else Verdict.INCONCLUSIVE,
        detail=f"{len(good)} of {len(table)} ratios ({', '.join(map(str, good)) or 'none'})",
    )
    x = np.log10(np.asarray(ratios, dtype=np.float64))
    y = np.asarray([c == "comprehension" for c in cats], dtype=np.float64)
    lo, hi = float(x.min()), float(x.max())
    point = _peak(x, y, lo, hi)
    rng = np.random.default_rng(seed)
    xs = np.unique(x)
    ns = np.array([np.count_nonzero(x == v) for v in xs])
    ks = np.array([y[x == v].sum() for v in xs])
    xb = np.repeat(xs, ns)
    boots = np.empty(n_boot)
    for i in range(n_boot):
        kb = rng.binomial(ns, rng.beta(ks + 0.5, ns - ks + 0.5))
        parts = [np.r_[np.ones(k), np.zeros(m - k)] for k, m in zip(kb, ns, strict=True)]
        yb = np.concatenate(parts)
        peak = _peak(xb, yb, lo, hi)
        boots[i] = lo if math.isnan(peak) else peak  # no peak at all: not an interior one
    band = _band(table)
    found = f"{band[0]:.3g}–{band[1]:.3g}" if band else "none"
    shares = ", ".join(f"{t['ratio']:.3g}: {t['comprehension']:.2f}" for t in table)
    detail = (
        f"comprehension share by ratio {{{shares}}}; band found (≥ half comprehend): {found}; "
        f"grid {10**lo:.3g}–{10**hi:.3g}; quadratic least squares in log10 ratio, percentile "
        f"Jeffreys-binomial bootstrap per ratio ({n_boot}); grokking: {rule}"
    )
    name = "ratio at the peak of the comprehension share"
    region = f"CI strictly inside the grid ({10**lo:.3g}, {10**hi:.3g})"
    if math.isnan(point) or not y.any():
        why = "no run comprehends" if not y.any() else "every run comprehends: no peak"
        check = Check(name, math.nan, None, region, Verdict.REFUTED, detail=f"{why}; {detail}")
    else:
        c_lo, c_hi = np.percentile(boots, [2.5, 97.5])
        eps = 1e-9
        if c_lo > lo + eps and c_hi < hi - eps:
            v = Verdict.SUPPORTED
        elif c_hi <= lo + eps or c_lo >= hi - eps:
            v = Verdict.REFUTED
        else:
            v = Verdict.INCONCLUSIVE
        check = Check(
            name,
            float(10**point),
            (float(10**c_lo), float(10**c_hi)),
            region,
            v,
            detail=detail,
            paper_value=f"comprehension at ratios ≈ {PAPER_BAND[0]:g}–{PAPER_BAND[1]:g} "
            "(§3.2, Fig 4)",
            bounds=(float(10**lo), float(10**hi)),
        )
    j = judge_checks(
        [check],
        [],
        rows,
        {
            Verdict.SUPPORTED: f"comprehension peaks at an intermediate train/batch ratio "
            f"(band found {found}; paper 20–800)",
            Verdict.REFUTED: "the share of comprehension does not peak inside the grid "
            f"(band found {found})",
            Verdict.INCONCLUSIVE: "the peak of the comprehension share could not be placed "
            f"inside the grid (band found {found})",
        },
        positive,
    )
    if check.ci is not None:
        j.fit = stats.Estimate(check.value, check.ci, n=len(rows), method="quadratic peak")
    return j


def train_batch_ratios(configs: Sequence[RunConfig]) -> list[float]:
    """Train size / batch size of each modular run, li-sakib's x axis (full batch: 1)."""
    out = []
    for c in configs:
        if not isinstance(c.task, ModularTask):
            raise ValueError(f"train_batch_ratios: {type(c.task).__name__} is not a modular task")
        n_train = c.task.n_train
        out.append(n_train / (c.batch_size or n_train))
    return out


def comprehension_band_runs(
    configs: Sequence[RunConfig],
    histories: Sequence[History],
    *,
    tau: float,
    min_delay_steps: int | None,
    min_delay_ratio: float | None,
    need: float,
    n_boot: int = 1000,
    seed: int = 0,
) -> Judgement:
    """LS-BAND on the grid's runs: `comprehension_band` over each run's train/batch ratio
    (`train_batch_ratios`). The per-ratio shares of each category (`band_table`), which the
    claim's figure draws, are in `evidence["table"]`."""
    if len(configs) != len(histories):
        raise ValueError(f"comprehension_band_runs: {len(configs)} configs, {len(histories)} runs")
    ratios = train_batch_ratios(configs)
    j = comprehension_band(
        ratios,
        histories,
        tau=tau,
        min_delay_steps=min_delay_steps,
        min_delay_ratio=min_delay_ratio,
        need=need,
        n_boot=n_boot,
        seed=seed,
    )
    j.evidence["table"] = band_table(ratios, [r["category"] for r in j.runs])
    return j
