"""Numerical collapse measures (issue 24, BX-SC; Prieto et al. 2025 §3).

`zero_loss_share`: the share of training samples whose float32 loss is exactly 0, read
from a run's kept final parameters (`RunConfig.keep_params`). Prieto et al. call a sample
whose softmax loss rounds to 0 in float32 a case of "softmax collapse": its gradient is 0
too, so it no longer trains. Computed only when asked (one forward pass over the training
split), so it costs nothing to runs that do not use it.
"""

from __future__ import annotations

import numpy as np
import torch

from grokcore.config import RunConfig
from grokcore.train.objective import per_sample_loss


def zero_loss_share(cfg: RunConfig, params: np.ndarray, dtype: str = "float32") -> float:
    """Share of `cfg`'s training samples whose per-sample loss, computed in `dtype` with the
    model at flat parameters `params` (a `History.final_params`), is exactly 0.0."""
    from grokcore.train import Ensemble
    from grokcore.train.engine import EVAL_CHUNK

    if dtype not in ("float32", "float64"):
        raise ValueError(f"zero_loss_share: dtype={dtype!r}; choose 'float32' or 'float64'")
    ens = Ensemble([cfg.replace(keep_params=False)], from_init=True)
    if ens.task_data.kind == "regression":
        raise ValueError("zero_loss_share: needs a classification loss, not regression")
    flat = torch.as_tensor(np.asarray(params)).reshape(1, -1).to(ens.device, ens.dtype)
    if flat.shape != ens.flat.shape:
        raise ValueError(
            f"zero_loss_share: {flat.shape[1]} parameters, the model has {ens.flat.shape[1]}"
        )
    split = ens.train_split
    n = split.sizes[0]
    zeros = 0
    ens.base.eval()
    with torch.no_grad():
        for a in range(0, n, EVAL_CHUNK):
            sl = slice(a, min(a + EVAL_CHUNK, n))
            x, y = (split.x[sl], split.y[sl]) if split.shared else (split.x[:, sl], split.y[:, sl])
            out = ens.forward(flat, x, not split.shared).to(getattr(torch, dtype))
            losses = per_sample_loss(out, y, ens.task_data, cfg.loss, dtype)
            zeros += int((losses == 0).sum())
    return zeros / n
