"""BX-UNGROK (Varma et al. 2023, arXiv 2309.02390, "ungrokking"): a grokked net trained on,
from its final weights, on a smaller training set D' un-groks below a critical D'.

The statistic reads each continued run's final test accuracy. A run *un-groks* when it ends
below `low` (0.5). Per weight decay γ:
- at the smallest D', the share of runs that un-grok is ≥ `most` (0.8);
- at D' = D, the whole training split (the control: the same continuation with nothing
  taken away), it is ≤ `few` (0.2);
- the critical D' (the smallest grid D' at which at most half the runs un-grok) lies within
  one grid step across the γ (a bootstrap over seeds gives its CI).
Positive control: the parents grokked (test accuracy ≥ `tau`); the children of a parent
that did not are left out, since they have nothing to un-grok.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from grokcore.record import Check, Verdict
from grokcore.verdicts.judgement import Judgement, judge_checks, positive_control
from grokcore.verdicts.shares import bounded_share

# one cell: (D', γ) -> the final test accuracies of its runs whose parent grokked
Cells = Mapping[tuple[int, float], Sequence[float]]


def critical_index(cells: Cells, sizes: Sequence[int], gamma: float, low: float) -> int:
    """Index into `sizes` of the first D' at which at most half of γ's runs end below
    `low` (they keep what they grokked); len(sizes) where every D' un-groks."""
    for i, d in enumerate(sizes):
        acc = np.asarray(cells[(d, gamma)], dtype=float)
        if acc.size and np.mean(acc < low) <= 0.5:
            return i
    return len(sizes)


def _spread(cells: Cells, sizes: Sequence[int], gammas: Sequence[float], low: float) -> int:
    idx = [critical_index(cells, sizes, g, low) for g in gammas]
    return max(idx) - min(idx)


def spread_ci(
    cells: Cells,
    sizes: Sequence[int],
    gammas: Sequence[float],
    low: float,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """95% percentile CI of the critical D' spread (grid steps), resampling each cell's runs."""
    rng = np.random.default_rng(seed)
    arrays = {k: np.asarray(v, dtype=float) for k, v in cells.items()}
    out = []
    for _ in range(n_boot):
        draw = {
            k: a[rng.integers(0, a.size, a.size)].tolist() if a.size else []
            for k, a in arrays.items()
        }
        out.append(_spread(draw, sizes, gammas, low))
    lo, hi = np.percentile(out, [2.5, 97.5])
    return float(lo), float(hi)


def ungrok_verdict(
    cells: Cells,
    parents_test: Sequence[float],
    *,
    sizes: Sequence[int],
    gammas: Sequence[float],
    low: float = 0.5,
    most: float = 0.8,
    few: float = 0.2,
    tau: float = 0.95,
    need: float = 0.8,
    max_spread: int = 1,
) -> Judgement:
    """Judge BX-UNGROK. `cells[(D', γ)]`: final test accuracies of the continued runs of
    grokked parents; `sizes`: the D' grid, increasing, its last the whole split D."""
    if list(sizes) != sorted(sizes) or len(sizes) < 2:
        raise ValueError(f"sizes must be an increasing grid of >= 2 D', got {list(sizes)}")
    if not gammas:
        raise ValueError("ungrok_verdict needs at least one weight decay")
    k = sum(a >= tau for a in parents_test)
    positive = positive_control(
        f"the parents grokked (test accuracy ≥ {tau:g})", k, len(parents_test), need, "grokked"
    )
    small, full = sizes[0], sizes[-1]

    def share(d: int, g: float) -> tuple[int, int]:
        acc = np.asarray(cells[(d, g)], dtype=float)
        return int(np.sum(acc < low)), int(acc.size)

    checks: list[Check] = []
    control: list[Check] = []
    for g in gammas:
        ks, ns = share(small, g)
        checks.append(
            bounded_share(
                f"γ = {g:g}: share un-grokked (final test < {low:g}) at the smallest D' = {small}",
                ks,
                ns,
                most,
                "at_least",
                paper_value="test accuracy falls back below D_crit (Varma et al. 2023; "
                "their numbers are not quoted here)",
            )
        )
        kf, nf = share(full, g)
        control.append(
            bounded_share(
                f"control: γ = {g:g}: share un-grokked at D' = D = {full}", kf, nf, few, "at_most"
            )
        )
    idx = {g: critical_index(cells, sizes, g, low) for g in gammas}
    spread = max(idx.values()) - min(idx.values())
    lo, hi = spread_ci(cells, sizes, gammas, low)
    where = ", ".join(
        f"γ = {g:g}: {sizes[i] if i < len(sizes) else f'above {full}'}" for g, i in idx.items()
    )
    if len(gammas) > 1:
        checks.append(
            Check(
                "spread of the critical D' across weight decays (grid steps)",
                float(spread),
                (lo, hi),
                f"≤ {max_spread} grid step (point judged; REFUTED if the CI lies above)",
                Verdict.SUPPORTED
                if spread <= max_spread
                else (Verdict.REFUTED if lo > max_spread else Verdict.INCONCLUSIVE),
                detail=f"critical D' (first D' where at most half the runs un-grok): {where}; "
                "bootstrap over each cell's runs",
                paper_value="D_crit roughly independent of weight decay (catalogue row)",
                bounds=(-np.inf, float(max_spread)),
            )
        )
    runs: list[dict[str, Any]] = [
        {"D'": d, "γ": g, "runs": len(v), "un-grokked": int(np.sum(np.asarray(v) < low)),
         "median final test acc": float(np.median(v)) if len(v) else float("nan")}
        for (d, g), v in sorted(cells.items())
    ]  # fmt: skip
    j = judge_checks(
        checks,
        control,
        runs,
        {
            Verdict.SUPPORTED: "below the critical D' the grokked nets un-grok, at D' = D they "
            "do not, and the critical D' does not move with weight decay",
            Verdict.REFUTED: "the continued runs do not un-grok as claimed",
            Verdict.INCONCLUSIVE: "the shares cannot be placed against their bounds",
        },
        positive,
    )
    failed = [c for c in control if c.verdict is not Verdict.SUPPORTED]
    if j.verdict is Verdict.SUPPORTED and failed:  # the drop is not D''s if D drops too
        j.verdict = Verdict.INCONCLUSIVE
        j.reason = "; ".join(f"control failed: {c.name} — {c.detail}" for c in failed)
    j.evidence = {"critical": {g: (sizes[i] if i < len(sizes) else None) for g, i in idx.items()}}
    return j


__all__ = ["critical_index", "spread_ci", "ungrok_verdict"]
