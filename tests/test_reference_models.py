"""The two transformers against their reference code (REFERENCES.md N1, N1a, N2, P1-P5).

Nanda: mechanistic-interpretability-grokking/progress-measures-paper `transformers.py`
@23d2c64. Power: openai/grok `grok/transformer.py`, `grok/data.py`, `grok/training.py`
@3d64b1d. Each test names the lines it pins.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call, vmap

from grokcore.config import Transformer
from grokcore.models import build_model, param_groups

NANDA_P = 113
POWER_P = 97
D = 128
SEEDS = range(10)


def flat_norm(module: torch.nn.Module) -> float:
    return float(torch.cat([p.detach().reshape(-1) for p in module.parameters()]).norm())


def operands(p: int, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    xy = torch.randint(0, p, (n, 2), generator=g)
    return xy, (xy[:, 0] + xy[:, 1]) % p


# -- Nanda et al. 2023 -------------------------------------------------------------------

# progress-measures-paper `transformers.py`: the std of each tensor (d_vocab = p+1 = 114).
NANDA_STD = {
    "embed.weight": D**-0.5,  # W_E, :165
    "pos": D**-0.5,  # W_pos, :183
    "blocks.0.qkv.weight": D**-0.5,  # W_K/W_Q/W_V, :212-214
    "blocks.0.attn_out.weight": D**-0.5,  # W_O, :215
    "blocks.0.mlp_in.weight": D**-0.5,  # W_in, :242
    "blocks.0.mlp_out.weight": D**-0.5,  # W_out, :244: d_model, not d_mlp
    "unembed.weight": (NANDA_P + 1) ** -0.5,  # W_U, :174
}


@pytest.mark.parametrize("seed", SEEDS)
def test_nanda_init_norm_matches_reference(seed):
    """REFERENCES N1: Nanda's init has E‖w‖² = 114+3+384+128+512+512+128 = 1781, so ‖w‖ ≈ 42.20.

    The expectation sums numel·std² over W_E, W_pos, W_K/Q/V, W_O, W_in, W_out, W_U of
    `transformers.py` :165-245 at d_model 128, d_mlp 512, d_vocab 114; its spread over
    seeds is ≈0.15%, so 1% holds for every seed.
    """
    net = build_model(Transformer(), NANDA_P, NANDA_P, seed)
    expected = sum(p.numel() * NANDA_STD.get(n, 0.0) ** 2 for n, p in net.named_parameters())
    assert math.isclose(expected, 1781, rel_tol=1e-12)
    assert math.isclose(flat_norm(net), math.sqrt(1781), rel_tol=0.01), seed


@pytest.mark.parametrize("seed", SEEDS)
def test_nanda_init_per_tensor(seed):
    """REFERENCES N1/N1a: each tensor's std is the formula of its line in `transformers.py`
    (W_out divides by √d_model, :244), and b_in, b_out are zeros (:243, :245).

    2% is ≥3.4 standard errors of a std estimate for every matrix here; W_pos has only
    3·128 entries, so its tolerance is four standard errors, 4/√(2n).
    """
    net = build_model(Transformer(), NANDA_P, NANDA_P, seed)
    params = dict(net.named_parameters())
    assert set(params) == {*NANDA_STD, "blocks.0.mlp_in.bias", "blocks.0.mlp_out.bias"}
    for name, std in NANDA_STD.items():
        w = params[name].detach()
        tol = max(0.02, 4 / math.sqrt(2 * w.numel()))
        assert math.isclose(float(w.std()), std, rel_tol=tol), (seed, name, float(w.std()))
    assert not params["blocks.0.mlp_in.bias"].any()
    assert not params["blocks.0.mlp_out.bias"].any()


@pytest.mark.parametrize("seed", [0, 3])
def test_nanda_init_draws_in_reference_order(seed):
    """`Transformer(Config())` of progress-measures-paper draws W_E, W_pos, then per block
    W_K, W_Q, W_V, W_O, W_in, W_out, then W_U (construction order, :165-245, Nanda's
    layouts). After `torch.manual_seed(seed)` those draws are our parameters, bit for bit.
    """
    d, v, d_mlp, heads = D, NANDA_P + 1, 512, 4
    torch.manual_seed(seed)
    w_e = torch.randn(d, v) / math.sqrt(d)
    w_pos = torch.randn(3, d) / math.sqrt(d)
    w_k, w_q, w_v = (torch.randn(heads, d // heads, d) / math.sqrt(d) for _ in range(3))
    w_o = torch.randn(d, d) / math.sqrt(d)
    w_in = torch.randn(d_mlp, d) / math.sqrt(d)
    w_out = torch.randn(d, d_mlp) / math.sqrt(d)
    w_u = torch.randn(d, v) / math.sqrt(v)

    net = build_model(Transformer(), NANDA_P, NANDA_P, seed)
    blk = net.blocks[0]
    assert torch.equal(net.embed.weight, w_e.T)
    assert torch.equal(net.pos, w_pos)
    assert torch.equal(blk.qkv.weight, torch.cat([w.reshape(d, d) for w in (w_q, w_k, w_v)]))
    assert torch.equal(blk.attn_out.weight, w_o)
    assert torch.equal(blk.mlp_in.weight, w_in)
    assert torch.equal(blk.mlp_out.weight, w_out)
    assert torch.equal(net.unembed.weight, w_u.T)


def test_nanda_forward_equals_reference_einsums():
    """Nanda's forward, `transformers.py` `Embed`/`PosEmbed`/`Attention`/`MLP`/`Unembed`,
    transcribed with his einsums and (heads, d_head, d_model) layouts from our weights.
    """
    net = build_model(Transformer(), NANDA_P, NANDA_P, 0)
    blk = net.blocks[0]
    d, heads = D, 4
    w_q, w_k, w_v = (w.reshape(heads, d // heads, d) for w in blk.qkv.weight.split(d))
    xy, _ = operands(NANDA_P, 16)
    tokens = torch.cat([xy, torch.full((16, 1), NANDA_P)], dim=1)  # (x, y, 113), :440

    x = torch.einsum("dbp -> bpd", net.embed.weight.T[:, tokens]) + net.pos
    k = torch.einsum("ihd,bpd->biph", w_k, x)
    q = torch.einsum("ihd,bpd->biph", w_q, x)
    v = torch.einsum("ihd,bpd->biph", w_v, x)
    scores = torch.einsum("biph,biqh->biqp", k, q)
    mask = torch.ones(3, 3).tril()
    scores = torch.tril(scores) - 1e10 * (1 - mask)
    attn = F.softmax(scores / math.sqrt(d // heads), dim=-1)
    z = torch.einsum("biph,biqp->biqh", v, attn)
    z = z.permute(0, 2, 1, 3).reshape(16, 3, d)  # 'b i q h -> b q (i h)'
    x = x + torch.einsum("df,bqf->bqd", blk.attn_out.weight, z)
    hid = F.relu(torch.einsum("md,bpd->bpm", blk.mlp_in.weight, x) + blk.mlp_in.bias)
    x = x + torch.einsum("dm,bpm->bpd", blk.mlp_out.weight, hid) + blk.mlp_out.bias
    logits = (x @ net.unembed.weight.T)[:, -1]  # `full_loss`: last position
    assert torch.allclose(net(xy), logits, atol=1e-5)


def test_nanda_vocabulary_is_p_plus_1():
    """REFERENCES N2: `Config.d_vocab = p+1` (:48) sizes both W_E and W_U, so there are
    p+1 logits ("=" included); `cfg.vocab` overrides it, and too small a vocabulary fails."""
    net = build_model(Transformer(), NANDA_P, NANDA_P, 0)
    assert net.embed.weight.shape == (NANDA_P + 1, D)
    assert net.unembed.weight.shape == (NANDA_P + 1, D)
    assert net.pos.shape == (3, D)
    xy, y = operands(NANDA_P, 5)
    assert torch.equal(net.inputs(xy, y), xy) and torch.equal(net.targets(y), y)
    assert net.tokens(xy)[:, 2].eq(NANDA_P).all()  # "=" is token p
    assert net(xy).shape == (5, NANDA_P + 1)
    wide = build_model(Transformer(vocab=130), NANDA_P, NANDA_P, 0)
    assert wide.embed.weight.shape[0] == wide.unembed.weight.shape[0] == 130
    with pytest.raises(ValueError, match="vocab"):
        build_model(Transformer(vocab=NANDA_P), NANDA_P, NANDA_P, 0)


def test_nanda_init_only_with_nanda_config():
    """REFERENCES N1a(b): the init is switched by `cfg.init`, not by the shared classes."""
    torch_init = build_model(Transformer(init="torch"), NANDA_P, NANDA_P, 0)
    assert math.isclose(float(torch_init.embed.weight.detach().std()), 1.0, rel_tol=0.03)
    assert torch_init.blocks[0].mlp_in.bias.abs().sum() > 0  # Linear's default bias
    power_nanda = build_model(Transformer.power(init="nanda"), POWER_P, POWER_P, 0)
    assert math.isclose(float(power_nanda.embed.weight.detach().std()), D**-0.5, rel_tol=0.03)


# -- Power et al. 2022 (openai/grok) ------------------------------------------------------


def grok_param_count(vocab: int, d: int = 128, heads: int = 4, layers: int = 2) -> int:
    """openai/grok `Transformer(n_layers, n_heads, d_model, vocab_len)`, counted from its
    modules: `Embedding(vocab_len, d_model)` (:303); per `DecoderBlock`, `heads`
    `AttentionHead`s with Wq, Wk, Wv `Linear(d_model, d_key, bias=False)` (:89-91),
    `Wo` d×d (:142), two `LayerNorm`s with weight and bias (:214, :218), FFN d×4d and 4d×d
    without bias (:192-194); the output `Linear(d_model, vocab_len, bias=False)` (:318).
    The position encoding and the mask are buffers (:304-307), so they do not count."""
    d_key = d // heads
    attention = heads * 3 * d * d_key + d * d
    block = attention + 2 * 2 * d + 2 * d * 4 * d
    return vocab * d + layers * block + d * vocab


@pytest.mark.parametrize("vocab", [None, 239, 2000])
def test_power_parameter_count_equals_openai_grok(vocab):
    """REFERENCES §3.3: as many parameters as openai/grok's model at the same vocabulary
    (256·V + 394,240 at d=128): the default p+3, ≈239 (openai/grok's shared vocabulary,
    REFERENCES P4) and its `vocab_len` default 2000."""
    net = build_model(Transformer.power(vocab=vocab), POWER_P, POWER_P, 0)
    v = vocab or POWER_P + 3
    n = sum(p.numel() for p in net.parameters())
    assert n == grok_param_count(v) == 256 * v + 394_240


def test_power_keeps_pytorch_defaults_and_has_no_biases():
    """REFERENCES P2, P3, N1a(b): openai/grok builds `Embedding` (N(0, 1)) and bias-free
    `Linear`s (Kaiming-uniform, bound 1/√fan_in) with PyTorch's init; positions are a
    buffer (:304-305), so `named_parameters()` has no position and no bias but LayerNorm's."""
    net = build_model(Transformer.power(), POWER_P, POWER_P, 0)
    params = dict(net.named_parameters())
    assert math.isclose(float(net.embed.weight.detach().std()), 1.0, rel_tol=0.03)
    assert not any("pos" in n for n in params)
    assert {n for n in params if n.endswith("bias")} == {
        f"blocks.{i}.ln{j}.bias" for i in range(2) for j in (1, 2)
    }
    for name in ("qkv", "attn_out", "mlp_in", "mlp_out"):
        w = params[f"blocks.0.{name}.weight"].detach()
        bound = w.shape[1] ** -0.5
        assert float(w.abs().max()) <= bound
        assert math.isclose(float(w.std()), bound / math.sqrt(3), rel_tol=0.03), name
    assert [n for n, _ in net.named_buffers()] == ["pos_table"]
    assert "attn_qkv" in param_groups(net)
    assert "pos" not in param_groups(net)


