"""Stacked LSTM sentiment classifier for IMDb (omnigrok §4 Fig 4, App A; REFERENCES I1).

Reference: Omnigrok `imdb/grokking/imdb-grokking`, `SentimentRNN`: `nn.Embedding(vocab + 1,
64)`, `nn.LSTM(64, H, num_layers=2, batch_first=True)`, `nn.Linear(H, 1)` on the top layer's
output at the last position, sigmoid, BCE; dropout 0. App A gives H = 128 (the notebook 256).
The sigmoid is folded into the loss (`binary_cross_entropy_with_logits`), so the model
returns the logit.

The cells are unrolled by hand so that the model batches under `torch.func.vmap` (as in
`grokcore/models/recurrent.py`). Each layer's input projection is one matmul over all
positions; only the recurrent part loops. Parameters and init are `nn.LSTM`'s: per layer
`ih` (4H × d_in, with bias) and `hh` (4H × H, with bias), gate order i, f, g, o, every
weight and bias U(±1/√H); the embedding N(0, 1), the output layer `nn.Linear`'s default.
`tests/test_imdb_qm9.py` checks the forward pass against `nn.LSTM` with the same weights.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from grokcore.config import TextLSTM


class TextLSTMNet(nn.Module):
    """(B, T) token ids, 0 = padding (left) -> (B, n_out) logits from the last position."""

    def __init__(self, cfg: TextLSTM, n_tokens: int, n_out: int):
        super().__init__()
        self.hidden = cfg.hidden
        self.embed = nn.Embedding(n_tokens, cfg.d_embed)
        sizes = [cfg.d_embed] + [cfg.hidden] * (cfg.n_layers - 1)
        self.ih = nn.ModuleList(nn.Linear(d, 4 * cfg.hidden) for d in sizes)
        self.hh = nn.ModuleList(nn.Linear(cfg.hidden, 4 * cfg.hidden) for _ in sizes)
        bound = 1 / math.sqrt(cfg.hidden)  # nn.LSTM.reset_parameters
        with torch.no_grad():
            for layer in (*self.ih, *self.hh):
                layer.weight.uniform_(-bound, bound)
                layer.bias.uniform_(-bound, bound)
        self.out = nn.Linear(cfg.hidden, n_out)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        seq = self.embed(tokens)  # (B, T, d)
        h = seq.new_zeros(seq.shape[0], self.hidden)
        for k, (ih, hh) in enumerate(zip(self.ih, self.hh, strict=True)):
            z_in = ih(seq)  # (B, T, 4H): every position's input projection at once
            h = c = seq.new_zeros(seq.shape[0], self.hidden)
            last = k == len(self.ih) - 1
            outs: list[torch.Tensor] = []
            for t in range(z_in.shape[1]):
                i, f, g, o = (z_in[:, t] + hh(h)).chunk(4, dim=-1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                if not last:  # the top layer needs only its last state
                    outs.append(h)
            if not last:
                seq = torch.stack(outs, dim=1)
        return self.out(h)
