"""The representation toy of omnigrok §5.1 (Fig 6) and App D, after Liu et al. 2022.

Each digit i has a learned embedding E_i; a decoder MLP reads the sum E_i + E_j (the
addition is hard-coded) and predicts the label of the pair. Generalization needs the
representation R = {E_i} to become affine in i: the decoder then sees each sum k at one
input, whatever pair made it. Both R and the decoder train (the paper's full trajectory).

References: paper §5.1 and App D (scalar E_i, decoder 1-200-200-30, ReLU);
`ejmichaud/grokking-squared` @42ae7cb `toy/train_add.py`, the trained dynamics the paper
takes the toy from (Liu et al. 2022): `DEC` reads `reprs[x_id[:, 0]] + reprs[x_id[:, 1]]`
into `NET`, a 200-200 MLP with tanh; `reprs` starts U(−½, ½)·init_scale_reprs; the loss is
MSE to a random N(0, 1) template Ŷ_k ∈ R^30 per sum, a prediction the nearest template
(`loss_type="MSE"`, its default). `KindXiaoming/Omnigrok` @3a0a573
`mod-addition/landscape/addition-landscape.ipynb` cell 1 is the landscape variant only
(η_R = 0, `latent_dim = 2`, `LeakyReLU(0.2)`).

Options (`grokcore.config.RepresentationToy`, `PairSumTask.targets`):
- Objective: with `PairSumTask(targets=30)` the decoder has 30 outputs regressed onto the
  templates (train_add.py, App D); with `targets=0` one logit per sum, 2p − 1 of them,
  under cross-entropy.
- Activation: "tanh" (train_add.py), "relu" (App D's text), "leaky_relu" (slope 0.2, the
  landscape notebook).
- E_i: scalar as in the paper (`d_embed=1`). `embed_init="uniform"` draws U(−½, ½)
  (train_add.py); "normal" N(0, 1) (`nn.Embedding`, the paper's R_random).
- Labels: k = i + j as in the paper and train_add.py; the landscape notebook uses
  (i + j) mod p.

Two learning rates (§5.1 Eq. 6: η_R for R, η_D for the decoder) in an engine with one:
the stored parameter is Ẽ = E/c and the forward pass uses E = c·Ẽ, c = `lr_ratio`. Adam's
step is invariant to the gradient's scale, so Ẽ moves by ≈ lr and E by c·lr: exactly
η_R = c·η_D (up to Adam's ε). Decoupled decay shrinks E at the decoder's rate lr·γ; under
SGD the ratio would be c², and under L2-through-the-gradient ("adam" with γ > 0) the
penalty on E is γ/c². Norm curves see Ẽ: the "embed" group's norm is |E|/c.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from grokcore.config import RepresentationToy


class RepresentationToyNet(nn.Module):
    """E = lr_ratio·Ẽ, Ẽ = Embedding(p, d_embed); output = Dec(E_i + E_j)."""

    traced = ("embed.weight",)  # every evaluation records Ẽ: the RQI over time

    def __init__(self, cfg: RepresentationToy, p: int, n_out: int):
        super().__init__()
        self.embed = nn.Embedding(p, cfg.d_embed)  # Ẽ; the representation R is c·Ẽ
        self.c = cfg.lr_ratio
        with torch.no_grad():
            if cfg.embed_init == "uniform":  # train_add.py: torch.rand(p, d) − 1/2
                self.embed.weight.uniform_(-0.5, 0.5)
            self.embed.weight.div_(self.c)  # E = c·Ẽ starts as drawn whatever c is
        widths = (cfg.d_embed, *([cfg.width] * cfg.depth), n_out)
        layers: list[nn.Module] = []
        for a, b in itertools.pairwise(widths):
            layers += [nn.Linear(a, b), _act(cfg.act)]
        self.decoder = nn.Sequential(*layers[:-1])  # no activation after the readout

    def representation(self) -> torch.Tensor:
        """R = {E_i}: the (p, d_embed) embeddings the decoder reads."""
        return self.c * self.embed.weight

    def forward(self, xy: torch.Tensor) -> torch.Tensor:
        e = self.c * self.embed(xy)  # (B, 2, d_embed)
        return self.decoder(e[..., 0, :] + e[..., 1, :])


def _act(name: str) -> nn.Module:
    if name == "tanh":
        return nn.Tanh()
    return nn.LeakyReLU(0.2) if name == "leaky_relu" else nn.ReLU()
