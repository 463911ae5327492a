"""Run configs: validation names the bad field, the cache key is a faithful content hash."""

from __future__ import annotations

import itertools
import math
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from grokcore.config import (
    MLP,
    OPERATIONS,
    EmbedMLP,
    MnistTask,
    ModularTask,
    OneHotMLP,
    Optimizer,
    Recurrent,
    RunConfig,
    TeacherStudentTask,
    Transformer,
    eval_schedule,
    is_prime,
)

TASK = ModularTask("x+y", 7, 0.5)
MODEL = EmbedMLP(d_embed=8, width=16)


def run(**kw) -> RunConfig:
    """A small valid modular run; keyword arguments override fields."""
    return RunConfig(**{"task": TASK, "model": MODEL, "steps": 100, **kw})


# -- validation ----------------------------------------------------------------------

# (thunk building a bad config, "Class.field", the offending value)
BAD = {
    "unknown op": (lambda: ModularTask(op="x**y"), "ModularTask.op", "x**y"),
    "modulus 1": (lambda: ModularTask(p=1), "ModularTask.p", 1),
    "x/y non-prime": (lambda: ModularTask(op="x/y", p=100), "ModularTask.p", 100),
    "x/y-or-x-y non-prime": (
        lambda: ModularTask(op="x/y if y odd else x-y", p=100),
        "ModularTask.p",
        100,
    ),
    "train_frac 0": (lambda: ModularTask(train_frac=0), "ModularTask.train_frac", 0),
    "train_frac 1": (lambda: ModularTask(train_frac=1), "ModularTask.train_frac", 1),
    "train_frac -0.1": (lambda: ModularTask(train_frac=-0.1), "ModularTask.train_frac", -0.1),
    "train_frac 1.5": (lambda: ModularTask(train_frac=1.5), "ModularTask.train_frac", 1.5),
    "teacher width 0": (lambda: TeacherStudentTask(width=0), "TeacherStudentTask.width", 0),
    "teacher threshold 0": (
        lambda: TeacherStudentTask(threshold=0.0),
        "TeacherStudentTask.threshold",
        0.0,
    ),
    "mnist n_train 0": (lambda: MnistTask(n_train=0), "MnistTask.n_train", 0),
    "mnist source": (lambda: MnistTask(source="kaggle"), "MnistTask.source", "kaggle"),
    "negative weight decay": (
        lambda: Optimizer(weight_decay=-0.1),
        "Optimizer.weight_decay",
        -0.1,
    ),
    "lr 0": (lambda: Optimizer(lr=0.0), "Optimizer.lr", 0.0),
    "lr negative": (lambda: Optimizer(lr=-1e-3), "Optimizer.lr", -1e-3),
    "lr nan": (lambda: Optimizer(lr=math.nan), "Optimizer.lr", math.nan),
    "beta1 = 1": (lambda: Optimizer(betas=(1.0, 0.999)), "Optimizer.betas", (1.0, 0.999)),
    "beta2 negative": (lambda: Optimizer(betas=(0.9, -0.1)), "Optimizer.betas", (0.9, -0.1)),
    "one beta": (lambda: Optimizer(betas=(0.9,)), "Optimizer.betas", (0.9,)),
    "optimizer name": (lambda: Optimizer(name="lion"), "Optimizer.name", "lion"),
    "eps 0": (lambda: Optimizer(eps=0.0), "Optimizer.eps", 0.0),
    "momentum 1": (lambda: Optimizer(momentum=1.0), "Optimizer.momentum", 1.0),
    "negative wd_on_at": (lambda: Optimizer(wd_on_at=-1), "Optimizer.wd_on_at", -1),
    "negative wd_off_at": (lambda: Optimizer(wd_off_at=-5), "Optimizer.wd_off_at", -5),
    "alpha 0": (lambda: run(init_scale=0.0), "RunConfig.init_scale", 0.0),
    "alpha negative": (lambda: run(init_scale=-1.0), "RunConfig.init_scale", -1.0),
    "steps 0": (lambda: run(steps=0), "RunConfig.steps", 0),
    "steps negative": (lambda: run(steps=-10), "RunConfig.steps", -10),
    "batch_size 0": (lambda: run(batch_size=0), "RunConfig.batch_size", 0),
    "loss hinge": (lambda: run(loss="hinge"), "RunConfig.loss", "hinge"),
    "eval_points 1": (lambda: run(eval_points=1), "RunConfig.eval_points", 1),
    "eval_every 0": (lambda: run(eval_every=0), "RunConfig.eval_every", 0),
    "teacher-student with ce": (
        lambda: RunConfig(TeacherStudentTask(), MLP(), loss="ce"),
        "RunConfig.loss",
        "ce",
    ),
    "teacher-student with token model": (
        lambda: RunConfig(TeacherStudentTask(), MODEL, loss="mse"),
        "RunConfig.model",
        "EmbedMLP",
    ),
    "mnist with transformer": (
        lambda: RunConfig(MnistTask(), Transformer()),
        "RunConfig.model",
        "Transformer",
    ),
    "modular with vector MLP": (
        lambda: RunConfig(TASK, MLP()),
        "RunConfig.model",
        "MLP",
    ),
    "task is not a task": (lambda: RunConfig("x+y", MODEL), "RunConfig.task", "x+y"),
    "n_heads does not divide d_model": (
        lambda: Transformer(d_model=32, n_heads=5),
        "Transformer.n_heads",
        5,
    ),
    "transformer tokens": (lambda: Transformer(tokens="bert"), "Transformer.tokens", "bert"),
    "negative embed noise": (
        lambda: Transformer(embed_noise=-0.1),
        "Transformer.embed_noise",
        -0.1,
    ),
    "embed mlp depth 0": (lambda: EmbedMLP(depth=0), "EmbedMLP.depth", 0),
    "onehot act": (lambda: OneHotMLP(act="gelu"), "OneHotMLP.act", "gelu"),
    "mlp no hidden": (lambda: MLP(hidden=()), "MLP.hidden", ()),
    "mlp zero width": (lambda: MLP(hidden=(8, 0)), "MLP.hidden", (8, 0)),
    "recurrent cell": (lambda: Recurrent(cell="gru"), "Recurrent.cell", "gru"),
}


