"""Claims judged by the share of seeds that show something: LS-DIV and AR-OPS.

LS-DIV (li-sakib §3, Fig 2): x÷y at a 30/70 train/val split groks, its delay D = t_test −
t_train a large multiple of t_train, while at 70/30 the same model comprehends (small D).
AR-OPS (arn §3–4.1): five operations generalize within the budget, x³+xy and the mixed op do
not. Both are read off a handful of seeds, so each share is judged by `bounds.share_bound`
(point judged, REFUTED only when the Clopper–Pearson CI misses the bound) and carries the
bound as numbers for the report's forest plot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal

import numpy as np

from grokcore import metrics, stats
from grokcore.history import History
from grokcore.metrics import GROK_RATIO, Phase
from grokcore.record import Check, Verdict
from grokcore.verdicts.bounds import delay_bound, share_bound
from grokcore.verdicts.judgement import Judgement, judge_checks, positive_control, timings

# arn §3's two operations that do not generalize, spelled as grokcore.data.modular spells them
HARD_OPS = ("x^3+xy", "x/y if y odd else x-y")


def bounded_share(
    name: str,
    k: int,
    n: int,
    bound: float,
    side: Literal["at_least", "at_most"],
    detail: str = "",
    paper_value: str | None = None,
) -> Check:
    """`bounds.share_bound`, with its bound as numbers (`Check.bounds`) for the forest plot."""
    check = share_bound(name, k, n, bound, side, detail, paper_value)
    return replace(check, bounds=(bound, math.inf) if side == "at_least" else (-math.inf, bound))


def _demote_on_failed_control(j: Judgement) -> Judgement:
    """SUPPORTED needs the negative controls too: a statistic the control also passes is
    not specific to the claimed setting, so the verdict becomes INCONCLUSIVE (not REFUTED:
    the claimed arm did show the effect)."""
    failed = [c for c in j.control[1:] if c.verdict is not Verdict.SUPPORTED]
    if j.verdict is Verdict.SUPPORTED and failed:
        j.verdict = Verdict.INCONCLUSIVE
        j.reason = "; ".join(f"control failed: {c.name} — {c.detail}" for c in failed)
    return j


def _arm_summary(runs: list[dict[str, Any]], arm: str) -> tuple[int, int, str]:
    """(runs grokking, runs, a line with the count per phase and the median D and t_train)."""
    rs = [r for r in runs if r["arm"] == arm]
    k = sum(r["phase"] == Phase.GROKKING.value for r in rs)
    counts = ", ".join(f"{sum(r['phase'] == p.value for r in rs)} {p.value}" for p in Phase)
    gen = [r for r in rs if not r["test_censored"]]
    if not gen:
        return k, len(rs), f"{counts}; no run generalized"
    med_d, med_t = np.median([r["delay"] for r in gen]), np.median([r["t_train"] for r in gen])
    return k, len(rs), f"{counts}; median D = {med_d:.0f}, median t_train = {med_t:.0f} steps"


def delay_dominates(
    grok: Sequence[History],
    control: Sequence[History],
    ratio: float = GROK_RATIO,
    min_delay_steps: int | None = None,
    most: float = 0.5,
    max_control_share: float = 0.5,
    need: float = 0.5,
    tau: float = 0.95,
) -> Judgement:
    """LS-DIV: most seeds of the 30/70 split grok; the 70/30 split (the control) does not.

    A run groks when it fits and generalizes (accuracy ≥ `tau`) in budget with
    D = t_test − t_train > `ratio` · t_train (`metrics.phase`; li-sakib's own rule is
    D > 1000 steps: `min_delay_steps=1000`, both must hold when both are given).
    Checks: share of `grok` runs that grok ≥ `most` (`bounded_share`, CP CI reported).
    Control: share of `control` runs that grok ≤ `max_control_share`; if it fails, a SUPPORTED
    verdict turns INCONCLUSIVE (the criterion would fire without the small split).
    Positive control: ≥ `need` of the `grok` runs generalize in budget. Runs that never
    generalize (memorization) or never fit (confusion) count as not grokking and are reported.
    """
    runs: list[dict[str, Any]] = []
    for arm, hs in (("grok", grok), ("control", control)):
        for h in hs:
            a, b, d = delay_bound(h, tau, tau)
            ph = metrics.phase(h, tau, min_delay_steps, ratio)
            runs.append(
                {
                    "arm": arm,
                    "seed": h.config.get("seed"),
                    "t_train": a.step,
                    "t_test": b.step,
                    "delay": d,
                    "delay / t_train": round(d / max(a.step, 1), 2),
                    "phase": ph.value,
                    "test_censored": b.censored,
                    "final_test_acc": round(float(h.test_acc[-1]), 4),
                }
            )
    rule = f"D > {ratio:g}·t_train" + (
        f" and D > {min_delay_steps} steps" if min_delay_steps is not None else ""
    )
    kg, ng, dg = _arm_summary(runs, "grok")
    kc, nc, dc = _arm_summary(runs, "control")
    n_gen = sum(not r["test_censored"] for r in runs if r["arm"] == "grok")
    positive = positive_control(
        "the grokking split generalizes in budget", n_gen, ng, need, f"reach test accuracy ≥ {tau}"
    )
    main = bounded_share(
        f"share of seeds grokking ({rule})",
        kg,
        ng,
        most,
        "at_least",
        dg,
        paper_value="D ≈ 5,800 steps in one x÷y run at 30/70 (§3, Fig 2)",
    )
    ctrl = bounded_share(
        f"control split: share of seeds grokking ({rule})", kc, nc, max_control_share, "at_most", dc
    )
    j = judge_checks(
        [main],
        [ctrl],
        runs,
        {
            Verdict.SUPPORTED: "most seeds fit first and generalize only after a delay many "
            "times t_train; the large split does not",
            Verdict.REFUTED: "most seeds do not grok at the small split",
            Verdict.INCONCLUSIVE: "the share of grokking seeds could not be pinned down",
        },
        positive,
    )
    return _demote_on_failed_control(j)


def op_table(
    ops: Sequence[str],
    histories: Sequence[History],
    hard: Sequence[str] = HARD_OPS,
    high: float = 0.8,
    low: float = 0.2,
    tau: float = 0.95,
) -> list[dict[str, Any]]:
    """Per operation (in first-seen order): runs, share reaching test accuracy ≥ `tau` with its
    CP CI, and the claim's bound on it (≥ `high`, or ≤ `low` for a `hard` op).

    `plotting.plot_shares` draws the rows.
    """
    if len(ops) != len(histories):
        raise ValueError(f"op_table: {len(ops)} ops for {len(histories)} histories")
    out = []
    for op in dict.fromkeys(ops):
        hs = [h for o, h in zip(ops, histories, strict=True) if o == op]
        k = sum(not timings(h, tau, tau)[1].censored for h in hs)
        est = stats.clopper_pearson(k, len(hs))
        is_hard = op in hard
        out.append(
            {
                "label": op,
                "n": len(hs),
                "generalized": k,
                "share": est.value,
                "share_ci": est.ci,
                "hard": is_hard,
                "bound": low if is_hard else high,
                "side": "at_most" if is_hard else "at_least",
            }
        )
    return out


def op_shares(
    ops: Sequence[str],
    histories: Sequence[History],
    hard: Sequence[str] = HARD_OPS,
    high: float = 0.8,
    low: float = 0.2,
    need: float = 0.5,
    tau: float = 0.95,
) -> Judgement:
    """AR-OPS: per operation, the share of seeds reaching test accuracy ≥ `tau` in budget.

    One history per entry of `ops` (pass the runs of the train fraction the claim is made at).
    Checks, one per operation (`bounded_share`, CP CI reported): ≥ `high` for an operation
    that groks, ≤ `low` for each of the `hard` ones; every hard op must have runs.
    Positive control: at least one grokking operation generalizes in ≥ `need` of its seeds,
    so that "the hard ops do not generalize" is not just a budget too short for any op.
    """
    table = op_table(ops, histories, hard, high, low, tau)
    missing = [op for op in hard if op not in {r["label"] for r in table}]
    if missing:
        raise ValueError(f"op_shares: no runs of the hard op(s) {missing}; pass hard= to narrow")
    if all(r["hard"] for r in table):
        raise ValueError("op_shares: no runs of an operation that should grok")
    checks = []
    for r in table:
        paper = "does not generalize (§3)" if r["hard"] else "generalizes (§3, §4.1)"
        what = "hard op, should not generalize" if r["hard"] else "should generalize"
        checks.append(
            bounded_share(
                f"{r['label']}: share reaching test ≥ {tau} ({what})",
                r["generalized"],
                r["n"],
                r["bound"],
                r["side"],
                paper_value=paper,
            )
        )
    good = [r["label"] for r in table if not r["hard"] and r["generalized"] >= need * r["n"]]
    positive = Check(
        "positive control: grokking operations that generalize in most seeds",
        float(len(good)),
        None,
        f"≥ 1 operation with ≥ {need:.0%} of seeds reaching test accuracy ≥ {tau}",
        Verdict.SUPPORTED if good else Verdict.INCONCLUSIVE,
        detail=f"{len(good)} operations ({', '.join(good) or 'none'})",
    )
    runs = []
    for op, h in zip(ops, histories, strict=True):
        a, b = timings(h, tau, tau)
        runs.append(
            {
                "op": op,
                "hard": op in hard,
                "seed": h.config.get("seed"),
                "t_train": a.step,
                "t_test": b.step,
                "generalized": not b.censored,
                "budget": h.budget,
                "final_test_acc": round(float(h.test_acc[-1]), 4),
            }
        )
    return judge_checks(
        checks,
        [],
        runs,
        {
            Verdict.SUPPORTED: "the grokking operations generalize and the two hard ones do not",
            Verdict.REFUTED: "the operations do not split into grokking and hard as arn reports",
            Verdict.INCONCLUSIVE: "too few seeds to place some operation's share",
        },
        positive,
    )
