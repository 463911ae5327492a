"""OG-REPR (omnigrok §5.1, Fig 6e): in the representation toy, more training pairs generalize
sooner, and too few never do.

Fig 6e draws, on the reduced (w, m) landscape, the contour "training loss = 0.02" for 25, 35,
45 and 55 training pairs: at 45 and 55 it reaches the generalizing solution (the green star,
the linear representation m = 0), so "generalization will eventually happen", sooner at 55
(θ55 < θ45, t = (L + h·tanθ)/(η_D·γ)); at 25 and 35 it does not, "no matter how long". So
"generalizes" means the representation becomes linear. For a trained run that is read as
Liu et al. 2022's representation quality index (RQI, `rqi`): the share of the toy's
parallelograms i + n = j + m whose standardized embeddings close, E_i + E_n ≈ E_j + E_m,
with the thresholds of their code (`ejmichaud/grokking-squared` `toy/train_add.py`:
`threshold_P = 0.01`, `threshold_rqi = 0.95`). It needs no test pair, so it is defined at
every size, 55 included.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grokcore import stats
from grokcore.config import PairSumTask, RunConfig
from grokcore.history import History
from grokcore.record import Verdict
from grokcore.stats import Region
from grokcore.verdicts.judgement import Judgement, judge_checks, positive_control

RQI_DIST = 0.01  # `threshold_P`: a parallelogram closes when its mean squared gap is below it
RQI_GENERALIZED = 0.95  # `threshold_rqi`: the representation counts as linear above it


def parallelograms(p: int) -> np.ndarray:
    """(n, 4) digit quadruples [i, n, j, m], i < j ≤ m < n, i + n = j + m (train_add.py)."""
    out = [
        [i, n, j, m]
        for i in range(p)
        for j in range(i + 1, p)
        for m in range(j, p)
        for n in range(m + 1, p)
        if i + n == j + m
    ]
    return np.asarray(out, dtype=np.int64).reshape(-1, 4)


def rqi(embeddings: np.ndarray, dist: float = RQI_DIST) -> float:
    """Liu et al. 2022's RQI of a (p, d) representation: the share of parallelograms whose
    standardized embeddings (zero mean, unit std per dimension) close within `dist`."""
    e = np.asarray(embeddings, dtype=np.float64)
    if e.ndim == 1:
        e = e[:, None]
    if e.ndim != 2 or len(e) < 4:
        raise ValueError(f"rqi needs a (p, d) representation with p ≥ 4, got shape {e.shape}")
    std = e.std(0, ddof=1)
    if np.any(std == 0) or not np.all(np.isfinite(e)):
        return 0.0  # a collapsed or diverged representation is no linear one
    z = (e - e.mean(0)) / std
    q = parallelograms(len(e))
    gap = z[q[:, 0]] + z[q[:, 1]] - z[q[:, 2]] - z[q[:, 3]]
    return float(np.mean((gap**2).mean(1) < dist))


def first_generalized(budgets: Sequence[int], rqis: Sequence[float], cap: int) -> int:
    """The first step (of a run's evaluations, or of a ladder of budgets) at which RQI ≥ 0.95;
    `cap` (censored) if none did."""
    for b, r in sorted(zip(budgets, rqis, strict=True)):
        if r >= RQI_GENERALIZED:
            return int(b)
    return int(cap)


def size_trend(
    sizes: Sequence[int],
    final_rqi: Sequence[float],
    times: Sequence[int],
    budget: int,
    fast: int,
    slow: int,
    need: float = 0.5,
    seed: int = 0,
) -> Judgement:
    """OG-REPR's statistic over runs (size, final RQI, time to RQI ≥ 0.95 censored at `budget`).

    Checks: (1) the share generalizing rises with size: Spearman ρ(size, generalized) with a
    pair-bootstrap CI above 0 (shares per size in the detail); (2) median t(fast) / median
    t(slow) with a bootstrap CI below 1 (fast = 55 or its stand-in, slow = 45), censored
    times at the budget. Positive control: ≥ `need` of the runs at the largest size generalize.
    """
    n = len(sizes)
    if not n or len(final_rqi) != n or len(times) != n:
        raise ValueError("size_trend needs equally long sizes, final_rqi and times")
    size = np.asarray(sizes, dtype=float)
    gen = np.asarray(final_rqi, dtype=float) >= RQI_GENERALIZED
    t = np.minimum(np.asarray(times, dtype=float), budget)
    levels = sorted(set(sizes))
    per = {s: (int(gen[size == s].sum()), int((size == s).sum())) for s in levels}
    shares = ", ".join(f"{s}: {k}/{m}" for s, (k, m) in per.items())
    runs = [
        {"size": int(s), "final_rqi": round(float(r), 4), "generalized": bool(g), "t": int(x)}
        for s, r, g, x in zip(size, final_rqi, gen, t, strict=True)
    ]
    k_top, n_top = per[levels[-1]]
    positive = positive_control(
        f"the largest size ({levels[-1]} pairs) generalizes",
        k_top,
        n_top,
        need,
        f"reach RQI ≥ {RQI_GENERALIZED}",
    )
    trend = stats.judge(
        stats.spearman(size, gen.astype(float), seed=seed),
        Region.above(0),
        "Spearman ρ(training pairs, generalized)",
        detail=f"generalized by size: {shares}",
        paper_value="45 and 55 generalize, 25 and 35 never (Fig 6e)",
    )
    speed = stats.judge(
        stats.bootstrap_ratio(t[size == fast], t[size == slow], seed=seed),
        Region.below(1),
        f"median t({fast}) / median t({slow})",
        detail=f"time to RQI ≥ {RQI_GENERALIZED}, censored at {budget:,} steps: "
        f"{int((t[size == fast] >= budget).sum())} at {fast}, "
        f"{int((t[size == slow] >= budget).sum())} at {slow} never did",
        paper_value="t55 < t45 (θ55 < θ45, Fig 6e)",
    )
    return judge_checks(
        [trend, speed],
        [],
        runs,
        {
            Verdict.SUPPORTED: "more training pairs generalize more often and sooner",
            Verdict.REFUTED: "the share or the speed of generalization does not rise with size",
            Verdict.INCONCLUSIVE: "the seeds do not pin down the trend in size",
        },
        positive,
    )


REPR_TRACE = "embed.weight"  # the toy's embeddings E, which every evaluation records


def rqi_curve(h: History) -> list[float]:
    """A representation-toy run's RQI at each evaluation, from its recorded embeddings."""
    return [rqi(e.reshape(-1, 1)) for e in h.traces[REPR_TRACE]]


def size_trend_runs(
    configs: Sequence[RunConfig],
    histories: Sequence[History],
    *,
    budget: int,
    fast: int,
    slow: int,
    need: float,
    seed: int = 0,
) -> Judgement:
    """OG-REPR on its runs: each run's RQI over training (`rqi_curve`), its final RQI and its
    first step with RQI ≥ 0.95 (`first_generalized`, censored at `budget`), judged by
    `size_trend`. `evidence["rqi"]` holds the curves as rows of size, seed, steps and rqi."""
    if len(configs) != len(histories):
        raise ValueError(f"size_trend_runs: {len(configs)} configs, {len(histories)} runs")
    rows, sizes, finals, times = [], [], [], []
    for c, h in zip(configs, histories, strict=True):
        if not isinstance(c.task, PairSumTask):
            raise ValueError(f"size_trend_runs: {type(c.task).__name__} is not the toy's task")
        curve = rqi_curve(h)
        rows += [
            {"size": c.task.n_train, "seed": c.seed, "steps": int(t), "rqi": r}
            for t, r in zip(h.steps, curve, strict=True)
        ]
        sizes.append(c.task.n_train)
        finals.append(curve[-1])
        times.append(first_generalized(list(h.steps), curve, budget))
    j = size_trend(sizes, finals, times, budget=budget, fast=fast, slow=slow, need=need, seed=seed)
    j.evidence["rqi"] = rows
    return j
