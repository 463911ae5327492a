"""LS-MNIST: one row of li-sakib's Table 3, "does this MNIST variation grok?", against the table.

li-sakib §4, Table 3: the omnigrok MNIST MLP (1k images, α = 8, MSE, AdamW) with one factor
changed per row; each row is marked ✓ (groks) or ✗ (no grok). The report gives no numeric
criterion (its verdicts are read off curves), so a run here *groks* when, with MNIST's
thresholds (train accuracy ≥ 0.99, test ≥ 0.85, as OG-MNIST):

* it fits and generalizes within the budget,
* its delay D = t_test − t_train exceeds `ratio` · t_train (LS-DIV's rule, li-sakib §3), and
* test accuracy when train accuracy first reaches 0.99 is at least `min_gap` below the final
  test accuracy (OG-MNIST's "far below": a run whose test accuracy only creeps past 0.85 after
  a normal fit does not grok).

A row's observed verdict is "groks" when at least `high` of its seeds grok, "no grok" when at
most `low` do, else "mixed". The base row (1k, MSE, α = 8) is the positive control of every
row: if it does not grok, the budget or the stand-in cannot show grokking at all, and the row
is INCONCLUSIVE, whatever it did.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grokcore import metrics
from grokcore.history import History
from grokcore.metrics import GROK_RATIO, Phase
from grokcore.record import Verdict
from grokcore.verdicts.bounds import delay_bound
from grokcore.verdicts.judgement import Judgement, judge_checks, positive_control
from grokcore.verdicts.shares import bounded_share

PHASES = ("grokking", "comprehension", "memorization", "confusion")


def classify(
    h: History,
    tau_train: float = 0.99,
    tau_test: float = 0.85,
    ratio: float = GROK_RATIO,
    min_gap: float = 0.2,
) -> dict[str, Any]:
    """One run's timings and phase: "grokking" (the three conditions of the module docstring),
    "comprehension" (generalizes without them), "memorization" (fits, never generalizes),
    "confusion" (never fits)."""
    a, b, d = delay_bound(h, tau_train, tau_test)
    gap = None
    if not a.censored:
        gap = float(h.test_acc[-1]) - float(h.at(a.step)["test_acc"])
    ph = metrics.phase(h, tau_train, None, ratio, tau_test=tau_test)
    if ph is Phase.GROKKING and (gap is None or gap < min_gap):
        ph = Phase.COMPREHENSION  # a delay, but no gap: test accuracy only crept past tau_test
    return {
        "seed": h.config.get("seed"),
        "t_train": a.step,
        "t_test": b.step,
        "delay": d,
        "delay / t_train": round(d / max(a.step, 1), 2),
        "gap at fit": None if gap is None else round(gap, 4),
        "final_test_acc": round(float(h.test_acc[-1]), 4),
        "test_censored": b.censored,
        "phase": ph.value,
    }


def _summary(rs: list[dict[str, Any]]) -> str:
    return ", ".join(f"{sum(r['phase'] == p for r in rs)} {p}" for p in PHASES)


def observed(k: int, n: int, high: float = 0.5, low: float = 0.2) -> str:
    """ "groks" (share ≥ high), "no grok" (share ≤ low) or "mixed"; "no runs" for n = 0."""
    if n == 0:
        return "no runs"
    share = k / n
    return "groks" if share >= high else ("no grok" if share <= low else "mixed")


def table_row(
    row: Sequence[History],
    base: Sequence[History],
    groks: bool,
    label: str = "row",
    paper: str = "",
    tau_train: float = 0.99,
    tau_test: float = 0.85,
    ratio: float = GROK_RATIO,
    min_gap: float = 0.2,
    high: float = 0.5,
    low: float = 0.2,
    need: float = 0.5,
) -> Judgement:
    """LS-MNIST, one row: does the row's observed verdict match the table's ✓ (`groks`) / ✗?

    Check: the share of the row's seeds that grok (`classify`), ≥ `high` for a ✓ row, ≤ `low`
    for a ✗ row (`bounded_share`: point judged, Clopper–Pearson CI reported, REFUTED only
    when the CI misses the bound). Positive control: ≥ `need` of the `base` row's seeds grok
    (pass the base row itself as `row` to judge the base row); for a ✗ row also ≥ `need` of
    the row's own seeds fit (train acc ≥ τ_train), since runs that never fit "remove
    grokking" only vacuously: li-sakib's ✗ rows learn ("Normal Results", "Learn fast!").
    """
    kw = dict(tau_train=tau_train, tau_test=tau_test, ratio=ratio, min_gap=min_gap)
    runs = [{"arm": label, **classify(h, **kw)} for h in row]
    base_runs = [{"arm": "base", **classify(h, **kw)} for h in base]
    k = sum(r["phase"] == "grokking" for r in runs)
    kb = sum(r["phase"] == "grokking" for r in base_runs)
    rule = f"D > {ratio:g}·t_train and test acc at fit ≥ {min_gap:g} below final"
    positive = positive_control(
        "the base row (1k, MSE, α = 8) groks",
        kb,
        len(base_runs),
        need,
        f"grok ({rule}): {_summary(base_runs)}",
    )
    if not groks:  # a ✗ row's "no grok" must come from runs that learn, not from a failure
        kf = sum(r["phase"] != "confusion" for r in runs)
        fits = positive_control(
            f"the {label} runs fit (a ✗ row's 'no grok' must come from runs that learn)",
            kf,
            len(runs),
            need,
            f"reach train acc ≥ {tau_train:g}",
        )
        controls = [positive, fits]
        positive = fits if positive.verdict is Verdict.SUPPORTED else positive
        controls.remove(positive)
    else:
        controls = []
    seen = observed(k, len(runs), high, low)
    want = "groks" if groks else "no grok"
    main = bounded_share(
        f"{label}: share of seeds grokking",
        k,
        len(runs),
        high if groks else low,
        "at_least" if groks else "at_most",
        f"{_summary(runs)}; observed: {seen}, table: {want} ({'✓' if groks else '✗'})",
        paper_value=paper or None,
    )
    return judge_checks(
        [main],
        controls,
        runs + base_runs,
        {
            Verdict.SUPPORTED: f"the row behaves as the table says: {want}",
            Verdict.REFUTED: f"the table says {want}, the runs say {seen}",
            Verdict.INCONCLUSIVE: f"the table says {want}; with {len(runs)} seeds the runs "
            f"({seen}) cannot be placed against it",
        },
        positive,
    )


def grokking_share(hs: Sequence[History], **kw: Any) -> tuple[int, int]:
    """(seeds that grok by `classify`, seeds)."""
    return sum(classify(h, **kw)["phase"] == "grokking" for h in hs), len(hs)
