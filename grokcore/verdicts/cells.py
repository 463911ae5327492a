"""RP-RNN (rnn-poster): "RNNs and LSTMs grok modular addition", judged per recurrent cell.

"Grok" is read as the other delay claims read it (`shares.delay_dominates`, LS-DIV): a run
fits (train accuracy ≥ τ), then generalizes (test accuracy ≥ τ) within its budget, with
D = t_test − t_train > `ratio` · t_train (`metrics.GROK_RATIO` by default: "D ≫ t_train").
The claim holds when most seeds of *every* cell grok. The poster gives no numbers; its Fig 5
shows one RNN run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from grokcore import metrics
from grokcore.history import History
from grokcore.metrics import GROK_RATIO, Phase
from grokcore.record import Check, Verdict
from grokcore.verdicts.bounds import delay_bound
from grokcore.verdicts.judgement import Judgement, judge_checks
from grokcore.verdicts.shares import _arm_summary, bounded_share


def cells_grok(
    cells: Mapping[str, Sequence[History]],
    ratio: float = GROK_RATIO,
    most: float = 0.5,
    need: float = 0.5,
    tau: float = 0.95,
) -> Judgement:
    """RP-RNN: in each cell, the share of seeds with D > `ratio`·t_train is ≥ `most`.

    Checks, one per cell: that share (`bounded_share`, CP CI; REFUTED only when the CI
    misses `most`). Positive control: in every cell ≥ `need` of the runs generalize in
    budget; without generalization there is no delay to measure (a run that never gets
    there is reported, as memorization, with its final accuracy).
    """
    if not cells or any(len(hs) == 0 for hs in cells.values()):
        sizes = {name: len(hs) for name, hs in cells.items()}
        raise ValueError(f"cells_grok: every cell needs runs, got {sizes}")
    runs: list[dict[str, Any]] = []
    for cell, hs in cells.items():
        for h in hs:
            a, b, d = delay_bound(h, tau, tau)
            runs.append(
                {
                    "arm": cell,
                    "seed": h.config.get("seed"),
                    "t_train": a.step,
                    "t_test": b.step,
                    "delay": d,
                    "delay / t_train": round(d / max(a.step, 1), 2),
                    "phase": metrics.phase(h, tau, None, ratio).value,
                    "test_censored": b.censored,
                    "final_test_acc": round(float(h.test_acc[-1]), 4),
                }
            )
    checks, short = [], []
    for cell in cells:
        k, n, line = _arm_summary(runs, cell)
        gen = sum(not r["test_censored"] for r in runs if r["arm"] == cell)
        if gen < need * n:
            short.append(f"{cell}: {gen} of {n}")
        checks.append(
            bounded_share(
                f"{cell}: share of seeds grokking (D > {ratio:g}·t_train)",
                k,
                n,
                most,
                "at_least",
                line,
                paper_value="grokking shown for both cells (Figs 2, 5); no numbers",
            )
        )
    n_gen = sum(not r["test_censored"] for r in runs)
    positive = Check(
        "positive control: every cell generalizes in budget",
        n_gen / len(runs),
        None,
        f"≥ {need:.0%} of each cell's runs reach test accuracy ≥ {tau}",
        Verdict.INCONCLUSIVE if short else Verdict.SUPPORTED,
        detail=(
            f"too few runs reach test accuracy ≥ {tau}: {'; '.join(short)}"
            if short
            else f"{n_gen} of {len(runs)} runs reach test accuracy ≥ {tau}"
        ),
    )
    grok = sum(r["phase"] == Phase.GROKKING.value for r in runs)
    return judge_checks(
        checks,
        [],
        runs,
        {
            Verdict.SUPPORTED: f"most seeds of every cell fit first and generalize only after "
            f"a delay > {ratio:g}·t_train ({grok} of {len(runs)} runs)",
            Verdict.REFUTED: "in some cell most seeds generalize without a long delay",
            Verdict.INCONCLUSIVE: "the share of grokking seeds could not be pinned down",
        },
        positive,
    )
