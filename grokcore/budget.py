"""Step budgets against the LU time scale: can an arm that must grok do so in its budget?

Omnigrok §2: with large initialization the weights must shrink from w0 to the
"Goldilocks" norm w_c ≈ w0/α before the model generalizes, and decoupled weight decay
alone shrinks them as (1 − lr·γ)^t ≈ exp(−lr·γ·t). So generalization needs at least

    t_LU = ln(α) / (lr · γ)  steps after decay is switched on

(REFERENCES.md §2: an LSTM at the rnn-poster setting grokked at ≈ 2.8 × t_LU, since
gradients push the norm back up). A claim arm that must grok with a budget below this
cannot show the phenomenon however right the claim is: the claim is NOT RUN at that
scale, or the arm gets a larger budget, never a verdict.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from grokcore.config import RunConfig


def lu_time(cfg: RunConfig) -> float:
    """ln(α)/(lr·γ): steps of pure decay to shrink the norm by α (0 for α ≤ 1; inf for γ = 0)."""
    if cfg.init_scale <= 1:
        return 0.0
    rate = cfg.optim.lr * cfg.optim.weight_decay
    return math.log(cfg.init_scale) / rate if rate > 0 else math.inf


def steps_needed(cfg: RunConfig, factor: float = 1.0) -> float:
    """The step by which a run can have grokked at the earliest: decay start + factor·t_LU."""
    return (cfg.optim.wd_on_at or 0) + factor * lu_time(cfg)


def shortfall(arms: Mapping[str, Sequence[RunConfig]], factor: float = 1.0) -> str | None:
    """Why the budget of some arm that must grok is below the LU time, or None if all fit.

    arms: the arms that must generalize (positive controls, grokking arms), by name.
    """
    for name, configs in arms.items():
        for cfg in configs:
            need = steps_needed(cfg, factor)
            if cfg.steps < need:
                return (
                    f"step budget below the LU time: arm '{name}' trains {cfg.steps:,} steps, "
                    f"but with α = {cfg.init_scale:g}, lr = {cfg.optim.lr:g}, "
                    f"γ = {cfg.optim.weight_decay:g} from step {cfg.optim.wd_on_at or 0:,} "
                    f"decay alone needs {factor:g} × ln(α)/(lr·γ) = {need:,.0f} steps to "
                    "shrink the norm to the generalizing scale (omnigrok §2)"
                )
    return None
