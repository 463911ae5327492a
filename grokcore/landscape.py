"""Loss landscapes around a trained run's final weights (li-sakib §3.3, Fig 5).

li-sakib: "Following the methods outlined by (4) [Li et al. 2018, "Visualizing the loss
landscape of neural nets"] … after retrieving the final weights post-training, we randomly
generated two sets of gradients for each weight from a Gaussian distribution and manually
performed gradient descent in these two directions to calculate the loss."

So: two Gaussian directions d1, d2, each *filter-normalized* as Li et al. §4 does (every
filter, i.e. every row of a weight matrix or embedding table, rescaled to the norm of the
same row of the weights; `tomgoldstein/loss-landscape` `net_plotter.normalize_direction`),
and the training loss L(θ + a·d1 + b·d2) on an (a, b) grid over [−1, 1]² (Li et al.'s
default `-1:1:51`). One-dimensional parameters (biases, LayerNorm) get a zero direction,
as that code does with `ignore='biasbn'` (its README's commands); `bias_1d="copy"` takes the
weights themselves instead (its `ignore=''`). The unevenness of the surface is the range
max − min of the loss over the grid (`loss_range`).

The grid is evaluated as an ensemble: the G grid points are G rows of parameters run through
the engine's own vmapped `functional_call` forward, a chunk of rows at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from grokcore import seeds
from grokcore.config import RunConfig
from grokcore.history import History
from grokcore.train.objective import per_sample_loss

EVAL_CHUNK = 1024  # samples per forward pass, as the engine's evaluation


@dataclass(frozen=True)
class Slice:
    """Training loss on an (a, b) grid around θ: loss[i, j] at θ + a[i]·d1 + b[j]·d2."""

    a: np.ndarray
    b: np.ndarray
    loss: np.ndarray

    @property
    def range(self) -> float:
        """max − min of the loss over the slice (li-sakib §3.3's "range of loss")."""
        return loss_range(self.loss)


def loss_range(loss: np.ndarray) -> float:
    """max − min over a loss grid; ValueError if a grid point is not finite."""
    arr = np.asarray(loss, dtype=np.float64)
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"a loss grid of shape {arr.shape} with non-finite points has no range")
    return float(arr.max() - arr.min())


def filter_normalize(
    direction: dict[str, torch.Tensor], weights: dict[str, torch.Tensor], bias_1d: str = "zero"
) -> dict[str, torch.Tensor]:
    """Li et al. 2018 §4: each filter (row along dim 0) of the direction gets the norm of the
    same filter of the weights. 1-D parameters: "zero" (`ignore='biasbn'`) or "copy"."""
    if bias_1d not in ("zero", "copy"):
        raise ValueError(f"bias_1d={bias_1d!r}: choose 'zero' or 'copy'")
    if direction.keys() != weights.keys():
        raise ValueError("direction and weights name different parameters")
    out = {}
    for name, w in weights.items():
        d = direction[name]
        if d.shape != w.shape:
            raise ValueError(
                f"direction {name} has shape {tuple(d.shape)}, weights {tuple(w.shape)}"
            )
        if w.dim() <= 1:
            out[name] = torch.zeros_like(w) if bias_1d == "zero" else w.clone()
            continue
        rows_d, rows_w = d.reshape(len(d), -1), w.reshape(len(w), -1)
        scale = rows_w.norm(dim=1, keepdim=True) / (rows_d.norm(dim=1, keepdim=True) + 1e-10)
        out[name] = (rows_d * scale).reshape(w.shape)
    return out


def random_directions(
    weights: dict[str, torch.Tensor], seed: int, n: int = 2, bias_1d: str = "zero"
) -> list[dict[str, torch.Tensor]]:
    """n Gaussian directions, filter-normalized to `weights`, from stream DIRECTIONS + seed."""
    g = seeds.generator(seeds.DIRECTIONS, seed)
    out = []
    for _ in range(n):
        d = {k: torch.randn(w.shape, generator=g, dtype=w.dtype) for k, w in weights.items()}
        out.append(filter_normalize(d, weights, bias_1d))
    return out


def loss_slice(
    cfg: RunConfig,
    history: History,
    *,
    points: int = 21,
    span: float = 1.0,
    bias_1d: str = "zero",
    seed: int | None = None,
    chunk: int = 64,
    device: torch.device | str = "cpu",
) -> Slice:
    """The training loss of `cfg`'s run over a `points`² grid in [−span, span]² of two
    filter-normalized random directions around its final weights (kept with keep_params).

    seed: the directions' seed (default: the run's own seed). chunk: grid points per
    vmapped forward pass (memory: chunk × parameters).
    """
    from grokcore.train.engine import Ensemble

    if history.final_params is None:
        raise ValueError("the run kept no final parameters: train its config with keep_params=True")
    ens = Ensemble([cfg.replace(keep_params=False)], device, from_init=True)
    if list(history.param_shapes) != ens.names:
        raise ValueError("the kept parameters do not name the model's parameters")
    theta = torch.as_tensor(history.final_params).to(ens.device, ens.dtype)
    weights = {
        n: t.view(s) for n, t, s in zip(ens.names, theta.split(ens.sizes), ens.shapes, strict=True)
    }
    dirs = random_directions(weights, cfg.seed if seed is None else seed, 2, bias_1d)
    d1, d2 = (torch.cat([d[n].reshape(-1) for n in ens.names]) for d in dirs)
    return grid_slice(
        lambda rows: _train_loss(ens, rows, cfg.loss, cfg.loss_dtype),
        theta,
        d1,
        d2,
        points,
        span,
        chunk,
    )


def grid_slice(
    losses: Callable[[torch.Tensor], np.ndarray],
    theta: torch.Tensor,
    d1: torch.Tensor,
    d2: torch.Tensor,
    points: int = 21,
    span: float = 1.0,
    chunk: int = 64,
) -> Slice:
    """`losses` (G, P) parameter rows -> (G,) losses, on θ + a·d1 + b·d2 over a grid of
    `points`² in [−span, span]², `chunk` rows at a time."""
    if points < 2:
        raise ValueError(f"points={points}: a grid needs at least 2 points a side")
    a = np.linspace(-span, span, points)
    grid = torch.tensor([(x, y) for x in a for y in a], dtype=theta.dtype, device=theta.device)
    out = []
    for lo in range(0, len(grid), chunk):
        ab = grid[lo : lo + chunk]
        out.append(np.asarray(losses(theta + ab[:, :1] * d1 + ab[:, 1:] * d2)))
    return Slice(a=a, b=a.copy(), loss=np.concatenate(out).reshape(points, points))


@torch.no_grad()
def _train_loss(ens, rows: torch.Tensor, loss: str, loss_dtype: str = "float32") -> np.ndarray:
    """Mean training loss (no weight-decay term) of each parameter row, on the full split."""
    split = ens.train_split
    ens.base.eval()
    n = split.y.shape[0]
    total = torch.zeros(len(rows), dtype=torch.float64, device=rows.device)
    for lo in range(0, n, EVAL_CHUNK):
        x, y = split.x[lo : lo + EVAL_CHUNK], split.y[lo : lo + EVAL_CHUNK]
        out = ens.forward(rows, x, False)
        total += per_sample_loss(out, y, ens.task_data, loss, loss_dtype).sum(-1).double()
    return (total / n).cpu().numpy()
