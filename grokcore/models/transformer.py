"""Small decoder-only transformers for `x ∘ y = ?` (Nanda et al. 2023; Power et al. 2022).

Sequences are short (3 or 4 tokens), so attention is written out plainly; the
answer is read from the last position (`=`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from grokcore.config import Transformer


class Block(nn.Module):
    def __init__(self, cfg: Transformer):
        super().__init__()
        d = cfg.d_model
        self.n_heads = cfg.n_heads
        # Q, K, V in one matrix so "attention QKV norm" (li-sakib §3.4) is one parameter.
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.attn_out = nn.Linear(d, d, bias=False)
        self.mlp_in = nn.Linear(d, cfg.d_mlp)
        self.mlp_out = nn.Linear(cfg.d_mlp, d)
        self.ln1 = nn.LayerNorm(d) if cfg.layer_norm else nn.Identity()
        self.ln2 = nn.LayerNorm(d) if cfg.layer_norm else nn.Identity()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        b, t, d = h.shape
        q, k, v = self.qkv(self.ln1(h)).split(d, dim=-1)
        # (b, t, d) -> (b, heads, t, d_head)
        q, k, v = (z.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2) for z in (q, k, v))
        # Written out rather than F.scaled_dot_product_attention, which has no vmap batching rule.
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
        causal = torch.ones(t, t, dtype=torch.bool, device=h.device).tril()
        att = scores.masked_fill(~causal, float("-inf")).softmax(-1) @ v
        h = h + self.attn_out(att.transpose(1, 2).reshape(b, t, d))
        return h + self.mlp_out(torch.relu(self.mlp_in(self.ln2(h))))


class TransformerNet(nn.Module):
    """Token + position embeddings, `n_layers` blocks, optional final LayerNorm, untied unembed."""

    def __init__(self, cfg: Transformer, p: int, n_out: int):
        super().__init__()
        self.p = p
        self.power = cfg.tokens == "power"
        n_ctx = 4 if self.power else 3
        self.embed = nn.Embedding(p + 2, cfg.d_model)  # p numbers, op, "="
        self.pos = nn.Parameter(torch.randn(n_ctx, cfg.d_model) / cfg.d_model**0.5)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model) if cfg.layer_norm else nn.Identity()
        self.unembed = nn.Linear(cfg.d_model, n_out, bias=False)
        self.embed_noise = cfg.embed_noise

    def tokens(self, xy: torch.Tensor) -> torch.Tensor:
        x, y = xy[:, :1], xy[:, 1:2]
        eq = torch.full_like(x, self.p + 1)
        if self.power:
            return torch.cat([x, torch.full_like(x, self.p), y, eq], dim=1)
        return torch.cat([x, y, eq], dim=1)

    def noise_shape(self, batch: int) -> tuple[int, ...] | None:
        """Shape of the standard-normal embedding noise one training batch needs (or None).

        The trainer draws it from a generator seeded by the run's config and passes it in,
        so noisy runs are reproducible and a batched member equals its single run.
        """
        if self.embed_noise <= 0:
            return None
        return (batch, self.pos.shape[0], self.pos.shape[1])

    def forward(self, xy: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        h = self.embed(self.tokens(xy))
        if noise is not None:
            h = h + self.embed_noise * noise
        h = h + self.pos
        for block in self.blocks:
            h = block(h)
        return self.unembed(self.ln_f(h[:, -1]))