@pytest.mark.parametrize("make, field, value", BAD.values(), ids=BAD.keys())
def test_bad_value_raises_naming_field_and_value(make, field, value):
    with pytest.raises(ValueError, match=re.escape(f"{field}={value!r}")):
        make()


@pytest.mark.parametrize(
    "make",
    [
        lambda: ModularTask("x/y", 97),
        lambda: ModularTask("x/y if y odd else x-y", 5),
        lambda: ModularTask("x*y", 100),  # no division: any modulus
        lambda: Transformer.power(d_model=32, n_heads=4),
        lambda: Optimizer(betas=(0.0, 0.0), weight_decay=0.0, wd_on_at=0),
        lambda: RunConfig(TeacherStudentTask(), MLP(), loss="mse"),
        lambda: RunConfig(MnistTask(n_train=10), MLP(act="relu")),
        lambda: run(batch_size=3, loss="mse", steps=1),
    ],
)
def test_good_values_construct(make):
    make()


def test_nan_weight_decay_is_rejected():
    with pytest.raises(ValueError, match=r"Optimizer\.weight_decay=nan"):
        Optimizer(weight_decay=math.nan)


def test_is_prime_matches_trial_division():
    primes = [n for n in range(200) if n > 1 and all(n % d for d in range(2, n))]
    assert [n for n in range(200) if is_prime(n)] == primes


# -- cache key -----------------------------------------------------------------------


def test_equal_configs_have_equal_keys():
    a = run(optim=Optimizer(lr=1e-2, weight_decay=1.0), seed=3)
    b = RunConfig(
        ModularTask("x+y", 7, 0.5),
        EmbedMLP(d_embed=8, width=16),
        Optimizer(lr=1e-2, weight_decay=1.0),
        steps=100,
        seed=3,
    )
    assert a == b and a is not b
    assert a.key() == b.key()
    assert re.fullmatch(r"[0-9a-f]{24}", a.key())


SINGLE_CHANGES = {
    "seed": dict(seed=1),
    "data_seed": dict(data_seed=5),
    "steps": dict(steps=101),
    "batch_size": dict(batch_size=8),
    "loss": dict(loss="mse"),
    "alpha": dict(init_scale=1.5),
    "constrain_norm": dict(constrain_norm=True),
    "eval_points": dict(eval_points=81),
    "eval_every": dict(eval_every=7),
    "lr": dict(optim=Optimizer(lr=2e-3)),
    "weight_decay": dict(optim=Optimizer(weight_decay=0.1)),
    "wd_on_at": dict(optim=Optimizer(wd_on_at=10)),
    "wd_off_at": dict(optim=Optimizer(wd_off_at=10)),
    "optimizer": dict(optim=Optimizer(name="adam")),
    "betas": dict(optim=Optimizer(betas=(0.9, 0.98))),
    "eps": dict(optim=Optimizer(eps=1e-6)),
    "momentum": dict(optim=Optimizer(name="sgd", momentum=0.5)),
    "op": dict(task=ModularTask("x-y", 7, 0.5)),
    "p": dict(task=ModularTask("x+y", 11, 0.5)),
    "train_frac": dict(task=ModularTask("x+y", 7, 0.6)),
    "d_embed": dict(model=EmbedMLP(d_embed=9, width=16)),
    "width": dict(model=EmbedMLP(d_embed=8, width=17)),
    "depth": dict(model=EmbedMLP(d_embed=8, width=16, depth=3)),
    "model type": dict(model=OneHotMLP(width=16)),
}


