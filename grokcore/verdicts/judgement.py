"""The judgement every claim statistic returns, and the pieces they share.

A `Judgement` holds a claim's checks (statistics against regions), its controls and
per-run numbers. `judge_checks` combines checks into a verdict, with the positive-control
rule: when the arm that must show the phenomenon does not, the verdict is INCONCLUSIVE,
whatever the other checks say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from grokcore import metrics, stats
from grokcore.history import History
from grokcore.metrics import Timing
from grokcore.record import Check, Verdict, combine


@dataclass
class Judgement:
    """A claim's statistic: its checks, the control's checks, a verdict and per-run numbers."""

    verdict: Verdict
    reason: str
    checks: list[Check]
    control: list[Check] = field(default_factory=list)
    runs: list[dict] = field(default_factory=list)
    fit: stats.Estimate | None = None  # the fitted headline estimate, for the claim's figure
    # what a claim's figures and card need beyond the checks (LS-LAND's loss slices, LS-CORR's
    # table of every factor); not part of the record
    evidence: dict = field(default_factory=dict)


def timings(h: History, tau_train: float = 0.95, tau_test: float = 0.95) -> tuple[Timing, Timing]:
    """(t_train, t_test): first evaluated steps with train / test accuracy ≥ τ (censored)."""
    return (
        metrics.first_reach(h.steps, h.train_acc, tau_train, h.budget),
        metrics.first_reach(h.steps, h.test_acc, tau_test, h.budget),
    )


def count_check(name: str, k: int, n: int, ok: bool, region: str, detail: str = "") -> Check:
    return Check(
        name=name,
        value=k / n if n else float("nan"),
        ci=None,
        region=region,
        verdict=Verdict.SUPPORTED if ok else Verdict.REFUTED,
        detail=detail or f"{k} of {n} runs",
    )


def judge_checks(
    checks: list[Check],
    control: list[Check],
    runs: list[dict],
    why: dict[Verdict, str],
    positive: Check | Sequence[Check] | None = None,
) -> Judgement:
    """Combine the checks; a failed positive control (one of several: each must hold)
    overrides them with INCONCLUSIVE."""
    positives = [] if positive is None else [positive] if isinstance(positive, Check) else positive
    control = [*positives, *control]
    for p in positives:
        if p.verdict is not Verdict.SUPPORTED:
            reason = f"positive control failed: {p.name} — {p.detail}"
            return Judgement(Verdict.INCONCLUSIVE, reason, checks, control, runs)
    v = combine([c.verdict for c in checks])
    failing = "; ".join(
        f"{c.name}: {c.verdict.value}" for c in checks if c.verdict is not Verdict.SUPPORTED
    )
    reason = why.get(v, "") + (f" ({failing})" if failing else "")
    return Judgement(v, reason, checks, control, runs)


def positive_control(name: str, k: int, n: int, need: float, what: str) -> Check:
    """Positive control: at least `need` of the n runs of an arm show the phenomenon."""
    ok = n > 0 and k >= need * n
    return Check(
        name=f"positive control: {name}",
        value=k / n if n else float("nan"),
        ci=None,
        region=f"≥ {need:.0%} of runs {what}",
        verdict=Verdict.SUPPORTED if ok else Verdict.INCONCLUSIVE,
        detail=f"{k} of {n} runs {what}",
    )


def share_generalizing(hs: Sequence[History], tau: float = 0.95) -> tuple[int, int]:
    k = sum(not timings(h, tau, tau)[1].censored for h in hs)
    return k, len(hs)


def merge(parts: dict[str, Judgement]) -> Judgement:
    """One claim judged on several setups: every setup's checks must hold."""
    checks, control, runs = [], [], []
    for name, j in parts.items():
        checks += [Check(**{**c.__dict__, "name": f"{name}: {c.name}"}) for c in j.checks]
        control += [Check(**{**c.__dict__, "name": f"{name}: {c.name}"}) for c in j.control]
        runs += [{"setup": name, **r} for r in j.runs]
    verdict = combine([j.verdict for j in parts.values()])
    reason = "; ".join(f"{name}: {j.reason}" for name, j in parts.items())
    return Judgement(verdict, reason, checks, control, runs)
