"""Continued runs (config.Continuation): a child starts from its parent's final weights.

What is carried: weights always; the optimizer's moments and step count with
`optim_state="carried"`. What is not: minibatch order, embedding noise and augmentation
start from the child's own seed. So a carried child on all of its parent's data equals the
longer single run bit for bit at full batch (tested here, on the eager and the graph-ready
step); with minibatches it starts from the parent's exact weights and state, and only its
batch order differs (tested too)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grokcore.cache import RunCache, key_of
from grokcore.config import Continuation, EmbedMLP, ModularTask, Optimizer, RunConfig
from grokcore.data import build_data
from grokcore.plan import Plan, _ensembles
from grokcore.runs import RunStats, run, warm, waves, with_parents
from grokcore.spec import Scope
from grokcore.train import Ensemble
from grokcore.train.engine import _subset

CURVES = ("train_loss", "train_acc", "test_loss", "test_acc", "norm")


def base(steps: int = 60, seed: int = 0, **kw) -> RunConfig:
    """x+y mod 23 at 50/50, a small embedding MLP, evaluated every 10 steps."""
    return RunConfig(
        task=ModularTask("x+y", 23, 0.5),
        model=EmbedMLP(d_embed=8, width=32, depth=1),
        optim=kw.pop("optim", Optimizer("adamw", lr=3e-3, weight_decay=1.0, warmup_steps=5)),
        steps=steps,
        eval_points=2,
        eval_every=10,
        seed=seed,
        **kw,
    )


def child_of(parent: RunConfig, steps: int = 40, state="carried", subset=None, **kw):
    parent = parent.replace(keep_params=True, keep_optim=state == "carried")
    return parent.replace(
        steps=steps,
        start=Continuation(parent, state, subset),
        keep_params=kw.pop("keep_params", True),
        keep_optim=False,
        **kw,
    )


def assert_continues(parent, child, long) -> None:
    """parent then child is `long`: batch losses, final weights, and the evaluations."""
    np.testing.assert_array_equal(
        np.concatenate([parent.batch_loss, child.batch_loss]), long.batch_loss
    )
    np.testing.assert_array_equal(child.final_params, long.final_params)
    common = np.intersect1d(child.steps + parent.budget, long.steps)
    assert len(common) >= 4  # every 10 steps, in both
    for t in common:
        i, j = np.searchsorted(long.steps, t), np.searchsorted(child.steps, t - parent.budget)
        for name in CURVES:
            assert getattr(child, name)[j] == getattr(long, name)[i], (name, t)


OPTIMS = {
    "adamw": Optimizer("adamw", lr=3e-3, weight_decay=1.0, warmup_steps=5),
    "sgd": Optimizer("sgd", lr=0.1, momentum=0.9, weight_decay=1e-3),
    # decay switched on inside the child's part, and Grokfast's EMA carried with the moments
    "grokfast": Optimizer("adamw", lr=3e-3, weight_decay=1.0, wd_on_at=75, grokfast=(0.9, 1.0)),
}
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="the CUDA graph needs a GPU")


@pytest.mark.parametrize("step", ["eager", "static", pytest.param("graph", marks=CUDA)])
@pytest.mark.parametrize("optim", list(OPTIMS))
def test_carried_child_on_the_same_data_is_the_longer_run_bit_for_bit(step, optim):
    cfg = base(optim=OPTIMS[optim])
    child = child_of(cfg, steps=40)
    dev = "cuda" if step == "graph" else "cpu"
    (parent,) = Ensemble([child.start.parent], dev, step=step).train()
    (h,) = Ensemble([child], dev, step=step, starts=[parent]).train()
    (long,) = Ensemble([cfg.replace(steps=100, keep_params=True)], dev, step=step).train()
    assert int(parent.final_optim["step"][0]) == 60 and child.step_offset == 60
    assert_continues(parent, h, long)


def test_a_fresh_state_starts_again_and_differs_from_the_longer_run():
    cfg = base()
    child = child_of(cfg, state="fresh")
    (parent,) = Ensemble([child.start.parent]).train()
    (h,) = Ensemble([child], starts=[parent]).train()
    (long,) = Ensemble([cfg.replace(steps=100, keep_params=True)]).train()
    assert child.step_offset == 0
    # it starts where the parent ended (the first evaluation is the parent's last) ...
    for name in CURVES:
        assert getattr(h, name)[0] == getattr(parent, name)[-1], name
    # ... and its warm-up (lr 0 at its first step) and zero moments make it another run
    assert h.batch_loss[0] == long.batch_loss[60]
    assert not np.array_equal(h.final_params, long.final_params)


def test_minibatch_child_starts_from_the_parents_state_only_its_batches_are_new():
    """Batch order is not carried: a carried minibatch child is the longer run at its first
    evaluation (the parent's weights) and has the parent's optimizer state, but draws its
    batches from its own seed, so it is not the longer run after."""
    cfg = base(batch_size=32)
    child = child_of(cfg)
    (parent,) = Ensemble([child.start.parent]).train()
    ens = Ensemble([child], starts=[parent])
    np.testing.assert_array_equal(ens.optim.state.m[0].numpy(), parent.final_optim["m"])
    np.testing.assert_array_equal(ens.flat[0].numpy(), parent.final_params)
    (h,) = ens.train()
    (long,) = Ensemble([cfg.replace(steps=100, keep_params=True)]).train()
    for name in CURVES:
        assert getattr(h, name)[0] == getattr(parent, name)[-1], name
    assert not np.array_equal(h.final_params, long.final_params)


def test_subset_is_seeded_in_split_order_and_the_test_split_is_the_parents():
    cfg = base()
    full = build_data(cfg.task, cfg.split_seed)
    d = _subset(full, child_of(cfg, state="fresh", subset=100))
    assert len(d.y_train) == 100
    rows = full.x_train.tolist()
    idx = [rows.index(r) for r in d.x_train.tolist()]
    assert idx == sorted(idx) and len(set(idx)) == 100  # the split's rows, in its order
    np.testing.assert_array_equal(d.x_test, full.x_test)
    again = _subset(full, child_of(cfg, state="fresh", subset=100))
    np.testing.assert_array_equal(again.x_train, d.x_train)
    other = _subset(full, child_of(cfg, state="fresh", subset=100, seed=1, data_seed=0))
    assert not np.array_equal(other.x_train, d.x_train)
    assert _subset(full, child_of(cfg, state="fresh")) is full  # D' = D: the split itself


def test_the_key_changes_with_the_parent_the_subset_and_the_state():
    cfg = base()
    child = child_of(cfg, state="fresh", subset=100)
    keys = {
        cfg.key(),
        child.key(),
        child_of(cfg.replace(seed=1, data_seed=0), state="fresh", subset=100, seed=0).key(),
        child_of(cfg.replace(steps=70), state="fresh", subset=100).key(),
        child_of(cfg, state="fresh", subset=120).key(),
        child_of(cfg, state="fresh").key(),
        child_of(cfg, state="carried", subset=100).key(),
    }
    assert len(keys) == 7
    # what is kept is not the run: the parent's keep flags leave the key alone
    flags = child.start.parent.replace(keep_optim=True)
    assert child.replace(start=Continuation(flags, "fresh", 100)).key() == child.key()
    assert "start" not in cfg.to_dict()  # a run from an init: every older key is unchanged
    grandchild = child_of(child, state="carried")
    assert key_of(grandchild.to_dict()) == grandchild.key()  # cache_tools checks entries so


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda c: child_of(c, subset=1000), "larger than the parent's training split of 264"),
        (
            lambda c: c.replace(start=Continuation(c, "fresh")),
            "the parent keeps no final weights",
        ),
        (
            lambda c: c.replace(start=Continuation(c.replace(keep_params=True), "carried")),
            "needs a parent with keep_optim=True",
        ),
        (
            lambda c: child_of(c).replace(model=EmbedMLP(d_embed=8, width=16, depth=1)),
            "keeps its parent's model",
        ),
        (lambda c: child_of(c).replace(data_seed=5), "keeps its parent's split_seed"),
        (lambda c: child_of(c).replace(init_scale=2.0), "α must be 1"),
        (lambda c: Continuation(c, "kept"), "choose 'fresh' or 'carried'"),
        (lambda c: child_of(c, subset=0), "must be positive"),
    ],
)
def test_bad_continuations_fail_at_construction_in_one_line(make, match):
    with pytest.raises(ValueError, match=match) as err:
        make(base())
    assert "\n" not in str(err.value)


def test_a_child_inside_an_ensemble_equals_the_child_trained_alone(tmp_path):
    cfgs = [base(seed=s, steps=40) for s in range(3)]
    children = [child_of(c, state="fresh", subset=150, steps=30) for c in cfgs]
    together = run(children, RunCache(tmp_path / "a"), progress=False)
    alone = run(children[1:2], RunCache(tmp_path / "b"), progress=False)[0]
    for name in (*CURVES, "batch_loss", "final_params"):
        np.testing.assert_array_equal(getattr(together[1], name), getattr(alone, name), name)


def test_run_trains_parents_first_and_a_cached_child_needs_no_parent(tmp_path):
    cache = RunCache(tmp_path)
    cfg = base(steps=40)
    child = child_of(cfg, steps=30, state="carried")
    grandchild = child_of(child, steps=20, state="carried")
    assert grandchild.step_offset == 70 and [c.steps for c in grandchild.lineage()] == [40, 30]
    stats = RunStats()
    (h,) = run([grandchild], cache, progress=False, stats=stats)
    assert stats.trained == 3  # parent, child, grandchild, in that order
    (long,) = run([cfg.replace(steps=90, keep_params=True)], cache, progress=False)
    np.testing.assert_array_equal(h.final_params, long.final_params)
    by_key = {grandchild.key(): grandchild}
    found = {grandchild.key(): h}
    assert with_parents(by_key, found, cache) == by_key  # cached: its parents are not needed
    stats = RunStats()
    run([grandchild], cache, progress=False, stats=stats)
    assert (stats.trained, stats.cached) == (0, 1)


def test_waves_and_the_plan_put_parents_before_children():
    cfg = base(steps=40)
    child = child_of(cfg, state="fresh", subset=150)
    by_key = with_parents({child.key(): child}, {}, None)
    assert [list(w) for w in waves(by_key)] == [[child.start.parent.key()], [child.key()]]
    plan = Plan(Scope("quick"), [], by_key, _ensembles(by_key))
    assert [ch[0].key() for ch in plan.ensembles] == [child.start.parent.key(), child.key()]
    for n in (1, 2):
        for shard in plan.shards(n):
            depths = [len(ch[0].lineage()) for ch in shard]
            assert depths == sorted(depths)


def test_warm_trains_a_shards_children_after_their_parents(tmp_path):
    """`grokcore train-plan`'s rule: a shard that holds a child and not its parent trains (or
    reads) the parent first; a second shard then finds both cached."""
    cache = RunCache(tmp_path)
    child = child_of(base(steps=40), steps=30, state="fresh", subset=150)
    assert warm([child], cache, progress=False) == 2
    assert warm([child, child.start.parent], cache, progress=False) == 0
    stats = RunStats()
    run([child], cache, progress=False, stats=stats)
    assert stats.trained == 0


def test_the_time_probe_and_weight_readers_build_a_child_without_its_parent():
    """`grokcore.estimate` times a continued run's step from an init (it costs the same);
    training one without its parent's history is refused."""
    from grokcore.estimate import step_seconds

    child = child_of(base(steps=40), state="carried", subset=150)
    step, ev = step_seconds([child], torch.device("cpu"))
    assert step > 0 and ev > 0
    with pytest.raises(ValueError, match="need their parents' histories"):
        Ensemble([child])
