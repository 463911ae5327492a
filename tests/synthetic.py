"""Synthetic histories for the claim-statistic tests: curves of known shape, no training.

Train and test accuracy are sigmoids in log-steps rising at `t_train` / `t_test` (None: never),
so every statistic can be fed the shape a claim describes, its control, or nothing at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from grokcore.history import History
from grokcore.record import Verdict

STEPS = np.unique(np.r_[0, np.round(np.geomspace(1, 20_000, 150))]).astype(np.int64)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def rise(t: float | None) -> np.ndarray:
    """A sigmoid in log-steps from 0 to 1, half-way at step t (all zeros for None)."""
    s = np.maximum(STEPS, 1).astype(float)
    if t is None:
        return np.zeros_like(s)
    return 1 / (1 + np.exp(-12 * (np.log(s) - np.log(t))))


def synthetic(
    t_train: float | None,
    t_test: float | None,
    budget: int = 20_000,
    seed: int = 0,
    test_max: float = 1.0,
    norm_rise: float = 0.0,
    norm_fall: float = 0.0,
) -> History:
    """Accuracy rising at t_train / t_test, test accuracy topping out at `test_max`, and a
    weight norm that starts at 1, rises by `norm_rise` as the run fits and ends `norm_fall`
    below 1 once it generalizes (norm_fall = −norm_rise: the norm never comes down)."""
    tr, te = rise(t_train), test_max * rise(t_test)
    norm = 1 + norm_rise * tr - (norm_rise + norm_fall) * rise(t_test)
    return History(
        steps=STEPS,
        train_loss=1 - tr,
        train_acc=tr,
        test_loss=1 - te,
        test_acc=te,
        norm=norm,
        budget=budget,
        config={"seed": seed},
    )


def assert_png(path: Path) -> None:
    assert path.exists() and path.stat().st_size > 5_000
    assert path.read_bytes()[:8] == PNG_MAGIC


def assert_positive_control_failed(j) -> None:
    assert j.verdict is Verdict.INCONCLUSIVE
    assert j.reason.startswith("positive control failed")
    assert j.control[0].name.startswith("positive control")


def with_batch_loss(
    h: History, spikes_at: Sequence[int] = (), floor: float = 1e-6, height: float = 1e-2
) -> History:
    """`h` with a per-step training loss: flat at `floor` (the fitted regime), and one step of
    `height` at each step in `spikes_at` (a slingshot of height/floor ×; 10^4 by default)."""
    loss = np.full(h.budget, floor, np.float32)
    for s in spikes_at:
        loss[int(s) - 1] = height  # batch_loss[i] is step i + 1
    return replace(h, batch_loss=loss)
