"""RNN / LSTM readers of `x + y =` (rnn-poster), cells unrolled by hand so they batch under vmap.

Reference: `0900130508ahmed17539/grokking` `Grokking_LSTM.ipynb` cell 1 and `Grokking_RNN`
@e68c50e (an LSTM script despite its name): `nn.Embedding(vocab, 128)`, one `nn.LSTM(128,
128)` layer, `nn.Linear(128, vocab)` on the last state; CE on the answer (REFERENCES R1-R10).
Known differences, none expected to move a verdict: we read 4 tokens `x + y =` and give p
answer logits where the notebook reads `<sos> x + y =` with 100 vocabulary logits (R7); the
RNN cell here is a 1-layer tanh RNN, while the only public RNN notebook is a 2-layer ReLU
`nn.RNN` with BatchNorm and dropout that never groks the answer token (R10).

Init is `nn.LSTM`'s: every weight and bias U(±1/√hidden) (R8), the embedding N(0, 1) and
the output layer `nn.Linear`'s default.
"""

from __future__ import annotations

import math

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
        if cfg.d_embed != cfg.hidden:  # nn.Linear's bound is 1/√fan_in; nn.LSTM's is 1/√hidden
            bound = 1 / math.sqrt(cfg.hidden)
            with torch.no_grad():
                self.ih.weight.uniform_(-bound, bound)
                self.ih.bias.uniform_(-bound, bound)

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