@pytest.mark.parametrize("change", SINGLE_CHANGES.values(), ids=SINGLE_CHANGES.keys())
def test_changing_one_field_changes_the_key(change):
    assert run(**change).key() != run().key()


def test_all_single_changes_give_distinct_keys():
    keys = {run(**change).key() for change in SINGLE_CHANGES.values()} | {run().key()}
    assert len(keys) == len(SINGLE_CHANGES) + 1


@pytest.mark.parametrize(
    "as_int, as_float",
    [
        (dict(optim=Optimizer(weight_decay=1)), dict(optim=Optimizer(weight_decay=1.0))),
        (dict(optim=Optimizer(lr=1)), dict(optim=Optimizer(lr=1.0))),
        (dict(init_scale=2), dict(init_scale=2.0)),
        (
            dict(task=TeacherStudentTask(threshold=1), model=MLP(), loss="mse"),
            dict(task=TeacherStudentTask(threshold=1.0), model=MLP(), loss="mse"),
        ),
    ],
    ids=["weight_decay", "lr", "init_scale", "threshold"],
)
def test_int_and_float_spellings_hash_alike(as_int, as_float):
    assert run(**as_int) == run(**as_float)
    assert run(**as_int).key() == run(**as_float).key()


def test_int_and_float_betas_hash_alike():
    a, b = run(optim=Optimizer(betas=(0, 0.99))), run(optim=Optimizer(betas=(0.0, 0.99)))
    assert a == b
    assert a.key() == b.key()


def test_numpy_integer_seed_hashes_like_int():
    assert run(seed=np.int64(3)).key() == run(seed=3).key()


def test_mnist_data_dir_is_not_part_of_the_key():
    keys = {
        RunConfig(MnistTask(n_train=100, data_dir=d), MLP()).key()
        for d in (None, "/data/mnist", "/elsewhere")
    }
    assert len(keys) == 1
    assert RunConfig(MnistTask(n_train=100), MLP()).key() != RunConfig(MnistTask(), MLP()).key()


_KEY_SNIPPET = """
from grokcore.config import ModularTask, Optimizer, RunConfig, Transformer
cfg = RunConfig(
    ModularTask("x/y", 23, 0.4),
    Transformer(d_model=32, n_heads=4, d_mlp=64),
    Optimizer(lr=1e-3, weight_decay=1, wd_on_at=50),
    steps=200,
    init_scale=2,
    seed=7,
)
print(cfg.key())
"""