def test_power_positions_are_openai_grok_sinusoids():
    """openai/grok `Transformer._position_encoding` (:325-339): sin(pos/10000^(i/d)) at even
    i, cos(pos/10000^((i-1)/d)) at odd i, evaluated here entry by entry."""
    net = build_model(Transformer.power(), POWER_P, POWER_P, 0)
    table = [
        [
            math.sin(pos / 10000 ** (i / D))
            if i % 2 == 0
            else math.cos(pos / 10000 ** ((i - 1) / D))
            for i in range(D)
        ]
        for pos in range(6)
    ]
    assert torch.allclose(net.pos_table, torch.tensor(table), atol=1e-7, rtol=0)
    assert not net.pos_table.requires_grad


def test_power_sequence_and_targets():
    """openai/grok `data.py:357` writes `<|eos|> x op y = c <|eos|>`, the model reads it
    without the last token (:469) and is scored on the rhs `[c, <|eos|>]` (`training.py`
    :306-314). Token ids here: numbers 0..p-1, op = p, "=" = p+1, <eos> = p+2."""
    p = POWER_P
    net = build_model(Transformer.power(), p, p, 0)
    xy = torch.tensor([[3, 4], [0, 96]])
    c = torch.tensor([7, 96])
    x_model = net.inputs(xy, c)
    assert x_model.tolist() == [[3, 4, 7], [0, 96, 96]]
    assert net.targets(c).tolist() == [[7, p + 2], [96, p + 2]]
    assert net.tokens(x_model).tolist() == [
        [p + 2, 3, p, 4, p + 1, 7],
        [p + 2, 0, p, 96, p + 1, 96],
    ]
    assert net(x_model).shape == (2, 2, p + 3)
    assert net.noise_shape(5) is None
    noisy = build_model(Transformer.power(embed_noise=0.1), p, p, 0)
    assert noisy.noise_shape(5) == (5, 6, D)


