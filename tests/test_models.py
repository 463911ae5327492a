"""Models: every kind builds from a seed, has the right shapes, and trains in the ensemble."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grokcore.config import (
    MLP,
    EmbedMLP,
    MnistTask,
    ModularTask,
    OneHotMLP,
    Optimizer,
    Recurrent,
    RunConfig,
    TeacherStudentTask,
    Transformer,
)
from grokcore.models import build_model, param_groups
from grokcore.models.transformer import Block
from grokcore.train import Ensemble

P = 11
TS = TeacherStudentTask(d_in=5, width=16, d_out=5, n_train=64, n_test=32)
TINY_TRANSFORMER = dict(d_model=32, n_heads=4, d_mlp=64)

# name -> (model config, task config, loss, learning rate)
CASES = {
    "transformer-nanda": (
        Transformer(**TINY_TRANSFORMER),
        ModularTask("x+y", P, 0.7),
        "ce",
        1e-2,
    ),
    "transformer-power": (
        Transformer.power(**TINY_TRANSFORMER),
        ModularTask("x+y", P, 0.7),
        "ce",
        1e-2,
    ),
    "embed-mlp": (EmbedMLP(d_embed=16, width=32), ModularTask("x+y", P, 0.7), "ce", 1e-2),
    "onehot-quadratic": (OneHotMLP(32, "quadratic"), ModularTask("x+y", P, 0.7), "ce", 1e-2),
    "onehot-relu": (OneHotMLP(32, "relu"), ModularTask("x+y", P, 0.7), "ce", 3e-2),
    "mlp-tanh-teacher": (MLP(hidden=(32, 32), act="tanh"), TS, "mse", 1e-2),
    "mlp-relu-teacher": (MLP(hidden=(32, 32), act="relu"), TS, "mse", 1e-2),
    "mlp-relu-mnist": (
        MLP(hidden=(32, 32), act="relu"),
        MnistTask(n_train=64, n_test=64),
        "ce",
        3e-3,
    ),
    "rnn": (Recurrent("rnn", 16, 32), ModularTask("x+y", P, 0.7), "ce", 1e-2),
    "lstm": (Recurrent("lstm", 16, 32), ModularTask("x+y", P, 0.7), "ce", 1e-2),
}


def sizes(task) -> tuple[int, int]:
    if isinstance(task, ModularTask):
        return task.p, task.p
    if isinstance(task, MnistTask):
        return 784, 10
    return task.d_in, task.d_out


def inputs(task, n: int = 9) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    if isinstance(task, ModularTask):
        return torch.randint(0, task.p, (n, 2), generator=g)
    return torch.randn(n, sizes(task)[0], generator=g)


def model_inputs(net: torch.nn.Module, task) -> torch.Tensor:
    """`inputs(task)` in the model's own layout (the Power transformer also reads the answer)."""
    x = inputs(task)
    if not hasattr(net, "inputs"):
        return x
    return net.inputs(x, (x[:, 0] + x[:, 1]) % task.p)


def out_shape(model, task, n: int = 9) -> tuple[int, ...]:
    """Transformers give logits over their whole vocabulary, Power ones at two positions."""
    if isinstance(model, Transformer):
        if model.tokens == "power":
            return (n, 2, task.p + 3)
        return (n, task.p + 1)
    return (n, sizes(task)[1])


