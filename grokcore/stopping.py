"""Stopping rules: end a run once the numbers its claim reads can no longer change.

Most of a grokking sweep's training happens after a run has generalized: the claim reads
t_train and t_test (first evaluated steps at or above a threshold, `grokcore.metrics`) and
those are fixed the moment both curves have crossed. A `StopRule` ends such a run a while
after that, at an evaluated step, so a run it stops has a History equal, bit for bit, to
the first part of the same run trained to its whole budget (the engine lets a stopped
member leave its ensemble without touching the others, grokcore/train/engine.py).

The rule, for a run with budget B and thresholds τ_train, τ_test:

    t_both = first evaluated step with train accuracy ≥ τ_train and test accuracy ≥ τ_test
    stop at the first evaluated step s with
        s ≥ factor · t_both,   s ≥ t_both + margin · B,   both accuracies still ≥ their τ at s

A claim whose statistic reads first-reach times at thresholds up to τ_train and τ_test (and
whether they were reached) reads exactly the same numbers from the stopped run: both times
lie at or before t_both.

A run that never gets there trains its whole budget, so censoring is unchanged. The rule
reads only the evaluations up to s, which is what makes a stop reproducible from any
longer history of the same run (`stop_step`), and what lets the cache serve a request
whose rule stops at or before the step where a stored run stopped (`grokcore.runs`).

A claim declares its rule (or none) where it is declared, with the reason
(`ClaimSpec.stopping`); a claim whose statistic reads the end of training (final losses,
final norms, spikes after the fit, the weights) has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, order=True)
class StopRule:
    """Stop once train and test accuracy have reached `train` and `test`, and then `factor`
    × that step and `margin` × the budget later, if both are still at or above them."""

    train: float = 0.95
    test: float = 0.95
    factor: float = 2.0
    margin: float = 0.1

    def __post_init__(self) -> None:
        for name in ("train", "test"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"StopRule.{name} must be in (0, 1], got {getattr(self, name)}")
        if not self.factor >= 1:
            raise ValueError(f"StopRule.factor must be >= 1, got {self.factor}")
        if not 0 <= self.margin <= 1:
            raise ValueError(f"StopRule.margin must be in [0, 1], got {self.margin}")

    def describe(self) -> str:
        acc = (
            f"train and test acc ≥ {self.train:g}"
            if self.train == self.test
            else f"train acc ≥ {self.train:g} and test acc ≥ {self.test:g}"
        )
        return f"{acc}, then {self.factor:g}× that step and {self.margin:g}× the budget later"

    def stop_step(
        self, steps: np.ndarray, train_acc: np.ndarray, test_acc: np.ndarray, budget: int
    ) -> int | None:
        """The evaluated step at which this rule stops the run, or None (it trains on)."""
        both = (np.asarray(train_acc) >= self.train) & (np.asarray(test_acc) >= self.test)
        hit = np.flatnonzero(both)  # NaN ≥ τ is False: a diverged run never stops early
        if hit.size == 0:
            return None
        t_both = int(steps[hit[0]])
        earliest = max(self.factor * t_both, t_both + self.margin * budget)
        late = hit[np.asarray(steps)[hit] >= earliest]
        if late.size == 0:
            return None
        s = int(steps[late[0]])
        return s if s < budget else None  # stopping at the budget is not stopping


Rules = tuple[StopRule, ...]

# the start of the reason a claim gives for its rule: what its statistic reads follows
STOP_WHY = (
    "a run may stop once train and test accuracy have both reached the thresholds and held "
    "to twice that step (and 10% of the budget past it); no statistic moves, since "
)


def stop_step(
    rules: Sequence[StopRule],
    steps: np.ndarray,
    train_acc: np.ndarray,
    test_acc: np.ndarray,
    budget: int,
) -> int | None:
    """Where a run asked for by several requests stops: once every rule has stopped it
    (the latest of their steps), None if any rule never does or there is no rule."""
    if not rules:
        return None
    at = [r.stop_step(steps, train_acc, test_acc, budget) for r in rules]
    return None if any(s is None for s in at) else max(s for s in at if s is not None)


def merge(a: Rules, b: Rules) -> Rules:
    """The rules of one run that two requests ask for: it stops only when both would have
    stopped it; a request with no rule (the whole budget) wins."""
    if not a or not b:
        return ()
    return tuple(sorted(set(a) | set(b)))


__all__ = ["STOP_WHY", "Rules", "StopRule", "merge", "stop_step"]