def grok_reference_forward(net: torch.nn.Module, tokens: torch.Tensor, heads: int = 4):
    """openai/grok's forward in plain torch ops from `net`'s weights: embedding plus the
    sinusoids (`embed`, :341-347), per-head attention with a tril mask (`AttentionHead`,
    :105-121) joined by Wo (:172-173), post-LN `a1 = LN(x + a1)`, `a2 = LN(a1 + ffn(a1))`
    (:230, :234), then `linear` (:318), with no final LayerNorm."""
    d = net.d_model
    d_key = d // heads
    t = tokens.shape[1]
    pos = torch.tensor(
        [
            [
                math.sin(i / 10000 ** (j / d))
                if j % 2 == 0
                else math.cos(i / 10000 ** ((j - 1) / d))
                for j in range(d)
            ]
            for i in range(t)
        ]
    )
    x = net.embed.weight[tokens] + pos
    mask = torch.ones(t, t).tril()
    for blk in net.blocks:
        wq, wk, wv = blk.qkv.weight.split(d)
        outs = []
        for h in range(heads):
            rows = slice(h * d_key, (h + 1) * d_key)
            q, k, v = x @ wq[rows].T, x @ wk[rows].T, x @ wv[rows].T
            att = (q @ k.transpose(-2, -1)) / math.sqrt(d_key)
            att = att.masked_fill(mask == 0, float("-inf")).softmax(-1)
            outs.append(att @ v)
        a1 = torch.cat(outs, dim=-1) @ blk.attn_out.weight.T
        a1 = F.layer_norm(x + a1, (d,), blk.ln1.weight, blk.ln1.bias, 1e-5)
        a2 = torch.relu(a1 @ blk.mlp_in.weight.T) @ blk.mlp_out.weight.T
        x = F.layer_norm(a1 + a2, (d,), blk.ln2.weight, blk.ln2.bias, 1e-5)
    return x @ net.unembed.weight.T


