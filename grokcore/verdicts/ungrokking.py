"""AR-NOUNGROK: once a model generalizes it never settles in a worse-generalizing state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from grokcore import metrics, stats
from grokcore.history import History
from grokcore.record import Check, Verdict
from grokcore.verdicts.judgement import Judgement, judge_checks


def min_runs_for_bound(max_rate: float, level: float = 0.95) -> int:
    """Fewest runs for which 0 events can bound the rate below `max_rate` (one-sided CP)."""
    n = 1
    while stats.clopper_pearson_upper(0, n, level) >= max_rate:
        n += 1
    return n


def detector_control(
    histories: Sequence[History],
    known: Sequence[bool],
    high: float = 0.99,
    low: float = 0.9,
    need: float = 0.8,
    what: str = "BX-UNGROK's un-grokked runs (smallest D')",
) -> Check:
    """The detector's own positive control: of the runs known to have un-grokked (`known`:
    BX-UNGROK's statistic counts them, final test accuracy < 0.5 after a grokked net was
    continued on a small D'), `metrics.ungrokking` must flag at least `need`. A detector
    that misses them could not have seen un-grokking anywhere."""
    flagged = [metrics.ungrokking(h, high, low).ungrokked for h in histories]
    n = sum(known)
    k = sum(f for f, u in zip(flagged, known, strict=True) if u)
    ok = n > 0 and k >= need * n
    return Check(
        f"positive control: the detector flags {what}",
        k / n if n else float("nan"),
        None,
        f"≥ {need:.0%} of them flagged",
        Verdict.SUPPORTED if ok else Verdict.INCONCLUSIVE,
        detail=f"{k} of {n} flagged (test ≥ {high} first, then below {low} to the end); "
        f"{sum(flagged)} of all {len(histories)} such runs flagged"
        if n
        else f"none of the {len(histories)} runs un-grokked, so there is nothing to flag",
    )


def no_ungrokking(
    histories: Sequence[History],
    labels: Sequence[str],
    multiple: float = 3.0,
    high: float = 0.99,
    low: float = 0.9,
    max_rate: float = 0.1,
    spike_factor: float = 100.0,
    detector: Check | None = None,
) -> Judgement:
    """One-sided 95% Clopper–Pearson upper bound on the un-grokking rate must be < max_rate.

    Only runs that reached `high` and trained ≥ `multiple` × their t_test count. Positive
    control: enough such runs for 0 events to bound the rate (29 for 0.1), and at least
    one training-loss spike of ≥ `spike_factor`× after the first fit among them. Without
    spikes (arn §4.3's slingshots) nothing ever knocked a run out of its generalizing
    state, so "it never un-grokked" has no power. `detector` (`detector_control`): that
    the detector flags runs known to un-grok; shown with the controls, and where it fails
    (and the other control holds) it is the failed positive control.
    """
    runs: list[dict[str, Any]] = []
    k, n, spikes = 0, 0, 0
    for label, h in zip(labels, histories, strict=True):
        u = metrics.ungrokking(h, high, low)
        long_enough = u.reached and h.budget >= multiple * max(u.first_high or 1, 1)
        fit = metrics.first_reach(h.steps, h.train_acc, high, h.budget)
        n_spikes = (
            0
            if fit.censored
            else len(metrics.loss_spikes(h.batch_loss, fit.step, factor=spike_factor))
        )
        runs.append(
            {
                "run": label,
                "reached": u.reached,
                "t_high": u.first_high,
                "budget": h.budget,
                "counted": long_enough,
                "ungrokked": u.ungrokked,
                "transient_dips": u.transient_dips,
                f"spikes ≥{spike_factor:g}× after fit": n_spikes,
            }
        )
        if long_enough:
            n += 1
            k += u.ungrokked
            spikes += n_spikes
    need = min_runs_for_bound(max_rate)
    positive = Check(
        f"positive control: runs that reach test accuracy ≥ {high} with {multiple:g}× budget left",
        n,
        None,
        f"≥ {need} (fewer cannot bound the rate below {max_rate} even with 0 events)",
        Verdict.SUPPORTED if n >= need else Verdict.INCONCLUSIVE,
        detail=f"{n} of {len(runs)} runs qualify",
    )
    if positive.verdict is Verdict.SUPPORTED and spikes == 0:
        positive = Check(
            f"positive control: loss spikes ≥ {spike_factor:g}× after the first fit",
            0,
            None,
            "≥ 1 spike among the qualifying runs",
            Verdict.INCONCLUSIVE,
            detail=f"0 spikes in {n} qualifying runs: no event that could un-grok a run, so "
            "the test has no power against un-grokking",
        )
    checks: list[Check] = []
    if n:
        ub = stats.clopper_pearson_upper(k, n)
        dips = sum(r["transient_dips"] for r in runs)
        checks.append(
            Check(
                "un-grokking rate (upper 95% CP bound)",
                k / n,
                (0.0, ub),
                f"upper bound < {max_rate}",
                Verdict.SUPPORTED
                if ub < max_rate
                else (Verdict.REFUTED if k / n >= max_rate else Verdict.INCONCLUSIVE),
                detail=f"{k} of {n} qualifying runs un-grokked; {dips} transient dips "
                f"(recovered); {spikes} loss spikes ≥ {spike_factor:g}× after the first fit",
                paper_value="0 observed (arn §4.4)",
            )
        )
    controls = [] if detector is None else [detector]
    if detector is not None and detector.verdict is not Verdict.SUPPORTED:
        if positive.verdict is Verdict.SUPPORTED:
            positive, controls = detector, [positive]
    return judge_checks(
        checks,
        controls,
        runs,
        {
            Verdict.SUPPORTED: "no run that generalized fell back for good",
            Verdict.REFUTED: "runs un-grokked at a rate the claim excludes",
            Verdict.INCONCLUSIVE: "too few qualifying runs to bound the un-grokking rate below 0.1",
        },
        positive,
    )