def test_key_is_stable_across_processes():
    cfg = RunConfig(
        ModularTask("x/y", 23, 0.4),
        Transformer(d_model=32, n_heads=4, d_mlp=64),
        Optimizer(lr=1e-3, weight_decay=1.0, wd_on_at=50),
        steps=200,
        init_scale=2.0,
        seed=7,
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}  # str hashing differs between processes
    out = subprocess.run(
        [sys.executable, "-c", _KEY_SNIPPET], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == cfg.key()


def test_to_dict_tags_nested_configs():
    d = run(optim=Optimizer(weight_decay=1)).to_dict()
    assert d["__type__"] == "RunConfig"
    assert d["task"] == {"__type__": "ModularTask", "op": "x+y", "p": 7, "train_frac": 0.5}
    assert d["optim"]["__type__"] == "Optimizer"
    assert d["model"]["__type__"] == "EmbedMLP"


def test_ensemble_key_groups_runs_that_can_batch():
    base = run()
    same = [
        run(seed=4),
        run(init_scale=3.0),
        run(constrain_norm=True),
        run(optim=Optimizer(lr=0.1, weight_decay=2.0, wd_on_at=5)),
        run(task=ModularTask("x-y", 7, 0.5)),  # another op, a split of the same size
    ]
    different = [
        run(task=ModularTask("x-y", 7, 0.6)),  # full batch: another split size is never padded
        run(task=ModularTask("x-y", 7, 0.9)),
        run(steps=99),
        run(loss="mse"),
        run(batch_size=4),
        run(model=EmbedMLP(d_embed=8, width=32)),
        run(optim=Optimizer(name="sgd")),
        run(task=ModularTask("x+y", 11, 0.5)),
    ]
    assert all(c.ensemble_key() == base.ensemble_key() for c in same)
    assert all(c.ensemble_key() != base.ensemble_key() for c in different)


# -- weight-decay schedule -----------------------------------------------------------


def test_decay_constant():
    o = Optimizer(weight_decay=0.5)
    assert [o.decay_at(s) for s in range(1, 50)] == [0.5] * 49


def test_decay_on_at_t():
    o = Optimizer(weight_decay=2.0, wd_on_at=10)
    assert [o.decay_at(s) for s in range(1, 10)] == [0.0] * 9
    assert [o.decay_at(s) for s in range(10, 30)] == [2.0] * 20


def test_decay_off_at_t():
    o = Optimizer(weight_decay=2.0, wd_off_at=10)
    assert [o.decay_at(s) for s in range(1, 10)] == [2.0] * 9
    assert [o.decay_at(s) for s in range(10, 30)] == [0.0] * 20


def test_decay_window_and_zero_gamma():
    o = Optimizer(weight_decay=1.0, wd_on_at=5, wd_off_at=8)
    assert [o.decay_at(s) for s in range(1, 11)] == [0, 0, 0, 0, 1, 1, 1, 0, 0, 0]
    assert all(Optimizer(wd_on_at=3).decay_at(s) == 0.0 for s in range(1, 10))


# -- evaluation schedule -------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    steps=hs.integers(1, 100_000),
    points=hs.integers(2, 200),
    every=hs.none() | hs.integers(1, 5_000),
)
def test_eval_schedule_shape(steps, points, every):
    sched = eval_schedule(steps, points, every)
    assert sched[0] == 0 and sched[-1] == steps
    assert all(isinstance(s, int) for s in sched)
    assert all(a < b for a, b in itertools.pairwise(sched))
    # the regular grid is in it
    grid = every or max(steps // 50, 1)
    assert set(range(0, steps + 1, grid)) <= set(sched)
    # and the log-spaced points, which resolve early transitions
    log = np.round(np.geomspace(1, steps, points)).astype(int)
    assert set(log.tolist()) <= set(sched)


@pytest.mark.parametrize("steps, points", [(1000, 80), (20_000, 80), (10, 80), (5, 2)])
def test_eval_schedule_has_points_log_spaced_entries(steps, points):
    sched = eval_schedule(steps, points, None)
    assert len([s for s in sched if s >= 1]) >= min(points, steps)


@pytest.mark.parametrize("steps, points, every", [(100, 80, None), (200, 20, 1000)])
def test_eval_schedule_may_merge_early_points(steps, points, every):
    """Documented: rounding merges early log-spaced points, so up to `points` remain."""
    sched = eval_schedule(steps, points, every)
    n = len([s for s in sched if s >= 1])
    assert min(points, steps) // 2 <= n and sched == sorted(set(sched))


def test_operations_are_the_eight_of_power_et_al():
    assert len(OPERATIONS) == 8 and len(set(OPERATIONS)) == 8


@pytest.mark.parametrize("op", ["x+y", "x/y", "x/y if y odd else x-y", "x^3+xy", "x*y (y>0)"])
@pytest.mark.parametrize("frac", [0.001, 0.3, 0.5, 0.999])
def test_split_sizes_are_the_split_the_data_draws(op, frac):
    from grokcore.data.modular import modular_table, split_indices

    task = ModularTask(op, 7, frac)
    train, test = split_indices(len(modular_table(task)[1]), frac, seed=3)
    assert task.split_sizes == (len(train), len(test))


def test_ops_with_other_table_sizes_train_apart():
    """x ÷ y drops y = 0: at one p and fraction its split is smaller than x + y's, so the two
    would be padded to one length (rounding the sums differently from each run alone)."""
    plus, div = run(task=ModularTask("x+y", 7, 0.5)), run(task=ModularTask("x/y", 7, 0.5))
    assert plus.task.split_sizes != div.task.split_sizes
    assert plus.ensemble_key() != div.ensemble_key()
    assert run(task=ModularTask("x-y", 7, 0.5)).ensemble_key() == plus.ensemble_key()
