"""MLPs: token-embedding MLP, Gromov's one-hot MLP, and plain vector MLPs.

References:
- `VectorMLP` is the Omnigrok notebooks' MLP (`KindXiaoming/Omnigrok` @3a0a573):
  teacher-student 5-100-100-5 tanh (`regression_grokking.ipynb` cell 1) and MNIST
  784-200-200-10 ReLU (`mnist-grokking.ipynb` cells 7, 9), PyTorch's default `nn.Linear`
  init before the α scaling (REFERENCES T1, M1: match).
- `OneHotNet` is Gromov 2023's two-layer network (`d-doshi/Grokking` @0b4335f `utils/models.py`
  `fcn`). Known deviation (REFERENCES G1): we keep `nn.Embedding`'s N(0, 1) and a default
  `Linear` readout, where the reference draws both layers N(0, 0.25·(2h)^(-2/3)) without
  bias and trains with MSE and AdamW lr 1e-2; no claim uses this model yet.
- `TokenMLP` is our own CPU-sized stand-in for the quick tier of the modular claims (no
  paper uses it): learned embeddings of x and y, concatenated, then a ReLU MLP.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from grokcore.config import MLP, EmbedMLP, OneHotMLP

_ACTS = {"tanh": nn.Tanh, "relu": nn.ReLU}


class VectorMLP(nn.Module):
    """d_in -> hidden... -> d_out with one activation between layers (teacher-student, MNIST)."""

    def __init__(self, cfg: MLP, d_in: int, d_out: int):
        super().__init__()
        widths = (d_in, *cfg.hidden, d_out)
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(itertools.pairwise(widths)):
            layers.append(nn.Linear(a, b))
            if i < len(widths) - 2:
                layers.append(_ACTS[cfg.act]())
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))


class TokenMLP(nn.Module):
    """Embed x and y with one shared table, concatenate, ReLU MLP to p logits."""

    def __init__(self, cfg: EmbedMLP, vocab: int, n_out: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, cfg.d_embed)
        widths = (2 * cfg.d_embed, *([cfg.width] * cfg.depth))
        layers: list[nn.Module] = []
        for a, b in itertools.pairwise(widths):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.mlp = nn.Sequential(*layers)
        self.unembed = nn.Linear(cfg.width, n_out)

    def forward(self, xy: torch.Tensor) -> torch.Tensor:
        e = self.embed(xy).flatten(-2)  # (B, 2, d) -> (B, 2d)
        return self.unembed(self.mlp(e))


class OneHotNet(nn.Module):
    """Gromov 2023: h = act(W [onehot(x); onehot(y)]), out = U h.

    The first layer on a concatenated one-hot pair is two embedding lookups added,
    which is what we compute (no p-wide one-hot tensor is built).
    """

    def __init__(self, cfg: OneHotMLP, vocab: int, n_out: int):
        super().__init__()
        self.wx = nn.Embedding(vocab, cfg.width)
        self.wy = nn.Embedding(vocab, cfg.width)
        self.out = nn.Linear(cfg.width, n_out, bias=False)
        self.quadratic = cfg.act == "quadratic"

    def forward(self, xy: torch.Tensor) -> torch.Tensor:
        h = self.wx(xy[:, 0]) + self.wy(xy[:, 1])
        h = h * h if self.quadratic else torch.relu(h)
        return self.out(h)
