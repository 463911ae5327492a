"""The batched ensemble: each member equals the plain single run of its config.

`train_reference` is the textbook loop (one nn.Module, one torch.optim optimizer);
`Ensemble` trains K members as one vmapped tensor program. Float32 round-off
differs between the two, and training amplifies it, so exact agreement is
checked on the early batch losses and on curves of short runs.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as hs

from grokcore.config import (
    MLP,
    EmbedMLP,
    ModularTask,
    OneHotMLP,
    Optimizer,
    Recurrent,
    RunConfig,
    TeacherStudentTask,
    Transformer,
)
from grokcore.data import TaskData, build_data
from grokcore.history import History
from grokcore.metrics import t_test, t_train
from grokcore.runs import run
from grokcore.train import Ensemble, train_reference
from grokcore.train.engine import _Split
from grokcore.train.objective import (
    BatchSampler,
    per_sample_correct,
    per_sample_loss,
)
from grokcore.train.optim import (
    EnsembleOptimizer,
    OptimizerState,
    Schedule,
    fused_adam_available,
)

TAUS = (0.1, 0.5, 0.95)


def assert_same_run(h: History, r: History, label: str = "") -> None:
    """Batched member `h` equals reference run `r`: losses, accuracy curves, timings, norms."""
    msg = f"member {label}"
    np.testing.assert_allclose(h.batch_loss[:20], r.batch_loss[:20], rtol=1e-5, err_msg=msg)
    np.testing.assert_array_equal(h.steps, r.steps, err_msg=msg)
    np.testing.assert_allclose(h.train_acc, r.train_acc, atol=1e-6, err_msg=msg)
    np.testing.assert_allclose(h.test_acc, r.test_acc, atol=1e-6, err_msg=msg)
    np.testing.assert_allclose(h.train_loss, r.train_loss, rtol=1e-3, atol=1e-6, err_msg=msg)
    np.testing.assert_allclose(h.test_loss, r.test_loss, rtol=1e-3, atol=1e-6, err_msg=msg)
    for tau in TAUS:
        assert t_train(h, tau) == t_train(r, tau), (msg, tau)
        assert t_test(h, tau) == t_test(r, tau), (msg, tau)
    np.testing.assert_allclose(h.norm, r.norm, rtol=1e-5, err_msg=msg)
    assert h.group_norms.keys() == r.group_norms.keys()
    for g in h.group_norms:
        np.testing.assert_allclose(h.group_norms[g], r.group_norms[g], rtol=1e-5, err_msg=msg)
    assert h.budget == r.budget and h.config == r.config
    assert len(h.batch_loss) == len(r.batch_loss) == h.budget


def assert_identical(a: History, b: History) -> None:
    for name in ("steps", "train_loss", "train_acc", "test_loss", "test_acc", "norm"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(a.batch_loss, b.batch_loss)
    for g in a.group_norms:
        np.testing.assert_array_equal(a.group_norms[g], b.group_norms[g])


def check_against_reference(cfgs: list[RunConfig]) -> list[History]:
    hists = Ensemble(cfgs).train()
    assert len(hists) == len(cfgs)
    for i, (h, c) in enumerate(zip(hists, cfgs, strict=True)):
        assert_same_run(h, train_reference(c), f"{i} seed={c.seed}")
    return hists


# -- ensembles covering every optimizer, loss and model family ------------------------

EMBED = EmbedMLP(d_embed=16, width=32)
MOD23 = ModularTask("x+y", 23, 0.8)
TINY_TRANSFORMER = Transformer(d_model=32, n_heads=4, d_mlp=64)
TS = TeacherStudentTask(d_in=5, width=32, d_out=5, n_train=50, n_test=50)


def embed_mlp_adamw() -> list[RunConfig]:
    """Different seeds, α and γ (AdamW, decoupled decay)."""
    return [
        RunConfig(MOD23, EMBED, Optimizer(lr=lr, weight_decay=g), steps=60, init_scale=a,
                  seed=s, eval_points=30)
        for s, a, g, lr in [(0, 1.0, 0.0, 1e-2), (1, 1.5, 1.0, 1e-2), (2, 0.7, 0.1, 3e-3)]
    ]  # fmt: skip


def transformer_schedules() -> list[RunConfig]:
    """A decay schedule, a constrained-norm member, and members with other split seeds."""
    opt = Optimizer(lr=1e-2, weight_decay=1.0)
    return [
        RunConfig(ModularTask("x+y", 23, f), TINY_TRANSFORMER, o, steps=40,
                  constrain_norm=cn, seed=s, eval_points=20)
        for s, f, o, cn in [
            (0, 0.8, opt, False),
            (1, 0.8, Optimizer(lr=1e-2, weight_decay=1.0, wd_on_at=20), False),
            (2, 0.8, opt, True),
            (3, 0.8, Optimizer(lr=1e-2, weight_decay=1.0, wd_on_at=10), False),
            (4, 0.8, opt, False),
        ]
    ]  # fmt: skip


def teacher_student_mse() -> list[RunConfig]:
    return [
        RunConfig(TS, MLP(hidden=(32, 32)), Optimizer(lr=1e-2, weight_decay=g), steps=80,
                  loss="mse", init_scale=a, seed=s, eval_points=30)
        for s, a, g in [(0, 1.0, 0.0), (1, 2.0, 0.1), (2, 0.5, 0.0)]
    ]  # fmt: skip


def lstm_minibatch_adam() -> list[RunConfig]:
    """Adam (L2 decay through the gradient) with seeded minibatches."""
    return [
        RunConfig(ModularTask("x+y", 11, 0.7), Recurrent("lstm", 16, 32),
                  Optimizer("adam", lr=2e-2, weight_decay=g), steps=60, batch_size=16,
                  seed=s, eval_points=20)
        for s, g in [(0, 0.0), (1, 1e-3), (2, 1e-2)]
    ]  # fmt: skip


def onehot_sgd_momentum_mse() -> list[RunConfig]:
    return [
        RunConfig(ModularTask("x*y", 13, 0.7), OneHotMLP(64, "quadratic"),
                  Optimizer("sgd", lr=0.05, momentum=0.9, weight_decay=g), steps=80,
                  loss="mse", seed=s, init_scale=a, eval_points=30)
        for s, g, a in [(0, 0.0, 1.0), (1, 1e-3, 1.0), (2, 1e-2, 0.8)]
    ]  # fmt: skip


def mixed_tables() -> list[RunConfig]:
    """One modulus, different operations and split seeds (x ÷ y's smaller table trains apart)."""
    return [
        RunConfig(ModularTask(op, 13, 0.6), EMBED, Optimizer(lr=1e-2), steps=40,
                  seed=s, data_seed=d, eval_points=20)
        for op, s, d in [("x+y", 0, None), ("x*y", 1, None), ("x^2+y^2", 2, 7), ("x+y", 3, 0)]
    ]  # fmt: skip


ENSEMBLES = {
    "embed-mlp-adamw": embed_mlp_adamw,
    "transformer-schedules": transformer_schedules,
    "teacher-student-mse": teacher_student_mse,
    "lstm-minibatch-adam": lstm_minibatch_adam,
    "onehot-sgd-momentum-mse": onehot_sgd_momentum_mse,
    "mixed-tables": mixed_tables,
}


@pytest.mark.parametrize("make", ENSEMBLES.values(), ids=ENSEMBLES.keys())
def test_member_equals_reference_run(make):
    hists = check_against_reference(make())
    # the runs learn something, so the curves compared above are not flat
    assert max(h.train_acc[-1] for h in hists) > 0.5


# Derandomized: a fixed, replayable set of draws. Round-off differences are amplified
# when a ReLU pre-activation sits within ~1e-7 of zero (Adam turns the resulting gradient
# difference into an O(lr) step): over 20 steps that hit ~1% of 640 random members,
# over 15 steps none of 400, so the horizon here is 15 steps.
@settings(max_examples=8, deadline=None, derandomize=True, database=None)
@given(
    seed=hs.integers(0, 10_000),
    alpha=hs.floats(0.5, 3.0),
    gamma=hs.floats(0.0, 2.0),
    lr=hs.floats(1e-3, 2e-2),
)
def test_member_equals_reference_run_property(seed, alpha, gamma, lr):
    cfg = RunConfig(ModularTask("x+y", 11, 0.6), EmbedMLP(d_embed=8, width=32),
                    Optimizer(lr=lr, weight_decay=gamma), steps=15, init_scale=alpha, seed=seed,
                    eval_points=10)  # fmt: skip
    partner = cfg.replace(seed=seed + 1, init_scale=1.0, optim=Optimizer(lr=1e-2))
    print(f"replay: seed={seed} alpha={alpha} gamma={gamma} lr={lr}")
    check_against_reference([cfg, partner])


def test_ensemble_of_one_equals_reference():
    (cfg,) = transformer_schedules()[:1]
    (h,) = Ensemble([cfg]).train()
    assert_same_run(h, train_reference(cfg))


# -- structure of the ensemble -------------------------------------------------------


def test_member_order_does_not_matter():
    cfgs = embed_mlp_adamw()
    forward = Ensemble(cfgs).train()
    order = [2, 0, 1]
    permuted = Ensemble([cfgs[i] for i in order]).train()
    for j, i in enumerate(order):
        np.testing.assert_allclose(permuted[j].batch_loss, forward[i].batch_loss, rtol=1e-5)
        np.testing.assert_allclose(permuted[j].norm, forward[i].norm, rtol=1e-5)
        np.testing.assert_array_equal(permuted[j].test_acc, forward[i].test_acc)
        np.testing.assert_array_equal(permuted[j].train_acc, forward[i].train_acc)
        assert permuted[j].config == forward[i].config


def test_training_twice_gives_identical_histories():
    cfgs = transformer_schedules()[:3]
    for a, b in zip(Ensemble(cfgs).train(), Ensemble(cfgs).train(), strict=True):
        assert_identical(a, b)


def test_constrained_member_keeps_its_initial_norm():
    constrained = transformer_schedules()[2]
    assert constrained.constrain_norm
    free = constrained.replace(constrain_norm=False)
    h_con, h_free = Ensemble([constrained, free]).train()
    np.testing.assert_allclose(h_con.norm, h_con.norm[0], rtol=1e-4)
    assert h_con.norm[0] == h_free.norm[0]
    # without the constraint the same run's norm moves by several percent
    assert np.abs(h_free.norm / h_free.norm[0] - 1).max() > 0.03


def test_initial_norm_scales_with_alpha():
    base = RunConfig(MOD23, EMBED, steps=1, eval_points=2)
    h1, h3 = Ensemble([base, base.replace(init_scale=3.0)]).train()
    assert h3.norm[0] == pytest.approx(3 * h1.norm[0], rel=1e-6)
    for g in h1.group_norms:
        assert h3.group_norms[g][0] == pytest.approx(3 * h1.group_norms[g][0], rel=1e-6)


def test_decay_switched_on_at_t_matches_no_decay_until_t():
    t_on = 15
    base = RunConfig(MOD23, EMBED, Optimizer(lr=1e-2), steps=30, seed=0, eval_points=5)
    late = base.replace(optim=Optimizer(lr=1e-2, weight_decay=5.0, wd_on_at=t_on))
    free, switched = Ensemble([base, late]).train()
    # the loss of step t is computed before step t's update: equal through step t_on
    np.testing.assert_array_equal(switched.batch_loss[:t_on], free.batch_loss[:t_on])
    assert not np.allclose(switched.batch_loss[t_on + 1 :], free.batch_loss[t_on + 1 :])


def test_histories_are_on_the_eval_schedule():
    cfg = RunConfig(MOD23, EMBED, steps=50, eval_points=10, eval_every=25)
    (h,) = Ensemble([cfg]).train()
    from grokcore.config import eval_schedule

    assert h.steps.tolist() == eval_schedule(50, 10, 25)
    assert h.batch_loss.shape == (50,) and h.budget == 50
    assert set(h.group_norms) == {"embed", "mlp", "unembed"}


@pytest.mark.parametrize(
    "change",
    [
        dict(model=EmbedMLP(d_embed=16, width=64)),
        dict(steps=61),
        dict(loss="mse"),
        dict(batch_size=32),
        dict(optim=Optimizer("adam")),
        dict(optim=Optimizer(betas=(0.8, 0.99))),
        dict(task=ModularTask("x+y", 19, 0.8)),
        dict(eval_points=31),
    ],
    ids=["model", "steps", "loss", "batch_size", "optimizer", "betas", "modulus", "eval"],
)
def test_rejects_configs_with_different_ensemble_keys(change):
    base = embed_mlp_adamw()[0]
    with pytest.raises(ValueError, match="differ"):
        Ensemble([base, base.replace(**change)])


def test_rejects_empty_ensemble():
    with pytest.raises(ValueError, match="at least one"):
        Ensemble([])


def test_progress_callback_sees_every_evaluation():
    cfg = RunConfig(MOD23, EMBED, steps=20, eval_points=5)
    seen = []
    h, _ = Ensemble([cfg, cfg.replace(seed=1)]).train(
        progress=lambda step, steps, rec: seen.append((step, steps, rec["test_acc"].shape))
    )
    assert [s for s, _, _ in seen] == h.steps[1:].tolist()
    assert all(steps == 20 and shape == (2,) for _, steps, shape in seen)


# -- known bugs ----------------------------------------------------------------------


def test_minibatch_member_next_to_a_smaller_train_set():
    """Fixed: minibatched members of different train sizes get different ensemble keys."""
    cfgs = [
        RunConfig(ModularTask("x+y", 11, f), EMBED, Optimizer(lr=1e-2), steps=10,
                  batch_size=40, seed=s, eval_points=5)
        for s, f in [(0, 0.3), (1, 0.6)]  # 36 and 73 training pairs
    ]  # fmt: skip
    with pytest.raises(ValueError, match="differ"):
        Ensemble(cfgs)
    for h, c in zip(run(cfgs, use_cache=False, progress=False), cfgs, strict=True):
        np.testing.assert_allclose(h.batch_loss, train_reference(c).batch_loss, rtol=1e-5)


def test_teacher_student_members_keep_their_own_threshold():
    """Fixed: the threshold is part of the ensemble key, so run() never mixes thresholds."""
    tasks = [
        TeacherStudentTask(d_in=5, width=16, d_out=5, n_train=20, n_test=20, threshold=t)
        for t in (1.0, 1e-6)
    ]
    cfgs = [RunConfig(t, MLP(hidden=(16,)), steps=10, loss="mse", eval_points=5) for t in tasks]
    with pytest.raises(ValueError, match="differ"):
        Ensemble(cfgs)
    for h, c in zip(run(cfgs, use_cache=False, progress=False), cfgs, strict=True):
        np.testing.assert_array_equal(h.train_acc, train_reference(c).train_acc)


def test_embed_noise_runs_are_reproducible():
    cfg = RunConfig(ModularTask("x+y", 11, 0.5),
                    Transformer(d_model=16, n_heads=2, d_mlp=32, embed_noise=0.5),
                    steps=10, eval_points=5)  # fmt: skip
    np.testing.assert_array_equal(
        Ensemble([cfg]).train()[0].batch_loss, Ensemble([cfg]).train()[0].batch_loss
    )


def test_embed_noise_member_equals_single_run():
    """Noise comes from each run's own seeded generator, so batching does not change it."""
    cfgs = [
        RunConfig(ModularTask("x+y", 11, 0.5),
                  Transformer(d_model=16, n_heads=2, d_mlp=32, embed_noise=0.5),
                  steps=10, eval_points=5, seed=s)
        for s in (0, 1)
    ]  # fmt: skip
    hs = Ensemble(cfgs).train()
    assert not np.array_equal(hs[0].batch_loss, hs[1].batch_loss)
    for h, c in zip(hs, cfgs, strict=True):
        np.testing.assert_allclose(h.batch_loss, train_reference(c).batch_loss, rtol=1e-5)


# -- objective and batch order (shared by engine and reference) -----------------------


def _classes(n_out: int) -> TaskData:
    e = torch.zeros(0)
    return TaskData(e, e, e, e, "classification", n_out, n_out)


def test_per_sample_losses():
    g = torch.Generator().manual_seed(0)
    out = torch.randn(3, 8, 5, generator=g)
    y = torch.randint(0, 5, (8,), generator=g)
    data = _classes(5)
    ce = per_sample_loss(out, y, data, "ce")
    for k in range(3):
        assert torch.allclose(ce[k], F.cross_entropy(out[k], y, reduction="none"))
    mse = per_sample_loss(out, y, data, "mse")
    assert torch.allclose(mse, ((out - F.one_hot(y, 5)) ** 2).mean(-1))
    assert per_sample_correct(out, y, data).equal(out.argmax(-1) == y)
    reg = TaskData(*[torch.zeros(0)] * 4, "regression", 5, 5, threshold=0.5)
    target = torch.zeros(8, 5)
    assert torch.allclose(per_sample_loss(out, target, reg, "mse"), (out**2).mean(-1))
    assert per_sample_correct(out, target, reg).equal((out**2).mean(-1) < 0.5)


def test_members_of_other_split_sizes_are_never_padded_together():
    """Issue 21: padding a member to a longer split rounds its sums differently from the run
    alone, so the ensemble key keeps split sizes apart and a split refuses mixed sizes."""
    small = RunConfig(ModularTask("x+y", 23, 0.5), EMBED, steps=10)
    large = small.replace(task=ModularTask("x+y", 23, 0.7))
    assert small.ensemble_key() != large.ensemble_key()
    with pytest.raises(ValueError, match="differ"):
        Ensemble([small, large])
    xs = [torch.zeros(3, 2), torch.zeros(4, 2)]
    with pytest.raises(ValueError, match=r"differ in size \[3, 4\]"):
        _Split(xs, [torch.zeros(3), torch.zeros(4)], torch.device("cpu"))


def test_batch_sampler_epochs_without_replacement():
    s = BatchSampler(10, 3, seed=0)
    epoch = [s.next() for _ in range(3)]  # 9 of 10 samples; the last incomplete batch drops
    seen = torch.cat(epoch)
    assert len(set(seen.tolist())) == 9
    assert all(len(b) == 3 for b in epoch)
    again = BatchSampler(10, 3, seed=0)
    assert all(torch.equal(again.next(), b) for b in epoch)
    next_epoch = torch.cat([s.next() for _ in range(3)])
    assert len(set(next_epoch.tolist())) == 9
    assert not torch.equal(BatchSampler(10, 3, seed=1).next(), epoch[0]) or not torch.equal(
        BatchSampler(10, 3, seed=2).next(), epoch[0]
    )
    with pytest.raises(ValueError, match="batch_size=11"):
        BatchSampler(10, 11, seed=0)


def test_build_data_is_shared_by_members():
    # members with the same task and split seed share tensors (no padding, no copies)
    cfgs = [RunConfig(MOD23, EMBED, steps=1, seed=s, data_seed=0) for s in (0, 1)]
    e = Ensemble(cfgs)
    assert e.data[0] is e.data[1] is build_data(MOD23, 0)
    assert e.train_split.shared and e.test_split.shared


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_second_moment_floor_leaves_the_update_bit_for_bit(name):
    """The floor under Adam's √v (a CPU speed fix: √0 is slow on x86) changes no update:
    zeros, subnormals, the smallest normal and ordinary values of v give identical steps."""
    cfgs = [c.replace(optim=dataclasses.replace(c.optim, name=name)) for c in embed_mlp_adamw()]
    ens = Ensemble(cfgs)
    tiny = torch.finfo(torch.float32).tiny
    assert ens.optim.v_floor == tiny
    gen = torch.Generator().manual_seed(0)
    k, p = ens.flat.shape
    special = torch.tensor([0.0, tiny / 4, tiny / 2, tiny, 2 * tiny, 1e-30, 1e-12])
    v = torch.rand(k, p, generator=gen)
    v.view(-1)[: 7 * 50] = special.repeat(50)
    g = torch.randn(k, p, generator=gen)
    g.view(-1)[: 7 * 50] = 0.0
    m = torch.randn(k, p, generator=gen)  # nonzero where v is special: any change shows
    start = ens.flat.clone()
    results = []
    for floor in (tiny, None):
        ens.flat, ens.optim.v_floor = start.clone(), floor
        ens.optim.state = OptimizerState(m=m.clone(), v=v.clone(), denom=torch.zeros(k, p))
        sched = Schedule(
            keep=torch.full((k, 1), 0.999),
            weight_decay=torch.full((k, 1), 0.1),
            lr=torch.full((k, 1), 1e-3),
            bc2=math.sqrt(1 - 0.999),
            step_size=torch.full((k, 1), 1e-3),
        )
        ens.optim.apply(ens.flat, g.clone(), sched)
        results.append(ens.flat - start)
    torch.testing.assert_close(results[0], results[1], rtol=0, atol=0)


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_fused_adam_step_equals_the_elementwise_step(name):
    """The eager step's fused kernel (CPU) and the elementwise update agree to rounding,
    members with different lr and γ included (one kernel call per lr)."""
    cfgs = [c.replace(optim=dataclasses.replace(c.optim, name=name)) for c in embed_mlp_adamw()]
    ens = Ensemble(cfgs)
    assert ens.optim.fused and len({c.optim.lr for c in cfgs}) > 1
    gen = torch.Generator().manual_seed(0)
    grads = [torch.randn(ens.flat.shape, generator=gen) for _ in range(5)]
    start = ens.flat.clone()
    results = []
    for fused in (True, False):
        ens.flat = start.clone()
        ens.optim = EnsembleOptimizer([c.optim for c in cfgs], ens.dtype, ens.device)
        ens.optim.fused = fused
        for step, g in enumerate(grads, 1):
            ens.optim.step(ens.flat, g.clone(), step)
        results.append(ens.flat.clone())
    assert (results[0] != start).all()
    # a few ulps of the weights (float32 eps 1.2e-7), not of the ~1e-2 steps themselves
    torch.testing.assert_close(results[0], results[1], rtol=1e-6, atol=1e-8)


def test_fused_adam_only_for_adam_on_cpu(monkeypatch):
    cfg = embed_mlp_adamw()[0]
    assert Ensemble([cfg]).optim.fused
    assert not Ensemble([cfg.replace(optim=Optimizer("sgd", lr=1e-2))]).optim.fused
    assert not fused_adam_available(cfg.optim, torch.device("cuda"))
    monkeypatch.setenv("GROKCORE_FUSED_ADAM", "0")  # the documented switch back
    assert not Ensemble([cfg]).optim.fused


def test_no_second_moment_floor_where_it_could_change_a_step():
    cfg = embed_mlp_adamw()[0]
    tiny_eps = cfg.replace(optim=dataclasses.replace(cfg.optim, eps=1e-30))
    assert Ensemble([tiny_eps]).optim.v_floor is None
    sgd = cfg.replace(optim=Optimizer("sgd", lr=1e-2))
    assert Ensemble([sgd]).optim.v_floor is None
