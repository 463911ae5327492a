"""The representation toy's table (omnigrok §5.1, App D): digit pairs i ≤ j and their sums.

The pairs come in the notebook's order (`for i in range(p): for j in range(i, p)`,
`KindXiaoming/Omnigrok` `mod-addition/landscape/addition-landscape.ipynb` cell 1), and
the label is the plain sum k = i + j, as App D states; the notebook's own labels are
`(xx_id + yy_id) % p` (REFERENCES D1).

The training pairs are the first `n_train` of one seeded permutation of the table (the
notebook: `np.random.choice(all_num, train_num, replace=False)`). So for one split seed
the training sets of different sizes are nested, 25 ⊂ 35 ⊂ 45: a comparison across sizes
then changes only how many pairs are seen, not which.
"""

from __future__ import annotations

import numpy as np
import torch

from grokcore import seeds
from grokcore.config import PairSumTask


def pair_table(p: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All p(p+1)/2 pairs (i, j), i ≤ j, as an (N, 2) int64 tensor, and their sums (N,)."""
    i, j = np.triu_indices(p)  # row-major over i, then j ≥ i: the notebook's order
    pairs = np.stack([i, j], axis=1).astype(np.int64)
    return torch.from_numpy(pairs), torch.from_numpy(pairs.sum(1))


def pair_split(task: PairSumTask, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted train and test indices into `pair_table(task.p)`: `n_train` of them train."""
    perm = np.random.default_rng(seeds.SPLIT + seed).permutation(task.n_pairs)
    return np.sort(perm[: task.n_train]), np.sort(perm[task.n_train :])


def seen_share(task: PairSumTask, seed: int) -> float:
    """Share of test pairs whose sum also labels some training pair.

    A sum that no training pair shows (k = 0 and k = 2p − 2 have one pair each) cannot be
    learned from the data, so this bounds the test accuracy a run can reach: a claim's
    "generalized" threshold should sit below it, or name the splits it excludes.
    """
    _, y = pair_table(task.p)
    tr, te = pair_split(task, seed)
    return float(np.isin(y[te].numpy(), y[tr].numpy()).mean())


def template_vectors(task: PairSumTask, seed: int) -> torch.Tensor:
    """(2p − 1, targets) float64: the random target Ŷ_k ~ N(0, I) of each sum k, seeded by
    the split seed (`ejmichaud/grokking-squared` `toy/train_add.py` `y_templates`, App D)."""
    if task.targets < 1:
        raise ValueError(f"PairSumTask.targets is {task.targets}: this task has no templates")
    g = seeds.generator(seeds.TEMPLATES, seed)
    return torch.randn(task.n_classes, task.targets, generator=g, dtype=torch.float64)
