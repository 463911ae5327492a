"""LS-VLOSS and LS-ATTN: what happens in the pre-grokking stage, between t_train and t_test.

li-sakib §3 (Fig 2): "the validation loss increases during the pre-grokking stage when
training accuracy is high and validation accuracy is low". li-sakib §3.4 (Fig 6): "the mean
of the attention weights continues to increase during the pre-grokking stage. Subsequently,
as validation accuracy begins to improve, the norm of the weights starts to decrease."

Both are read per run on the window [t_train, t_test] (first evaluated steps with train /
validation accuracy ≥ τ), which exists only for a run that groks: it fits, generalizes in
budget, and its delay D = t_test − t_train exceeds `ratio`·t_train (`metrics.phase`). Runs
without that window (confusion, memorization, comprehension) are left out of the share and
reported; the positive control asks that most runs grok. Each share is judged by
`bounds.share_bound` (the point share against "most", CP CI reported; REFUTED only when the
CI misses the bound).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from grokcore import metrics, stats
from grokcore.history import History
from grokcore.metrics import Phase
from grokcore.record import Verdict
from grokcore.verdicts.judgement import Judgement, judge_checks, positive_control, timings
from grokcore.verdicts.shares import bounded_share


def _window(h: History, tau: float, ratio: float) -> tuple[dict[str, Any], slice | None]:
    """The run's timings and phase, and the evaluated indices of [t_train, t_test] if it groks."""
    a, b = timings(h, tau, tau)
    ph = metrics.phase(h, tau, None, ratio)
    row: dict[str, Any] = {
        "seed": h.config.get("seed"),
        "t_train": a.step,
        "t_test": b.step,
        "phase": ph.value,
        "final_test_acc": round(float(h.test_acc[-1]), 4),
    }
    if ph is not Phase.GROKKING:
        return row, None
    i = int(np.searchsorted(h.steps, a.step))
    j = int(np.searchsorted(h.steps, b.step))
    return row, slice(i, j + 1)


def _positive(rows: list[dict[str, Any]], need: float, ratio: float) -> Any:
    k = sum(r["phase"] == Phase.GROKKING.value for r in rows)
    return positive_control(
        "the runs grok", k, len(rows), need, f"grok (fit, generalize, D > {ratio:g}·t_train)"
    )


def _judge(
    rows: list[dict[str, Any]],
    k: int,
    n: int,
    *,
    what: str,
    paper_value: str,
    why: dict[Verdict, str],
    most: float,
    need: float,
    ratio: float,
) -> Judgement:
    """The share `k`/`n` of grokking runs that show `what`, against "most", with the
    positive control that the runs grok; runs without a window are counted and reported."""
    check = bounded_share(
        f"grokking seeds whose {what}",
        k,
        n,
        most,
        "at_least",
        detail=f"{len(rows) - n} runs that did not grok (D > {ratio:g}·t_train) left out",
        paper_value=paper_value,
    )
    j = judge_checks([check], [], rows, why, _positive(rows, need, ratio))
    j.fit = stats.clopper_pearson(k, n) if n else None
    return j


def val_loss_rise(
    histories: Sequence[History],
    tau: float = 0.95,
    ratio: float = 1.0,
    min_rise: float = 0.01,
    most: float = 0.5,
    need: float = 0.5,
) -> Judgement:
    """LS-VLOSS: in most grokking seeds the validation loss rises after the fit.

    Per grokking run: L_fit = validation loss at t_train, L_max = its maximum over the
    evaluated steps in [t_train, t_test]; the run rises when L_max > (1 + `min_rise`)·L_fit
    (a 1% margin, so a flat curve with evaluation noise does not count). Validation
    accuracy at the step of L_max is below τ by construction (it is before t_test) and is
    reported. Check: share of grokking runs that rise ≥ `most`.
    Positive control: ≥ `need` of the runs grok (`_window`).
    Control (unit test): runs whose validation loss falls monotonically: L_max = L_fit.
    """
    rows, k, n = [], 0, 0
    for h in histories:
        row, win = _window(h, tau, ratio)
        if win is not None:
            steps, loss = h.steps[win], np.asarray(h.test_loss[win], dtype=np.float64)
            top = int(np.nanargmax(loss))
            rises = bool(loss[top] > (1 + min_rise) * loss[0])
            row |= {
                "val_loss_at_t_train": round(float(loss[0]), 4),
                "val_loss_max": round(float(loss[top]), 4),
                "val_loss_max_step": int(steps[top]),
                "val_acc_at_max": round(float(h.test_acc[win][top]), 4),
                "rises": rises,
            }
            k, n = k + rises, n + 1
        rows.append(row)
    return _judge(
        rows,
        k,
        n,
        what=f"val loss rises > {min_rise:.0%} above its value at t_train before t_test",
        paper_value="val loss rises in the pre-grokking stage (§3, Fig 2)",
        why={
            Verdict.SUPPORTED: "the validation loss rises after the fit while validation "
            "accuracy stays low, in most grokking seeds",
            Verdict.REFUTED: "the validation loss does not rise in the pre-grokking stage",
            Verdict.INCONCLUSIVE: "too few grokking seeds to tell",
        },
        most=most,
        need=need,
        ratio=ratio,
    )


def attn_norm_peak(
    histories: Sequence[History],
    group: str = "attn_qkv",
    tau: float = 0.95,
    ratio: float = 1.0,
    most: float = 0.5,
    need: float = 0.5,
) -> Judgement:
    """LS-ATTN: in most grokking seeds ‖W_QKV‖ peaks between t_train and t_test.

    Per grokking run: the step of the maximum of the `group` norm over the whole curve
    (`metrics.peak_step`) lies in [t_train, t_test]: it climbs through the pre-grokking stage
    and falls once validation accuracy improves. The norm at the end relative to the peak is
    reported. Check: share of grokking runs with the peak in the window ≥ `most`.
    Positive control: ≥ `need` of the runs grok. Control (unit test): a norm that keeps
    climbing after t_test (peak at the end of training).
    Raises ValueError when a history has no `group` norm (a model without attention).
    """
    rows, k, n = [], 0, 0
    for h in histories:
        if group not in h.group_norms:
            raise ValueError(
                f"attn_norm_peak: the history of seed {h.config.get('seed')} has no "
                f"{group!r} norm (groups: {sorted(h.group_norms) or 'none'}); the model "
                "needs attention Q/K/V weights"
            )
        row, win = _window(h, tau, ratio)
        norm = np.asarray(h.group_norms[group], dtype=np.float64)
        peak = metrics.peak_step(h.steps, norm)
        row |= {
            "qkv_norm_init": round(float(norm[0]), 4),
            "qkv_norm_peak": round(float(np.nanmax(norm)), 4),
            "qkv_norm_final": round(float(norm[-1]), 4),
            "qkv_peak_step": peak,
        }
        if win is not None:
            inside = bool(row["t_train"] <= peak <= row["t_test"])
            row["peak_in_window"] = inside
            k, n = k + inside, n + 1
        rows.append(row)
    return _judge(
        rows,
        k,
        n,
        what=f"‖W_QKV‖ ({group}) peaks between t_train and t_test",
        paper_value="the attention norm climbs before grokking and falls after (§3.4, Fig 6)",
        why={
            Verdict.SUPPORTED: "the attention Q/K/V norm peaks in the pre-grokking stage and "
            "falls as validation accuracy improves, in most grokking seeds",
            Verdict.REFUTED: "the attention Q/K/V norm does not peak in the pre-grokking stage",
            Verdict.INCONCLUSIVE: "too few grokking seeds to tell",
        },
        most=most,
        need=need,
        ratio=ratio,
    )
