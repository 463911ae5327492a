"""The Grokfast decoder (`Transformer.grokfast()`) against ironjr/grokfast's own `Decoder`.

`Block` and `Decoder` below are ironjr/grokfast `main.py` @93b2248, copied as written (the
`mps` NaN fix left out: `torch.triu` of a -inf matrix has no NaN on CPU). The weights of one
are copied into the other and the logits at "=" must agree: that pins the token layout
`x op y =`, the normed attention residual, the attention biases, GELU, the 5 position rows
and the final LN with its unbiased head.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from grokcore.config import ModularTask, Optimizer, RunConfig, Transformer
from grokcore.data import build_data
from grokcore.models import build_model
from grokcore.models.transformer import TransformerNet
from grokcore.train import Ensemble

P = 11


class Block(nn.Module):  # ironjr/grokfast main.py
    def __init__(self, dim, num_heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim)
        self.ln_2 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, num_heads)
        self.mlp = nn.Sequential(
            nn.Linear(dim, dim * 4),
            nn.GELU(),
            nn.Linear(dim * 4, dim),
        )

    def forward(self, x):
        attn_mask = torch.full((len(x), len(x)), -float("Inf"), device=x.device, dtype=x.dtype)
        attn_mask = torch.triu(attn_mask, diagonal=1)
        x = self.ln_1(x)
        a, _ = self.attn(x, x, x, attn_mask=attn_mask, need_weights=False)
        x = x + a
        m = self.mlp(self.ln_2(x))
        x = x + m
        return x


class Decoder(nn.Module):  # ironjr/grokfast main.py
    def __init__(self, dim=128, num_layers=2, num_heads=4, num_tokens=97, seq_len=5):
        super().__init__()
        self.token_embeddings = nn.Embedding(num_tokens, dim)
        self.position_embeddings = nn.Embedding(seq_len, dim)
        self.layers = nn.ModuleList()
        for _ in range(num_layers):
            self.layers.append(Block(dim, num_heads))
        self.ln_f = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_tokens, bias=False)

    def forward(self, x):
        h = self.token_embeddings(x)
        positions = torch.arange(x.shape[0], device=x.device).unsqueeze(-1)
        h = h + self.position_embeddings(positions).expand_as(h)
        for layer in self.layers:
            h = layer(h)
        h = self.ln_f(h)
        logits = self.head(h)
        return logits


def _copy_into(ours: TransformerNet, ref: Decoder) -> None:
    """Our parameters into grokfast's modules, one to one."""
    with torch.no_grad():
        ref.token_embeddings.weight.copy_(ours.embed.weight)
        ref.position_embeddings.weight.copy_(ours.pos)
        for blk, b in zip(ref.layers, ours.blocks, strict=True):
            blk.ln_1.load_state_dict(b.ln1.state_dict())
            blk.ln_2.load_state_dict(b.ln2.state_dict())
            blk.attn.in_proj_weight.copy_(b.qkv.weight)  # rows Q, K, V in both
            blk.attn.in_proj_bias.copy_(b.qkv.bias)
            blk.attn.out_proj.weight.copy_(b.attn_out.weight)
            blk.attn.out_proj.bias.copy_(b.attn_out.bias)
            blk.mlp[0].load_state_dict(b.mlp_in.state_dict())
            blk.mlp[2].load_state_dict(b.mlp_out.state_dict())
        ref.ln_f.load_state_dict(ours.ln_f.state_dict())
        ref.head.weight.copy_(ours.unembed.weight)


def _randomize(net: nn.Module) -> None:
    """Every parameter random (zero biases and unit LayerNorms would hide a swap)."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)


@pytest.mark.parametrize("full", [False, True])
def test_forward_equals_grokfast_decoder(full):
    cfg = Transformer.grokfast(d_model=32, n_heads=4, d_mlp=128)
    ours = build_model(cfg, P, P, 0)
    assert isinstance(ours, TransformerNet)
    _randomize(ours)
    ref = Decoder(dim=32, num_layers=2, num_heads=4, num_tokens=P + 2, seq_len=5)
    _copy_into(ours, ref)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in ref.parameters())
    g = torch.Generator().manual_seed(2)
    x, y = torch.randint(0, P, (64,), generator=g), torch.randint(1, P, (64,), generator=g)
    xy = torch.stack([x, y], 1)
    # grokfast's rows `[x, op, y, eq, result]`, op_token = p + 1, eq_token = p, fed input[:-1]
    seq = torch.stack([xy[:, 0], torch.full((64,), P + 1), xy[:, 1], torch.full((64,), P)])
    ours.full = full
    with torch.no_grad():
        want = ref(seq)[-1]  # logits at "=" (main.py: `logits[-1]`)
        got = ours(xy)
    assert got.shape == (64, P + 2)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_grokfast_preset_init_and_key():
    cfg = Transformer.grokfast()
    assert (cfg.n_layers, cfg.d_model, cfg.n_heads, cfg.d_mlp) == (2, 128, 4, 512)
    assert (cfg.layer_norm, cfg.act, cfg.attn_bias, cfg.tokens) == (
        "pre_normed", "gelu", True, "grokfast"
    )  # fmt: skip
    net = build_model(cfg, 97, 97, 0)
    assert isinstance(net, TransformerNet)
    ref = Decoder(dim=128, num_layers=2, num_heads=4, num_tokens=99, seq_len=5)

    def shapes(m: nn.Module) -> list[tuple[int, ...]]:
        return sorted(tuple(p.shape) for p in m.parameters())

    assert shapes(net) == shapes(ref)  # the same tensors (grokfast's order differs)
    net.requires_grad_(False)
    b = net.blocks[0]
    # nn.MultiheadAttention's init: Xavier-uniform in_proj, zero in/out biases
    bound = math.sqrt(6 / (128 + 3 * 128))
    assert b.qkv.weight.abs().max() <= bound and b.qkv.weight.abs().max() > 0.9 * bound
    assert not b.qkv.bias.any() and not b.attn_out.bias.any()
    # nn.Embedding's N(0, 1) token and position rows (5 of them)
    assert net.pos.shape == (5, 128) and 0.9 < float(net.pos.std()) < 1.1
    assert 0.9 < float(net.embed.weight.std()) < 1.1
    # the new options stay out of every older key
    old = RunConfig(ModularTask("x+y", 97, 0.3), Transformer())
    assert "act" not in str(old.to_dict()) and "attn_bias" not in str(old.to_dict())
    new = RunConfig(ModularTask("x+y", 97, 0.3), Transformer(act="gelu"))
    assert new.key() != old.key()
    with pytest.raises(ValueError, match="act"):
        Transformer(act="tanh")
    with pytest.raises(ValueError, match="layer_norm"):
        Transformer(layer_norm="sandwich")


def test_grokfast_decoder_trains_in_an_ensemble_as_alone():
    task = ModularTask("x*y", P, 0.5)
    model = Transformer.grokfast(d_model=32, n_heads=4, d_mlp=128)
    opt = Optimizer("adam", lr=1e-3, betas=(0.9, 0.98), weight_decay=0.005, warmup_steps=10)
    cfgs = [
        RunConfig(task, model, opt, steps=20, batch_size=16, seed=s, eval_points=5) for s in (0, 1)
    ]
    together = Ensemble(cfgs).train()
    (alone,) = Ensemble(cfgs[1:]).train()
    np.testing.assert_array_equal(together[1].batch_loss, alone.batch_loss)
    assert together[0].batch_loss[-1] < together[0].batch_loss[0]
    assert build_data(task, 0).n_out == P
