"""LS-LAND (li-sakib §3.3, Fig 5): loss surfaces around grokking optima are more uneven than
around non-grokking ones.

li-sakib: "Compared to non-grokking (comprehension) optima, the landscape of grokking optima
is more uneven, and the range of loss can be eight times larger." The statistic is the ratio
of median loss ranges (max − min of the training loss over a 2-D filter-normalized slice,
`grokcore.landscape`) of grokking runs over non-grokking runs, with a bootstrap CI above 1.
Runs are classified by what they did (`metrics.phase`), as the paper sorts its optima: the
grokking arm's runs that grokked against the control arm's runs that did not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grokcore import metrics, stats
from grokcore.history import History
from grokcore.metrics import GROK_RATIO, Phase
from grokcore.record import Verdict
from grokcore.stats import Region
from grokcore.verdicts.judgement import Judgement, judge_checks, positive_control
from grokcore.verdicts.shares import _demote_on_failed_control, bounded_share


def range_ratio(
    grok: Sequence[History],
    grok_ranges: Sequence[float],
    control: Sequence[History],
    control_ranges: Sequence[float],
    ratio: float = GROK_RATIO,
    min_delay_steps: int | None = None,
    need: float = 0.5,
    max_control_share: float = 0.5,
    tau: float = 0.95,
    seed: int = 0,
) -> Judgement:
    """median range(grokked runs) / median range(non-grokking control runs), CI above 1.

    A run groks as in LS-DIV (`metrics.phase`: fits and generalizes with D > `ratio`·t_train,
    and D > `min_delay_steps` where given). Positive control: ≥ `need` of the `grok` arm's
    runs grok. Control: ≤ `max_control_share` of the `control` arm's runs grok, else a
    SUPPORTED verdict turns INCONCLUSIVE. Fewer than 2 runs on either side: INCONCLUSIVE.
    """
    if len(grok) != len(grok_ranges) or len(control) != len(control_ranges):
        raise ValueError("range_ratio needs one loss range per history in each arm")
    runs: list[dict[str, Any]] = []
    for arm, hs, rs in (("grok", grok, grok_ranges), ("control", control, control_ranges)):
        for h, r in zip(hs, rs, strict=True):
            ph = metrics.phase(h, tau, min_delay_steps, ratio)
            runs.append(
                {"arm": arm, "seed": h.config.get("seed"), "phase": ph.value, "range": float(r)}
            )
    groks = [r["range"] for r in runs if r["arm"] == "grok" and r["phase"] == Phase.GROKKING]
    calm = [r["range"] for r in runs if r["arm"] == "control" and r["phase"] != Phase.GROKKING]
    n_grok = sum(r["arm"] == "grok" for r in runs)
    n_ctrl = sum(r["arm"] == "control" for r in runs)
    rule = f"D > {ratio:g}·t_train" + (
        f" and D > {min_delay_steps} steps" if min_delay_steps is not None else ""
    )
    positive = positive_control(
        "the grokking arm groks", len(groks), n_grok, need, f"grok ({rule})"
    )
    ctrl = bounded_share(
        f"control arm: share of runs grokking ({rule})",
        n_ctrl - len(calm),
        n_ctrl,
        max_control_share,
        "at_most",
    )
    if len(groks) >= 2 and len(calm) >= 2:
        est = stats.bootstrap_ratio(groks, calm, seed=seed)
    else:
        est = stats.Estimate(float("nan"), (float("nan"), float("nan")), n=len(groks) + len(calm))
    main = stats.judge(
        est,
        Region.above(1),
        "median loss range, grokking / non-grokking optima",
        detail=f"{len(groks)} grokked runs vs {len(calm)} non-grokking control runs",
        paper_value="up to 8× larger (§3.3)",
    )
    j = judge_checks(
        [main],
        [ctrl],
        runs,
        {
            Verdict.SUPPORTED: "the loss varies more around grokking optima than around "
            "non-grokking ones",
            Verdict.REFUTED: "the loss surface around grokking optima is no more uneven",
            Verdict.INCONCLUSIVE: "the ratio of loss ranges could not be pinned down",
        },
        positive,
    )
    return _demote_on_failed_control(j)
