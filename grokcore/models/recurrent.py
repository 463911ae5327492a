"""RNN / LSTM readers of `x + y =` (rnn-poster), cells unrolled by hand so they batch under vmap."""

from __future__ import annotations

import torch
from torch import nn

from grokcore.config import Recurrent


class RecurrentNet(nn.Module):
    """Embed the 4 tokens x, op, y, =; run a tanh-RNN or LSTM cell; classify the last state."""

    def __init__(self, cfg: Recurrent, p: int, n_out: int):
        super().__init__()
        self.p = p
        self.lstm = cfg.cell == "lstm"
        gates = 4 if self.lstm else 1
        self.embed = nn.Embedding(p + 2, cfg.d_embed)
        self.ih = nn.Linear(cfg.d_embed, gates * cfg.hidden)
        self.hh = nn.Linear(cfg.hidden, gates * cfg.hidden)
        self.out = nn.Linear(cfg.hidden, n_out)
        self.hidden = cfg.hidden

    def forward(self, xy: torch.Tensor) -> torch.Tensor:
        x, y = xy[:, :1], xy[:, 1:2]
        seq = torch.cat([x, torch.full_like(x, self.p), y, torch.full_like(x, self.p + 1)], dim=1)
        e = self.embed(seq)
        h = e.new_zeros(e.shape[0], self.hidden)
        c = h
        for t in range(seq.shape[1]):
            z = self.ih(e[:, t]) + self.hh(h)
            if self.lstm:
                i, f, g, o = z.chunk(4, dim=-1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
            else:
                h = torch.tanh(z)
        return self.out(h)
