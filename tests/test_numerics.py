"""Numerics options of issue 24 (BX-SC, BX-SLING): StableMax cross-entropy and the loss in
float64, each pinned against a hand computation, in the key only when used."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from grokcore.config import EmbedMLP, ModularTask, Optimizer, RunConfig
from grokcore.data import build_data
from grokcore.train import Ensemble, train_reference
from grokcore.train.objective import per_sample_loss, stablemax_log_probs
from grokcore.train.optim import EnsembleOptimizer

EMBED = EmbedMLP(d_embed=16, width=32)
MOD23 = ModularTask("x+y", 23, 0.8)


def _cfg(**kw) -> RunConfig:
    kw.setdefault("optim", Optimizer(lr=1e-2))
    return RunConfig(MOD23, EMBED, steps=30, eval_points=10, **kw)


def test_stablemax_matches_hand_computation():
    # logits (2, -1, 0): s = (3, 1/2, 1), sum 4.5, p = (2/3, 1/9, 2/9)
    x = torch.tensor([[2.0, -1.0, 0.0]], dtype=torch.float64)
    logp = stablemax_log_probs(x)
    np.testing.assert_allclose(logp.exp().numpy(), [[2 / 3, 1 / 9, 2 / 9]], rtol=1e-12)
    data = build_data(MOD23, 0)
    out = x.view(1, 1, 3)
    loss = per_sample_loss(out, torch.tensor([1]), data, "stablemax")
    assert loss.item() == pytest.approx(math.log(9), rel=1e-12)


def test_stablemax_loss_has_no_float32_underflow_where_softmax_does():
    # softmax's float32 loss on a confident correct logit is exactly 0; StableMax's is not
    out = torch.tensor([[[40.0, 0.0, 0.0]]])
    data = build_data(MOD23, 0)
    y = torch.tensor([0])
    assert per_sample_loss(out, y, data, "ce").item() == 0.0
    # StableMax: p = 41 / 43, loss = log(43/41) ≈ 0.0476
    assert per_sample_loss(out, y, data, "stablemax").item() == pytest.approx(
        math.log(43 / 41), rel=1e-6
    )


def test_float64_loss_matches_hand_computation_float32_does_not():
    # logits (20, 0): CE = log(1 + e^-20) ≈ 2.061e-9, below float32's resolution near 1
    out = torch.tensor([[[20.0, 0.0]]])
    data = build_data(MOD23, 0)
    y = torch.tensor([0])
    f32 = per_sample_loss(out, y, data, "ce")
    f64 = per_sample_loss(out, y, data, "ce", "float64")
    assert f32.dtype == torch.float32 and f64.dtype == torch.float64
    assert f64.item() == pytest.approx(math.log1p(math.exp(-20)), rel=1e-9)
    assert f32.item() != pytest.approx(f64.item(), rel=1e-3)  # float32 loses it


def test_defaults_leave_key_unchanged_options_change_it():
    base = _cfg()
    assert "loss_dtype" not in base.to_dict() or base.to_dict()["loss_dtype"] == "float32"
    assert base.key() == _cfg(loss_dtype="float32").key()
    assert base.key() != _cfg(loss_dtype="float64").key()
    assert base.key() != _cfg(loss="stablemax").key()
    assert base.ensemble_key() != _cfg(loss_dtype="float64").ensemble_key()


def test_rejects_unknown_loss_dtype():
    with pytest.raises(ValueError, match="loss_dtype"):
        _cfg(loss_dtype="float16")


@pytest.mark.parametrize("loss,loss_dtype", [("stablemax", "float32"), ("ce", "float64")])
def test_eager_static_and_reference_agree(loss, loss_dtype):
    cfg = _cfg(loss=loss, loss_dtype=loss_dtype)
    (eager,) = Ensemble([cfg], step="eager").train()
    (static,) = Ensemble([cfg], step="static").train()
    ref = train_reference(cfg)
    np.testing.assert_allclose(eager.batch_loss, static.batch_loss, rtol=1e-6)
    np.testing.assert_allclose(eager.batch_loss[:10], ref.batch_loss[:10], rtol=1e-5)
    np.testing.assert_allclose(eager.train_loss, static.train_loss, rtol=1e-6)
    # the evaluation uses the same loss: at step 0 it is the loss of the initial model
    assert eager.train_loss[0] == pytest.approx(ref.train_loss[0], rel=1e-5)
    (plain,) = Ensemble([_cfg()], step="eager").train()
    if loss == "stablemax":  # a different loss (close to CE near 0 logits: s(x) ≈ 1 + x)
        assert eager.batch_loss[0] != pytest.approx(plain.batch_loss[0], rel=1e-4)
    else:  # the same loss at another precision: equal to float32 round-off at the start
        assert eager.batch_loss[0] == pytest.approx(plain.batch_loss[0], rel=1e-5)


# -- ⊥Grad and Grokfast: optimizer options, per member -------------------------------


def _opt(optims: list[Optimizer], sizes: list[int]) -> EnsembleOptimizer:
    return EnsembleOptimizer(optims, torch.float64, torch.device("cpu"), sizes)


def test_orthograd_matches_hand_computation_per_tensor():
    # tensor 1: w = (1, 0), g = (1, 1): g⊥ = (0, 1), rescaled to |g| = √2 -> (0, √2)
    # tensor 2: w = (3, 4), g = (4, -3) is already orthogonal to w: unchanged
    flat = torch.tensor([[1.0, 0.0, 3.0, 4.0]] * 2, dtype=torch.float64)
    g = torch.tensor([[1.0, 1.0, 4.0, -3.0]] * 2, dtype=torch.float64)
    opt = _opt([Optimizer(orthograd=True), Optimizer()], [2, 2])
    opt.filter_grad(flat, g)
    np.testing.assert_allclose(g[0].numpy(), [0.0, math.sqrt(2), 4.0, -3.0], atol=1e-15)
    np.testing.assert_array_equal(g[1].numpy(), [1.0, 1.0, 4.0, -3.0])  # member 2: off
    # as one tensor instead, w = (1, 0, 3, 4) (|w|² 26), w·g = 1: another answer
    g1 = torch.tensor([[1.0, 1.0, 4.0, -3.0]], dtype=torch.float64)
    _opt([Optimizer(orthograd=True)], [4]).filter_grad(flat[:1], g1)
    orth = np.array([1, 1, 4, -3]) - np.array([1, 0, 3, 4]) / 26
    np.testing.assert_allclose(g1[0].numpy(), orth * math.sqrt(27) / np.linalg.norm(orth))


def test_grokfast_matches_hand_computation():
    # α = 0.5, λ = 2: step 1 ema = g1 = 2, g -> 2 + 2·2 = 6;
    # step 2 g2 = 4: ema = 0.5·2 + 0.5·4 = 3, g -> 4 + 2·3 = 10
    opt = _opt([Optimizer(grokfast=(0.5, 2.0)), Optimizer()], [1])
    flat = torch.ones(2, 1, dtype=torch.float64)
    g = torch.full((2, 1), 2.0, dtype=torch.float64)
    opt.filter_grad(flat, g)
    assert g[:, 0].tolist() == [6.0, 2.0]
    g = torch.full((2, 1), 4.0, dtype=torch.float64)
    opt.filter_grad(flat, g)
    assert g[:, 0].tolist() == [10.0, 4.0]


def test_optimizer_options_in_key_only_when_on():
    base = _cfg()
    assert "orthograd" not in str(base.to_dict()) and "grokfast" not in str(base.to_dict())
    assert base.key() == _cfg(optim=Optimizer(lr=1e-2, orthograd=False)).key()
    for o in (Optimizer(lr=1e-2, orthograd=True), Optimizer(lr=1e-2, grokfast=(0.98, 2.0))):
        assert _cfg(optim=o).key() != base.key()
        assert _cfg(optim=o).ensemble_key() == base.ensemble_key()  # they train together
    assert _cfg(optim=Optimizer(grokfast=[0.98, 2])).optim.grokfast == (0.98, 2.0)


@pytest.mark.parametrize("bad", [(1.0, 2.0), (0.5, -1.0), (0.5,), "x"])
def test_rejects_bad_grokfast(bad):
    with pytest.raises(ValueError, match="grokfast"):
        Optimizer(grokfast=bad)


FILTERED = [
    Optimizer(lr=1e-2, weight_decay=1.0, orthograd=True),
    Optimizer(lr=1e-2, weight_decay=0.1, grokfast=(0.9, 2.0)),
    Optimizer(lr=3e-3),
    Optimizer(lr=1e-2, grokfast=(0.8, 1.0), orthograd=True),
]


@pytest.mark.parametrize("mode", ["eager", "static"])
def test_filtered_members_equal_their_single_runs_bit_for_bit(mode):
    cfgs = [_cfg(optim=o, seed=i) for i, o in enumerate(FILTERED)]
    together = Ensemble(cfgs, step=mode).train()
    for cfg, h in zip(cfgs, together, strict=True):
        (alone,) = Ensemble([cfg], step=mode).train()
        np.testing.assert_array_equal(h.batch_loss, alone.batch_loss)
        np.testing.assert_array_equal(h.norm, alone.norm)
        np.testing.assert_array_equal(h.test_acc, alone.test_acc)


@pytest.mark.parametrize("o", FILTERED[:2] + FILTERED[3:])
def test_filtered_member_equals_reference(o):
    cfg = _cfg(optim=o)
    (h,) = Ensemble([cfg], step="eager").train()
    r = train_reference(cfg)
    np.testing.assert_allclose(h.batch_loss[:15], r.batch_loss[:15], rtol=1e-5)
    (plain,) = Ensemble([_cfg(optim=Optimizer(lr=o.lr, weight_decay=o.weight_decay))]).train()
    assert not np.allclose(h.batch_loss[2:10], plain.batch_loss[2:10], rtol=1e-4)  # it acts


# -- the share of samples whose float32 loss is exactly 0 (BX-SC) ---------------------


def test_zero_loss_share_counts_collapsed_samples():
    from grokcore.numerics import zero_loss_share
    from grokcore.train.engine import Ensemble as Ens

    cfg = _cfg(optim=Optimizer(lr=1e-2))
    ens = Ens([cfg])
    params = ens.flat[0].detach().cpu().numpy().copy()
    assert zero_loss_share(cfg, params) == 0.0  # at init no logit gap is near 104
    # scale all weights: the correct-class margins grow, and the float32 CE is exactly 0
    # only where the argmax is right, so the share is the train accuracy at most
    h = Ens([cfg.replace(steps=400, keep_params=True, optim=Optimizer(lr=3e-2))]).train()[0]
    assert h.final_params is not None
    big = h.final_params * 8.0  # 3 layers (embed, hidden, out): logits grow by far more
    share32 = zero_loss_share(cfg, big)
    assert 0.0 < share32 <= h.train_acc[-1] + 1e-9
    # a float64 zero is a float32 zero too (float64 resolves every margin float32 does)
    assert zero_loss_share(cfg, big, "float64") <= share32
    with pytest.raises(ValueError, match="parameters"):
        zero_loss_share(cfg, params[:-1])
    with pytest.raises(ValueError, match="dtype"):
        zero_loss_share(cfg, params, "float16")


# -- the zero-loss share over training (RunConfig.keep_zero_loss, History.zero_loss_share) --


def _hand_zero_share(cfg: RunConfig, flat: np.ndarray, dtype: torch.dtype) -> float:
    """The share by hand: the plain module at `flat`, torch's own per-sample cross-entropy on
    the training split in `dtype`, counting the losses that are exactly 0.0."""
    from grokcore.models import build_model

    data = build_data(cfg.task, cfg.split_seed)
    model = build_model(cfg.model, data.n_in, data.n_out, cfg.seed)
    at = 0
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.as_tensor(flat[at : at + p.numel()]).view_as(p))
            at += p.numel()
        logits = model(data.x_train).to(dtype)
        losses = torch.nn.functional.cross_entropy(logits, data.y_train, reduction="none")
    return float((losses == 0).double().mean())


def test_zero_loss_share_series_matches_hand_computation():
    # α = 20 on a 3-layer net: the logits are ~8,000× the default's, so every sample the init
    # already classifies right has a float32 CE of exactly 0 at step 0, and training adds more
    cfg = _cfg(init_scale=20.0, optim=Optimizer(lr=1e-3), keep_zero_loss=True, keep_params=True)
    (h,) = Ensemble([cfg]).train()
    assert len(h.zero_loss_share) == len(h.steps)
    init = Ensemble([cfg]).flat[0].numpy()
    start = _hand_zero_share(cfg, init, torch.float32)
    assert start > 0.0 and h.zero_loss_share[0] == start
    assert h.final_params is not None
    assert h.zero_loss_share[-1] == _hand_zero_share(cfg, h.final_params, torch.float32)
    # and equal to grokcore.numerics' measure on the final weights, in float32 and float64
    from grokcore.numerics import zero_loss_share

    assert h.zero_loss_share[-1] == zero_loss_share(cfg, h.final_params)
    (h64,) = Ensemble([cfg.replace(loss_dtype="float64")]).train()
    assert h64.final_params is not None
    assert h64.zero_loss_share[-1] == zero_loss_share(cfg, h64.final_params, "float64")
    # margins this large (> ~745) round to 0 even in float64: a float64 zero is a float32 zero
    assert h64.zero_loss_share[0] == _hand_zero_share(cfg, init, torch.float64) <= start


def test_zero_loss_share_changes_no_key_and_no_other_member():
    cfg = _cfg(init_scale=20.0, seed=1)
    asks = cfg.replace(keep_zero_loss=True)
    assert asks.key() == cfg.key() and asks.to_dict() == cfg.to_dict()
    assert asks.ensemble_key() == cfg.ensemble_key()
    a, b = Ensemble([cfg, asks.replace(seed=2)]).train()
    (alone,) = Ensemble([cfg]).train()
    assert len(a.zero_loss_share) == 0 and len(b.zero_loss_share) == len(b.steps)
    np.testing.assert_array_equal(a.batch_loss, alone.batch_loss)
    np.testing.assert_array_equal(a.train_loss, alone.train_loss)
    with pytest.raises(ValueError, match="keep_zero_loss"):
        cfg.replace(keep_zero_loss=1)


def test_zero_loss_share_is_stored_cut_and_required_from_the_cache(tmp_path):
    from grokcore.cache import RunCache
    from grokcore.history import History
    from grokcore.runs import load_cached, unique_by_key

    cfg = _cfg(init_scale=20.0, keep_zero_loss=True)
    (h,) = Ensemble([cfg]).train()
    back = History.from_bytes(h.to_bytes())
    np.testing.assert_array_equal(back.zero_loss_share, h.zero_loss_share)
    (plain,) = Ensemble([cfg.replace(keep_zero_loss=False)]).train()
    assert "zero_loss_share" not in np.load(__import__("io").BytesIO(plain.to_bytes())).files
    step = int(h.steps[4])
    np.testing.assert_array_equal(h.until(step, "test").zero_loss_share, h.zero_loss_share[:5])
    with pytest.raises(ValueError, match="zero_loss_share"):
        History(**{**_fields(h), "zero_loss_share": np.zeros(3)})
    cache = RunCache(tmp_path)
    cache.store(cfg.key(), plain)  # trained without the series: a request for it retrains
    assert load_cached(cache, cfg.key(), cfg) is None
    assert load_cached(cache, cfg.key(), cfg.replace(keep_zero_loss=False)) is not None
    merged = unique_by_key([cfg.replace(keep_zero_loss=False), cfg])
    assert merged[cfg.key()].keep_zero_loss


def _fields(h) -> dict:
    import dataclasses

    return {f.name: getattr(h, f.name) for f in dataclasses.fields(h)}
