"""Named seed streams: every random draw of a run, and the seed it comes from.

A run's config holds two seeds: `seed` (initialization, batch order, noise) and
`split_seed` (the data: `data_seed`, else `seed`). Each kind of draw takes its own stream,
offset so that streams of one seed never coincide, and named here so that "which seed
drew this" has one answer. Values are part of the results: changing one changes every
run that uses it (bump `config.CORE_VERSION`).
"""

from __future__ import annotations

import torch

# stream -> offset added to the run's seed
INIT = 0  # model init: `torch.manual_seed(seed)` inside `models.build_model` (Nanda's own rule)
SPLIT = 0  # train/test split of a modular table or MNIST subset: numpy from `split_seed`
TEACHER_INPUTS = 10_000  # teacher-student inputs x ~ N(0, I), from `split_seed`
TEACHER = 20_000  # the teacher network's init, from `split_seed`
BATCHES = 40_000  # minibatch order, from `seed`
NOISE = 50_000  # training noise (li-sakib's embedding noise), from `seed`


def generator(stream: int, seed: int) -> torch.Generator:
    """A CPU generator for `stream` of a run seeded `seed`."""
    return torch.Generator().manual_seed(stream + seed)
