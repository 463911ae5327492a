"""Named seed streams: every random draw of a run, and the seed it comes from.

A run's config holds two seeds: `seed` (initialization, batch order, noise) and
`split_seed` (the data: `data_seed`, else `seed`). Each kind of draw takes its own stream,
offset so that streams of one seed never coincide, and named here so that "which seed
drew this" has one answer. Values are part of the results: changing one changes every
run that uses it (bump `config.CORE_VERSION`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

# stream -> offset added to the run's seed
INIT = 0  # model init: `torch.manual_seed(seed)` inside `models.build_model` (Nanda's own rule)
SPLIT = 0  # train/test split of a modular table or MNIST subset: numpy from `split_seed`
TEACHER_INPUTS = 10_000  # teacher-student inputs x ~ N(0, I), from `split_seed`
TEACHER = 20_000  # the teacher network's init, from `split_seed`
BATCHES = 40_000  # minibatch order, from `seed`
NOISE = 50_000  # training noise (li-sakib's embedding noise), from `seed`
SWEEP = 70_000  # which grid point each run of a random sweep takes (li-sakib §3.1), from the
#   sweep's own seed: a draw of configs, so no run's numbers depend on it
AUGMENT = 60_000  # MNIST augmentation angles (li-sakib §4), from `seed`
TEMPLATES = 90_000  # the representation toy's regression targets Ŷ_k, from `split_seed`
SUBSET = 100_000  # a continued run's training subset D' of its parent's split
#   (`config.Continuation.subset`), from the child's `seed`
DIRECTIONS = 80_000  # random directions of a loss-landscape slice (li-sakib §3.3), from `seed`;
#   drawn after training, so no run's numbers depend on it


# The largest seed a run may take (--seeds, --base-seed): torch's manual_seed takes up to
# 2**64 - 1, so a stream's offset, and the next seeds of a base seed, always stay in range.
MAX_SEED = 2**63 - 1


def generator(stream: int, seed: int) -> torch.Generator:
    """A CPU generator for `stream` of a run seeded `seed`."""
    return torch.Generator().manual_seed(stream + seed)


def sample_grid(levels: Mapping[str, Sequence[Any]], n: int, seed: int = 0) -> list[dict[str, Any]]:
    """n points of a random sweep over the grid `levels` (factor -> its values), seeded.

    Each factor's levels are repeated to length n and shuffled on their own (stream SWEEP),
    so every level appears ⌊n/L⌋ or ⌈n/L⌉ times and the factors are drawn independently:
    a random sample of the grid whose marginals are balanced, as a random hyperparameter
    sweep should be for per-factor correlations. Factors are shuffled in sorted-name order,
    so a point's values do not depend on the order of `levels`.
    """
    if n < 1:
        raise ValueError(f"sample_grid: n={n} must be >= 1")
    if not levels or any(len(v) == 0 for v in levels.values()):
        raise ValueError(f"sample_grid: every factor needs at least one level, got {levels!r}")
    g = generator(SWEEP, seed)
    cols: dict[str, list[Any]] = {}
    for name in sorted(levels):
        values = list(levels[name])
        order = torch.randperm(n, generator=g).tolist()
        cols[name] = [values[i % len(values)] for i in order]
    return [{name: cols[name][i] for name in levels} for i in range(n)]