def test_power_forward_equals_functional_post_ln_reference():
    """REFERENCES P1/§3.3: for a random input the model equals openai/grok's post-LN forward
    written out above, at both rhs positions ("=" predicts c, c predicts <eos>)."""
    p = POWER_P
    net = build_model(Transformer.power(), p, p, 0)
    xy, c = operands(p, 32)
    c = torch.randint(0, p, (32,), generator=torch.Generator().manual_seed(1))  # any c
    x_model = net.inputs(xy, c)
    with torch.no_grad():
        ref = grok_reference_forward(net, net.tokens(x_model))
        out = net(x_model)
    assert ref.shape == (32, 6, p + 3)
    assert torch.allclose(out, ref[:, 4:6], atol=1e-6, rtol=0)
    assert (out[:, 0] - ref[:, 4]).abs().max() < 1e-6
    assert (out[:, 1] - ref[:, 5]).abs().max() < 1e-6


def test_power_rhs_answer_is_causally_masked():
    """Teacher forcing is sound only if the logits at "=" cannot see c (openai/grok's
    `self_attn_mask`, a tril, :307): changing c leaves them equal and moves those at c."""
    p = POWER_P
    net = build_model(Transformer.power(), p, p, 0)
    xy, c = operands(p, 16)
    with torch.no_grad():
        a = net(net.inputs(xy, c))
        b = net(net.inputs(xy, (c + 1) % p))
    assert torch.equal(a[:, 0], b[:, 0])
    assert not torch.allclose(a[:, 1], b[:, 1])


# -- both: the engine's calling convention -------------------------------------------------


@pytest.mark.parametrize("preset", ["nanda", "power"])
def test_vmap_functional_call_equals_plain_forward(preset):
    """The engine runs one meta-device module over stacked parameters with
    `vmap(functional_call(...))`, buffers passed alongside; each row must equal its model."""
    p = 23
    cfg = (
        Transformer(d_model=32, n_heads=4, d_mlp=64, embed_noise=0.1)
        if preset == "nanda"
        else Transformer.power(d_model=32, n_heads=4, d_mlp=128, embed_noise=0.1)
    )
    models = [build_model(cfg, p, p, s) for s in (0, 1)]
    xy, y = operands(p, 8)
    x = models[0].inputs(xy, y)
    noise = torch.randn((2, *models[0].noise_shape(8)), generator=torch.Generator().manual_seed(2))
    params = {
        n: torch.stack([dict(m.named_parameters())[n].detach() for m in models])
        for n, _ in models[0].named_parameters()
    }
    buffers = dict(models[0].named_buffers())
    assert (preset == "power") == ("pos_table" in buffers)
    base = copy.deepcopy(models[0]).to("meta")

    def member(prm, noise):
        return functional_call(base, {**prm, **buffers}, (x,), {"noise": noise})

    out = vmap(member)(params, noise)
    with torch.no_grad():
        for k, m in enumerate(models):
            assert torch.allclose(out[k], m(x, noise=noise[k]), atol=1e-6)
            assert not torch.allclose(out[k], m(x), atol=1e-3)  # the noise is used