def state(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


@pytest.mark.parametrize("model, task, loss, lr", CASES.values(), ids=CASES.keys())
def test_builds_with_right_output_shape(model, task, loss, lr):
    n_in, n_out = sizes(task)
    net = build_model(model, n_in, n_out, seed=0)
    out = net(model_inputs(net, task))
    assert out.shape == out_shape(model, task)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()


@pytest.mark.parametrize("model, task, loss, lr", CASES.values(), ids=CASES.keys())
def test_init_is_a_function_of_the_seed(model, task, loss, lr):
    n_in, n_out = sizes(task)
    rng = torch.get_rng_state()
    a, b, c = (build_model(model, n_in, n_out, seed=s) for s in (5, 5, 6))
    assert torch.equal(rng, torch.get_rng_state())  # the global RNG is left alone
    assert all(torch.equal(u, v) for u, v in zip(state(a), state(b), strict=True))
    # every weight matrix is redrawn (LayerNorm's ones and zeros are seed-free)
    assert all(
        not torch.equal(u, v)
        for u, v in zip(state(a), state(c), strict=True)
        if u.dim() > 1 or u.std() > 0
    )
    x = model_inputs(a, task)
    assert torch.equal(a(x), b(x))
    assert not torch.allclose(a(x), c(x))


@pytest.mark.parametrize("model, task, loss, lr", CASES.values(), ids=CASES.keys())
def test_trains_in_an_ensemble(model, task, loss, lr):
    cfgs = [
        RunConfig(task, model, Optimizer(lr=lr), steps=30, loss=loss, seed=s, eval_points=5)
        for s in (0, 1)
    ]
    for h in Ensemble(cfgs).train():
        assert np.isfinite(h.batch_loss).all()
        assert h.batch_loss[-5:].mean() < 0.8 * h.batch_loss[:5].mean()
        assert h.train_loss[-1] < h.train_loss[0]


def test_mnist_mlp_takes_images():
    net = build_model(MLP(hidden=(32,), act="relu"), 784, 10, seed=0)
    images = torch.rand(4, 28, 28)  # flattened by the model
    assert torch.equal(net(images), net(images.reshape(4, 784)))


# -- the transformer -----------------------------------------------------------------


def test_transformer_token_layouts():
    xy = torch.tensor([[3, 4], [0, 10]])
    c = torch.tensor([7, 10])
    nanda = build_model(Transformer(**TINY_TRANSFORMER), P, P, 0)
    power = build_model(Transformer.power(**TINY_TRANSFORMER), P, P, 0)
    # Nanda: "=" is token p; Power: op p, "=" p+1, <eos> p+2, teacher-forced on c
    assert nanda.tokens(xy).tolist() == [[3, 4, P], [0, 10, P]]
    op, eq, eos = P, P + 1, P + 2
    assert power.tokens(power.inputs(xy, c)).tolist() == [
        [eos, 3, op, 4, eq, 7],
        [eos, 0, op, 10, eq, 10],
    ]


def test_power_preset():
    cfg = Transformer.power(d_model=32, n_heads=4)
    assert (cfg.n_layers, cfg.layer_norm, cfg.tokens) == (2, "post", "power")
    assert (cfg.bias, cfg.positions, cfg.init) == (False, "sinusoidal", "torch")
    assert Transformer.power(n_layers=3).n_layers == 3  # presets can be overridden


@pytest.mark.parametrize("preset", ["nanda", "power"])
def test_transformer_param_groups(preset):
    cfg = (
        Transformer(**TINY_TRANSFORMER)
        if preset == "nanda"
        else Transformer.power(**TINY_TRANSFORMER)
    )
    net = build_model(cfg, P, P, 0)
    groups = param_groups(net)
    names = [n for n, _ in net.named_parameters()]
    assert groups["attn_qkv"] == [f"blocks.{i}.qkv.weight" for i in range(cfg.n_layers)]
    assert {"embed", "blocks", "unembed"} <= set(groups)
    assert ("pos" in groups) == (preset == "nanda")  # Power positions are a buffer
    # the top-level groups partition the parameters; attn_qkv is an extra view
    top = [n for g, ns in groups.items() if g != "attn_qkv" for n in ns]
    assert sorted(top) == sorted(names)


def test_non_transformers_have_no_attention_group():
    for model, task, _, _ in CASES.values():
        if not isinstance(model, Transformer):
            assert "attn_qkv" not in param_groups(build_model(model, *sizes(task), 0))


def test_attention_block_matches_torch_causal_attention():
    cfg = Transformer(**TINY_TRANSFORMER)
    torch.manual_seed(0)
    block = Block(cfg)
    h = torch.randn(5, 3, 32)
    b, t, d = h.shape
    q, k, v = (z.view(b, t, 4, 8).transpose(1, 2) for z in block.qkv(h).split(d, dim=-1))
    att = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    mid = h + block.attn_out(att.transpose(1, 2).reshape(b, t, d))
    expected = mid + block.mlp_out(torch.relu(block.mlp_in(mid)))
    assert torch.allclose(block(h), expected, atol=1e-5)


def test_embed_noise_is_an_explicit_input():
    """The trainer passes seeded noise in (training only); without it the forward is clean."""
    net = build_model(Transformer(embed_noise=0.5, **TINY_TRANSFORMER), P, P, 0)
    x = inputs(ModularTask("x+y", P, 0.5))
    assert torch.equal(net(x), net(x))
    shape = net.noise_shape(len(x))
    assert shape == (len(x), 3, TINY_TRANSFORMER["d_model"])
    noise = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(net(x, noise=noise), net(x))
    assert build_model(Transformer(**TINY_TRANSFORMER), P, P, 0).noise_shape(4) is None


# -- MLPs and recurrent nets against their textbook forms ----------------------------


@pytest.mark.parametrize("act", ["quadratic", "relu"])
def test_onehot_mlp_equals_explicit_one_hot_product(act):
    net = build_model(OneHotMLP(16, act), P, P, 0)
    xy = inputs(ModularTask("x+y", P, 0.5))
    onehot = torch.cat([F.one_hot(xy[:, 0], P), F.one_hot(xy[:, 1], P)], dim=1).float()
    w = torch.cat([net.wx.weight, net.wy.weight], dim=0)  # (2p, width)
    h = onehot @ w
    h = h * h if act == "quadratic" else torch.relu(h)
    assert torch.allclose(net(xy), h @ net.out.weight.T, atol=1e-5)


def test_embed_mlp_layers():
    net = build_model(EmbedMLP(d_embed=8, width=16, depth=3), P, P, 0)
    linears = [m for m in net.mlp if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(16, 16), (16, 16), (16, 16)]
    assert net.unembed.out_features == P


def test_vector_mlp_layers():
    net = build_model(MLP(hidden=(100, 100), act="tanh"), 5, 5, 0)
    linears = [m for m in net.net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(5, 100), (100, 100), (100, 5)]
    assert sum(isinstance(m, torch.nn.Tanh) for m in net.net) == 2  # none after the output


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_recurrent_equals_torch_cell(cell):
    net = build_model(Recurrent(cell, 8, 16), P, P, 0)
    ref = torch.nn.LSTMCell(8, 16) if cell == "lstm" else torch.nn.RNNCell(8, 16)
    with torch.no_grad():
        ref.weight_ih.copy_(net.ih.weight)
        ref.weight_hh.copy_(net.hh.weight)
        ref.bias_ih.copy_(net.ih.bias)
        ref.bias_hh.copy_(net.hh.bias)
    xy = inputs(ModularTask("x+y", P, 0.5))
    seq = torch.stack(
        [xy[:, 0], torch.full_like(xy[:, 0], P), xy[:, 1], torch.full_like(xy[:, 0], P + 1)], 1
    )
    e = net.embed(seq)
    h = torch.zeros(len(xy), 16)
    c = torch.zeros(len(xy), 16)
    for t in range(4):
        if cell == "lstm":
            h, c = ref(e[:, t], (h, c))
        else:
            h = ref(e[:, t], h)
    assert torch.allclose(net(xy), net.out(h), atol=1e-5)


def test_default_init_scale_of_transformer_positions():
    # positions are drawn N(0, 1/d_model), like the other PyTorch default inits' scale
    net = build_model(Transformer(d_model=128, n_heads=4, d_mlp=32), 97, 97, 0)
    assert net.pos.shape == (3, 128)
    assert math.isclose(float(net.pos.detach().std()), 128**-0.5, rel_tol=0.2)
