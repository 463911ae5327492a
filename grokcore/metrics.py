"""Metrics of one run: when it fits, when it generalizes, and what happens in between.

Everything here reads a `History` (or plain arrays) and returns small frozen values.
The definitions follow the "Definitions" section of CLAIMS.md:

- t_train(τ), t_test(τ): first *evaluated* step with train / test accuracy ≥ τ;
  censored at the step budget when the curve never gets there.
- delay D = t_test − t_train (`delay`, the one definition every statistic reads), and
  the phase of a run (confusion, memorization, comprehension, grokking) derived from it;
- the grokking rule "D ≫ t_train", read as D > `GROK_RATIO` · t_train.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from grokcore.history import History

__all__ = [
    "GROK_RATIO",
    "Delay",
    "Phase",
    "Spike",
    "Timing",
    "Ungrok",
    "delay",
    "first_reach",
    "loss_spikes",
    "peak_in_window",
    "peak_step",
    "phase",
    "t_test",
    "t_train",
    "ungrokking",
]


@dataclass(frozen=True)
class Timing:
    """First evaluated step at which a curve reaches a threshold; `budget` if censored."""

    step: int
    censored: bool


# "D ≫ t_train" read as D > 5·t_train: the grokking rule of every claim that states a delay
# without a number of steps (li-sakib's own D > 1000 steps, §3, is longer than the quick
# tier's budgets), and the default of every statistic that applies the rule (`phase`).
GROK_RATIO = 5.0


@dataclass(frozen=True)
class Delay:
    """The grokking delay D = t_test − t_train of one run, from its two timings.

    `value` is D itself, censored steps set to the budget; it is negative when test
    accuracy reaches its τ before train accuracy does. Two readings for statistics that
    need D ≥ 0, both defined here: `bound` and `clipped`.
    """

    fit: Timing  # t_train
    gen: Timing  # t_test

    @property
    def value(self) -> int:
        return self.gen.step - self.fit.step

    @property
    def censored(self) -> bool:
        """Test never reached τ, so `value` = budget − t_train is a lower bound."""
        return self.gen.censored

    @property
    def fitted(self) -> bool:
        """Train reached τ; when False the delay has no meaning (the run is confused)."""
        return not self.fit.censored

    @property
    def bound(self) -> int:
        """D ≥ 0 as a lower bound on the true delay: budget − t_train when test never
        reached τ, and counted from step 0 when the run never fit either (an unfit run must
        not read as "no delay")."""
        return max(self.gen.step - (self.fit.step if self.fitted else 0), 0)

    @property
    def clipped(self) -> int:
        """max(D, 0): 0 where test reached τ first, and for a run that never fit (its
        t_train is the budget)."""
        return max(self.value, 0)


class Phase(str, Enum):
    """Phase of one run (li-sakib §3.2)."""

    CONFUSION = "confusion"  # never fits the training set
    MEMORIZATION = "memorization"  # fits, but test never reaches τ within budget
    COMPREHENSION = "comprehension"  # generalizes with a small delay
    GROKKING = "grokking"  # generalizes with a large delay


@dataclass(frozen=True)
class Spike:
    """A loss spike: its peak step and the peak loss over the preceding running minimum."""

    step: int
    factor: float


@dataclass(frozen=True)
class Ungrok:
    """Whether test accuracy, once high, collapsed for good (un-grokking) or only dipped."""

    reached: bool
    first_high: int | None
    ungrokked: bool
    transient_dips: int


# -- timings --------------------------------------------------------------------


def first_reach(steps: np.ndarray, values: np.ndarray, threshold: float, budget: int) -> Timing:
    """First step with value >= threshold (NaN never counts); Timing(budget, True) if none."""
    steps, values = np.asarray(steps), np.asarray(values, dtype=np.float64)
    if steps.shape != values.shape or steps.ndim != 1:
        raise ValueError(f"steps {steps.shape} and values {values.shape} must be equal 1-D shapes")
    hit = np.flatnonzero(values >= threshold)  # NaN >= x is False
    if hit.size == 0:
        return Timing(int(budget), True)
    return Timing(int(steps[hit[0]]), False)


def t_train(h: History, tau: float = 0.95) -> Timing:
    """First evaluated step with full-split train accuracy >= tau, censored at the budget."""
    return first_reach(h.steps, h.train_acc, tau, h.budget)


def t_test(h: History, tau: float = 0.95) -> Timing:
    """First evaluated step with full-split test accuracy >= tau, censored at the budget."""
    return first_reach(h.steps, h.test_acc, tau, h.budget)


def delay(h: History, tau: float = 0.95, tau_test: float | None = None) -> Delay:
    """Grokking delay D = t_test − t_train: train accuracy ≥ `tau`, test accuracy ≥ `tau_test`
    (`tau` when None), censored steps set to the budget."""
    return Delay(t_train(h, tau), t_test(h, tau if tau_test is None else tau_test))


def phase(
    h: History,
    tau: float = 0.95,
    min_delay_steps: int | None = None,
    min_delay_ratio: float | None = 1.0,
    *,
    tau_test: float | None = None,
) -> Phase:
    """Classify a run as confusion / memorization / comprehension / grokking.

    A run that fits and generalizes groks when its delay D exceeds the threshold:
    li-sakib use an absolute D > 1000 steps (`min_delay_steps=1000,
    min_delay_ratio=None`); the quick tier, whose budgets are shorter, uses the
    ratio D > min_delay_ratio · t_train (the claims: `GROK_RATIO`; the default 1.0, i.e.
    t_test > 2 · t_train, is the CLI's). If both are given both must hold. `tau_test`: the
    test accuracy that counts as generalized, if not `tau`.
    """
    if min_delay_steps is None and min_delay_ratio is None:
        raise ValueError("phase needs min_delay_steps or min_delay_ratio (or both)")
    d = delay(h, tau, tau_test)
    if not d.fitted:
        return Phase.CONFUSION
    if d.censored:
        return Phase.MEMORIZATION
    by_steps = min_delay_steps is None or d.value > min_delay_steps
    by_ratio = min_delay_ratio is None or d.value > min_delay_ratio * d.fit.step
    return Phase.GROKKING if by_steps and by_ratio else Phase.COMPREHENSION


# -- loss spikes (arn §4.3, the Adam "slingshot") --------------------------------


def loss_spikes(
    batch_loss: np.ndarray,
    start: int,
    factor: float = 100.0,
    window: int = 100,
    floor: float = 1e-12,
) -> list[Spike]:
    """Spikes after step `start`: loss > factor × min of the preceding `window` steps.

    batch_loss[i] is the training loss at step i+1. Consecutive spike steps merge
    into one spike, reported at its peak. NaN losses are never spikes.
    """
    if window < 1 or factor <= 1:
        raise ValueError(f"need window >= 1 and factor > 1, got window={window}, factor={factor}")
    loss = np.asarray(batch_loss, dtype=np.float64)
    n = loss.size
    if n == 0:
        return []
    # Log space: a jump from 1e-7 to 1e-3 is what matters, and the floor keeps
    # exact zeros (float32 underflow) from turning every later step into a spike.
    logl = np.log(np.maximum(loss, floor))
    base = np.where(np.isnan(logl), np.inf, logl)  # NaN must not set the baseline
    padded = np.concatenate([np.full(window, np.inf), base])
    # row i holds the log losses at indices i-window .. i-1 (inf before step 1)
    running_min = np.lib.stride_tricks.sliding_window_view(padded, window)[:n].min(axis=1)
    with np.errstate(invalid="ignore"):
        log_ratio = logl - running_min  # -inf where there is no history yet
        is_spike = log_ratio > np.log(factor)
    is_spike[: max(int(start), 0)] = False  # index i is step i+1, so this keeps steps > start
    idx = np.flatnonzero(is_spike)
    if idx.size == 0:
        return []
    run = np.concatenate([[0], np.cumsum(np.diff(idx) > 1)])
    # peak of each run: sort by (run, -log_ratio) and take each run's first entry
    order = np.lexsort((-log_ratio[idx], run))
    first = np.concatenate([[True], run[order][1:] != run[order][:-1]])
    peaks = idx[order[first]]
    return [Spike(step=int(i) + 1, factor=float(np.exp(log_ratio[i]))) for i in peaks]


# -- un-grokking (arn §4.4) -------------------------------------------------------


def ungrokking(h: History, high: float = 0.99, low: float = 0.9) -> Ungrok:
    """After test acc first reaches `high`: did it fall below `low` for good, or only dip?

    ungrokked: the last evaluations, through the end of training, are all below `low`.
    transient_dips: separate excursions below `low` that later recovered.
    A NaN accuracy counts as below `low` (a diverged model does not generalize).
    """
    acc = np.asarray(h.test_acc, dtype=np.float64)
    hit = np.flatnonzero(acc >= high)
    if hit.size == 0:
        return Ungrok(reached=False, first_high=None, ungrokked=False, transient_dips=0)
    i0 = int(hit[0])
    below = ~(acc[i0 + 1 :] >= low)
    # a run of `below` starts where it flips False -> True
    starts = int(np.count_nonzero(np.diff(np.concatenate([[False], below]).astype(np.int8)) == 1))
    ungrokked = bool(below.size and below[-1])
    return Ungrok(
        reached=True,
        first_high=int(h.steps[i0]),
        ungrokked=ungrokked,
        transient_dips=starts - int(ungrokked),
    )


# -- peaks of a curve (e.g. weight norm between t_train and t_test) ----------------


def peak_step(steps: np.ndarray, values: np.ndarray) -> int:
    """Step of the curve's maximum (first one on ties; NaN ignored)."""
    steps, values = np.asarray(steps), np.asarray(values, dtype=np.float64)
    if steps.shape != values.shape or steps.ndim != 1:
        raise ValueError(f"steps {steps.shape} and values {values.shape} must be equal 1-D shapes")
    if values.size == 0 or np.all(np.isnan(values)):
        raise ValueError("peak_step: the curve has no non-NaN value")
    return int(steps[np.nanargmax(values)])


def peak_in_window(steps: np.ndarray, values: np.ndarray, start: int, end: int) -> bool:
    """Whether the argmax over the *whole* curve lies in [start, end]."""
    return start <= peak_step(steps, values) <= end
