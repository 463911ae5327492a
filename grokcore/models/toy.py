"""The representation toy of omnigrok §5.1 (Fig 6) and App D, after Liu et al. 2022.

Each digit i has a learned embedding E_i; a decoder MLP reads the sum E_i + E_j (the
addition is hard-coded) and predicts the label of the pair. Generalization needs the
representation R = {E_i} to become affine in i: the decoder then sees each sum k at one
input, whatever pair made it. Both R and the decoder train (the paper's full trajectory).

References: paper §5.1 and App D (scalar E_i, decoder 1-200-200-30, ReLU);
`KindXiaoming/Omnigrok` @3a0a573 `mod-addition/landscape/addition-landscape.ipynb` cell 1
(`latent_dim = 2`, `NET`: 200-200 with `LeakyReLU(0.2)`, `DEC`: `latent[x_id[:,0]] +
latent[x_id[:,1]]`). That notebook is the landscape variant only (η_R = 0, the decoder's
norm held fixed); the code of the trained dynamics, `ejmichaud/grokking-squared`, was not
re-read.

Known deviations (REFERENCES D1), chosen in `grokcore.setups.representation_toy`:
- Objective: App D regresses each sum k onto a random 30-D vector Ŷ_k with MSE (the
  notebook scores the nearest Ŷ_k); here the decoder gives one logit per sum, 2p − 1 of
  them, under cross-entropy. So the paper's 1-200-200-30 is 1-200-200-19 at p = 10.
- Labels: k = i + j as in the paper; the notebook uses (i + j) mod p.
- Activation: ReLU as in the paper (`act="relu"`); the notebook's is LeakyReLU(0.2)
  (`act="leaky_relu"`).
- E_i: scalar as in the paper (`d_embed=1`); the notebook's latent is 2-D. Initialized
  N(0, 1) (`nn.Embedding`), the paper's R_random; the notebook draws U(−1, 1).
- Optimizer: the notebook's Adam lr 1e-2 β (0.9, 0.99) on the decoder, with lr × 0.2 every
  5,000 steps; grokcore's engine has no lr decay schedule, so the rate stays constant.

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
    """E = lr_ratio·Ẽ, Ẽ = Embedding(p, d_embed); logits = Dec(E_i + E_j)."""

    def __init__(self, cfg: RepresentationToy, p: int, n_out: int):
        super().__init__()
        self.embed = nn.Embedding(p, cfg.d_embed)  # Ẽ; the representation R is c·Ẽ
        self.c = cfg.lr_ratio
        with torch.no_grad():
            self.embed.weight.div_(self.c)  # E = c·Ẽ starts N(0, 1) whatever c is
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
    return nn.LeakyReLU(0.2) if name == "leaky_relu" else nn.ReLU()
