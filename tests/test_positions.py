"""The transformers compute only the positions the loss reads (issue 23, item 4).

`TransformerNet.full = True` is the computation before: the last block at every position,
the read logits sliced afterwards. The reduced forward must be the same function: the same
logits at the read positions and the same gradient of every parameter, in float64, for a
plain module and for the engine's `vmap(functional_call(...))` over members; and its cost
must be what `grokcore.estimate` counts.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch.func import functional_call, grad, vmap
from torch.utils.flop_counter import FlopCounterMode

from grokcore import estimate
from grokcore.config import ModularTask, RunConfig, Transformer
from grokcore.models import build_model, param_groups

# name -> (model config, p): Nanda and Power at three sizes each, and a pre-LN stack
# (final LN, LN before each sublayer) so every branch of Block.forward is pinned
CASES = {
    "nanda-32": (Transformer(d_model=32, n_heads=4, d_mlp=64), 11),
    "nanda-48-noise": (Transformer(d_model=48, n_heads=2, d_mlp=96, embed_noise=0.1), 13),
    "power-32": (Transformer.power(d_model=32, n_heads=4, d_mlp=128), 11),
    "power-48-3layers": (Transformer.power(d_model=48, n_heads=4, d_mlp=64, n_layers=3), 13),
    "nanda-paper": (Transformer(), 113),  # d_model 128, p = 113 (omnigrok §5, Nanda et al.)
    "power-paper": (Transformer.power(), 97),  # openai/grok's model at p = 97 (arn, li-sakib)
    "pre-ln-2layers": (
        Transformer(d_model=32, n_heads=4, d_mlp=64, n_layers=2, layer_norm="pre"),
        11,
    ),
}
IDS = list(CASES)


def make(name: str, seed: int = 0, batch: int = 9):
    """A float64 model, its inputs, embedding noise (or None) and a random cotangent that
    weights every read logit, so the gradient pins the whole Jacobian at those logits."""
    cfg, p = CASES[name]
    net = build_model(cfg, p, p, seed).double()
    g = torch.Generator().manual_seed(seed + 100)
    xy = torch.randint(0, p, (batch, 2), generator=g)
    x = net.inputs(xy, (xy[:, 0] + xy[:, 1]) % p)
    shape = net.noise_shape(batch)
    noise = None if shape is None else torch.randn(shape, generator=g, dtype=torch.float64)
    with torch.no_grad():
        out_shape = net(x).shape
    weights = torch.randn(out_shape, generator=g, dtype=torch.float64)
    return net, x, noise, weights


def logits_and_grads(net, x, noise, weights, full: bool):
    net.full = full
    net.zero_grad()
    out = net(x, noise)
    (out * weights).sum().backward()
    net.full = False
    return out.detach(), {n: q.grad.clone() for n, q in net.named_parameters()}


@pytest.mark.parametrize("name", IDS)
def test_reduced_forward_equals_the_full_one_with_every_gradient(name):
    net, x, noise, weights = make(name)
    out, grads = logits_and_grads(net, x, noise, weights, full=False)
    ref, ref_grads = logits_and_grads(net, x, noise, weights, full=True)
    assert out.shape == ref.shape == weights.shape
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    assert grads.keys() == ref_grads.keys() == dict(net.named_parameters()).keys()
    for n in grads:
        assert ref_grads[n].abs().sum() > 0, n  # every parameter is reached
        torch.testing.assert_close(grads[n], ref_grads[n], rtol=1e-10, atol=1e-12, msg=n)


@pytest.mark.parametrize("name", IDS)
def test_reduced_forward_under_vmap_equals_the_full_one(name):
    """The engine's calling convention: members stacked, a meta module, buffers alongside."""
    models = [make(name, seed=s)[0] for s in (0, 1, 2)]
    _, x, _, weights = make(name)
    names = [n for n, _ in models[0].named_parameters()]
    params = {
        n: torch.stack([dict(m.named_parameters())[n].detach() for m in models]) for n in names
    }
    buffers = {n: b.double() for n, b in models[0].named_buffers()}
    base = copy.deepcopy(models[0]).to("meta")

    def run(full: bool):
        base.full = full

        def loss(prm):
            out = functional_call(base, {**prm, **buffers}, (x,))
            return (out * weights).sum(), out

        return vmap(grad(loss, has_aux=True))(params)

    g, out = run(False)
    g_ref, out_ref = run(True)
    torch.testing.assert_close(out, out_ref, rtol=1e-12, atol=1e-12)
    for n in names:
        torch.testing.assert_close(g[n], g_ref[n], rtol=1e-10, atol=1e-12, msg=n)


@pytest.mark.parametrize("name", ["nanda-32", "power-32"])
def test_parameters_and_groups_do_not_depend_on_the_read_positions(name):
    """One parameter set either way: qkv stays one matrix (LS-ATTN's Q/K/V norm group)."""
    net = make(name)[0]
    before = (param_groups(net), {n: q.shape for n, q in net.named_parameters()})
    net.full = True
    assert (param_groups(net), {n: q.shape for n, q in net.named_parameters()}) == before
    assert "full" not in net.state_dict()


@pytest.mark.parametrize("name", IDS)
def test_the_estimate_counts_the_flops_the_forward_runs(name):
    """`estimate.forward_flops` against torch's FLOP counter, reduced and full: equal but for
    biases and LayerNorms, two FLOPs a parameter like the weights (< 3% at these widths)."""
    cfg, p = CASES[name]
    run = RunConfig(task=ModularTask("x+y", p, 0.5), model=cfg)
    net, x, _, _ = make(name, batch=16)
    measured = {}
    for full in (False, True):
        net.full = full
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            net(x)
        measured[full] = counter.get_total_flops() / 16
        assert estimate.forward_flops(run, full) == pytest.approx(measured[full], rel=3e-2)
    net.full = False
    assert measured[False] < measured[True]
