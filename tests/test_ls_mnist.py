"""LS-MNIST (li-sakib §4, Table 3): the MNIST augmentation, the rows' configs, and the per-row
statistic fed its control, a clear positive case, and a base row that does not grok."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys

import numpy as np
import pytest
import torch

from grokcore import plotting, setups
from grokcore.config import CORE_VERSION, MLP, MnistTask, RunConfig, _describe
from grokcore.data.augment import Augmenter, augment, blur, rotate, rotation_angles
from grokcore.history import History
from grokcore.record import Verdict
from grokcore.train.engine import Ensemble
from grokcore.verdicts import table_row
from grokcore.verdicts.table import classify, observed
from tests.synthetic import STEPS, assert_png, assert_positive_control_failed, synthetic

torch.set_num_threads(1)


def images(n: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 784, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# -- augmentation ---------------------------------------------------------------------------


def test_angles_are_uniform_within_sigma_times_30_degrees():
    a = rotation_angles(20_000, 0.2, torch.Generator().manual_seed(0))
    assert a.abs().max() <= 6.0 and a.min() < -5.9 and a.max() > 5.9  # σ·30° = 6°
    assert abs(a.mean()) < 0.1 and a.std() == pytest.approx(6 / np.sqrt(3), rel=0.02)


def test_augmentation_is_seeded_and_reproducible():
    x = images().expand(2, -1, -1)

    def gens(*seeds):
        return [torch.Generator().manual_seed(s) for s in seeds]

    a = Augmenter([0.5, 0.5], gens(0, 1))(x)
    b = Augmenter([0.5, 0.5], gens(0, 1))(x)
    assert torch.equal(a, b)
    assert not torch.equal(a[0], a[1])  # same images, each member its own angles
    assert not torch.equal(a[0], x[0])


def test_zero_rotation_and_vanishing_blur_are_the_identity():
    x = images().view(-1, 1, 28, 28)
    assert torch.equal(rotate(x, torch.zeros(len(x))), x)
    assert torch.allclose(blur(x, 1e-3), x, atol=1e-12)
    flat = images().expand(3, -1, -1)
    out = Augmenter([0.0, 0.3, 0.0], [torch.Generator() for _ in range(3)])(flat)
    assert torch.equal(out[0], flat[0]) and torch.equal(out[2], flat[2])  # σ = 0: untouched
    two = flat[:2]
    assert Augmenter([0.0, 0.0], [torch.Generator()] * 2)(two) is two  # nothing to do
    with pytest.raises(ValueError, match="σ must be positive"):
        augment(images(2), 0.0, torch.zeros(2))


def test_rotation_matches_kornia_geometry():
    """A 28×28 image turned by a multiple of 90° about its centre (13.5, 13.5) lands exactly on
    the pixel grid: kornia's counter-clockwise rotation is `torch.rot90` over (H, W)."""
    x = images(4).view(-1, 1, 28, 28)
    for k, deg in ((1, 90.0), (2, 180.0), (3, -90.0)):
        turned = rotate(x, torch.full((4,), deg, dtype=torch.float64))
        assert torch.equal(turned, torch.rot90(x, k, dims=(2, 3)))
    dot = torch.zeros(1, 1, 28, 28)
    dot[0, 0, 5, 14] = 1.0  # above the centre: a quarter turn anticlockwise moves it left
    (r, c) = rotate(dot, torch.tensor([90.0]))[0, 0].nonzero()[0].tolist()
    assert c == 5 and r in (13, 14)


def test_blur_is_the_kernel3_gaussian():
    import kornia

    x = images(3).view(-1, 1, 28, 28)
    std = 0.5
    ours = blur(x, std)
    theirs = kornia.filters.gaussian_blur2d(x, (3, 3), (std, std))
    assert torch.allclose(ours, theirs, atol=1e-12)
    w = np.exp(-np.array([1.0, 0.0, 1.0]) / (2 * std**2))
    w /= w.sum()
    centre = (np.outer(w, w) * x[0, 0, 9:12, 9:12].numpy()).sum()  # an interior pixel
    assert ours[0, 0, 10, 10].item() == pytest.approx(centre, abs=1e-12)


def test_missing_kornia_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "kornia", None)
    with pytest.raises(ImportError, match="needs kornia"):
        Augmenter([0.2], [torch.Generator()])
    Augmenter([0.0], [torch.Generator()])  # no augmentation: kornia is never asked for


def test_augment_field_validates():
    with pytest.raises(ValueError, match="augment"):
        MnistTask(augment=-0.1)
    with pytest.raises(ValueError, match="augment"):
        MnistTask(augment=float("nan"))


# -- the engine applies it per member ----------------------------------------------------------


def tiny(seed: int, sigma: float, batch_size: int | None = 20) -> RunConfig:
    return RunConfig(
        task=MnistTask(n_train=100, n_test=100, augment=sigma),
        model=MLP(hidden=(16,), act="relu"),
        loss="mse",
        steps=6,
        batch_size=batch_size,
        seed=seed,
        data_seed=0,
        eval_points=2,
    )


def test_engine_augments_each_member_with_its_own_seed():
    pair = Ensemble([tiny(0, 0.5), tiny(1, 0.5)]).train()
    (alone,) = Ensemble([tiny(0, 0.5)]).train()
    assert np.array_equal(pair[0].batch_loss, alone.batch_loss)  # companions do not matter
    (again,) = Ensemble([tiny(0, 0.5)]).train()
    assert np.array_equal(again.batch_loss, alone.batch_loss)  # reproducible
    (plain,) = Ensemble([tiny(0, 0.0)]).train()
    assert not np.array_equal(plain.batch_loss[1:], alone.batch_loss[1:])  # it does augment
    mixed = Ensemble([tiny(0, 0.0), tiny(0, 0.5)]).train()
    assert np.array_equal(mixed[0].batch_loss, plain.batch_loss)  # σ = 0 beside σ > 0
    assert np.array_equal(mixed[1].batch_loss, alone.batch_loss)


def test_engine_augments_full_batch_runs():
    (plain,) = Ensemble([tiny(0, 0.0, batch_size=None)]).train()
    hs = Ensemble([tiny(0, 0.5, batch_size=None), tiny(1, 0.0, batch_size=None)]).train()
    assert not np.array_equal(plain.batch_loss, hs[0].batch_loss)
    (other,) = Ensemble([tiny(1, 0.0, batch_size=None)]).train()
    assert np.array_equal(other.batch_loss, hs[1].batch_loss)


# -- configs ---------------------------------------------------------------------------------


def test_existing_mnist_keys_do_not_change():
    """Fields at their defaults stay out of the key, so stored paper-tier runs still match."""
    cfg = setups.mnist(init_scale=8.0, loss="mse", seed=1, scale="full", data_dir="/d")
    task = _describe(cfg, for_hash=True)["task"]
    assert set(task) == {"__type__", "n_train", "n_test", "source"}  # no augment, no pool
    assert "augment" not in cfg.to_dict()["task"]  # stored configs of old runs still match
    payload = json.dumps(
        {"core": CORE_VERSION, "run": _describe(cfg, for_hash=True)},
        sort_keys=True,
        separators=(",", ":"),
    )
    assert cfg.key() == hashlib.sha256(payload.encode()).hexdigest()[:24]
    if CORE_VERSION == "3":  # the key this config had before `pool` existed (HEAD bce3b15)
        assert cfg.key() == "602904507294104a501ae89c"
    aug = cfg.replace(task=dataclasses.replace(cfg.task, augment=0.2))
    assert aug.key() != cfg.key() and aug.to_dict()["task"]["augment"] == 0.2
    quick = setups.mnist(init_scale=8.0, loss="mse", seed=1, scale="quick")
    assert _describe(quick, for_hash=True)["task"]["pool"] == 2  # the stand-in's pooling is keyed


def test_pooling_averages_blocks_and_rejects_a_factor_that_does_not_divide_28():
    from grokcore.data import pool_images

    x = torch.arange(2 * 16, dtype=torch.float32).reshape(2, 16)  # two 4×4 images
    pooled = pool_images(x, 2)
    assert pooled.shape == (2, 4)
    assert pooled[0].tolist() == [(0 + 1 + 4 + 5) / 4, (2 + 3 + 6 + 7) / 4, 10.5, 12.5]
    assert pool_images(x, 1) is x
    assert MnistTask(pool=2).n_in == 196 and MnistTask().n_in == 784
    with pytest.raises(ValueError, match=r"pool.*divide 28"):
        MnistTask(pool=3)
    with pytest.raises(ValueError, match="pool"):
        MnistTask(pool=0)


def test_quick_stand_in_budget_is_above_its_lu_time():
    """The quick MNIST stand-in (`setups.mnist`): a fifth of the images and of the batch,
    14×14, and an LU time ln 8/(lr·γ) inside its step budget; the paper tier is untouched."""
    q = setups.mnist(init_scale=8.0, loss="mse", seed=0, scale="quick")
    f = setups.mnist(init_scale=8.0, loss="mse", seed=0, scale="full", data_dir="/d")
    assert (q.task.n_train, q.batch_size, q.task.n_in, q.task.n_test) == (200, 40, 196, 1000)
    assert (f.task.n_train, f.batch_size, f.task.n_in) == (1000, 200, 784)
    assert (f.optim.lr, f.optim.weight_decay) == (1e-3, 0.01)  # REFERENCES M1
    lu = math.log(8) / (q.optim.lr * q.optim.weight_decay)
    assert lu == pytest.approx(setups.mnist_lu_time("quick")) and lu <= q.steps
    assert setups.mnist_lu_time("full") == pytest.approx(207_944, abs=1)
    assert {n.name for n in q.notes} >= {"task.n_train", "task.pool", "optim.lr", "batch_size"}


def test_table3_rows():
    rows = setups.LS_MNIST_ROWS
    assert len(rows) == 17 and len({r.key for r in rows}) == 17
    assert [r.groks for r in rows] == [
        *(True, True, True, True, False),  # 1K-5K
        *(True, False, False, False),  # augmentation σ 0.1, 0.2, 0.3, 1.0
        False,  # CE
        *(True, True),  # Adam, SGD
        *(True, True, True),  # batch 32, 128, 1024
        True,  # no weight decay
        False,  # init scale 0.1
    ]


@pytest.mark.parametrize("scale", ["quick", "full"])
@pytest.mark.parametrize("row", setups.LS_MNIST_ROWS, ids=lambda r: r.key)
def test_each_row_builds_a_valid_config(row, scale):
    cfg = setups.li_sakib_mnist(row, seed=2, scale=scale)
    base = setups.li_sakib_mnist(setups.LS_MNIST_BASE, seed=2, scale=scale)
    assert RunConfig(**{f: getattr(cfg, f) for f in ("task", "model", "optim")}, loss=cfg.loss)
    shrink = 1 if scale == "full" else setups.MNIST_QUICK_SHRINK
    gamma = 1 if scale == "full" else setups.MNIST_QUICK_GAMMA_FACTOR
    got = (cfg.task.n_train, cfg.task.augment, cfg.loss, cfg.optim.name, cfg.batch_size)
    want = (
        row.n_train // shrink,
        row.augment,
        row.loss,
        row.optimizer,
        max(1, round(row.batch_size / shrink)),
    )
    assert got == want
    assert cfg.optim.weight_decay == pytest.approx(row.weight_decay * gamma)
    assert cfg.init_scale == row.init_scale
    differs = {
        f
        for f in ("n_train", "augment", "loss", "optimizer", "batch_size", "weight_decay",
                  "init_scale")
        if getattr(row, f) != getattr(setups.LS_MNIST_BASE, f)
    }  # fmt: skip
    assert len(differs) == (0 if row is setups.LS_MNIST_BASE else 1)  # one factor per row
    assert cfg.steps == (210_000 if scale == "full" else setups.MNIST_QUICK_STEPS)
    assert base.optim.lr == cfg.optim.lr == (1e-3 if scale == "full" else setups.MNIST_QUICK_LR)
    assert all(n.why for n in cfg.notes)


def test_base_row_is_og_mnist_alpha8_run():
    """The base row is OG-MNIST's α = 8 run: same key, so the cache trains it once."""
    for scale, steps in (("quick", None), ("full", 210_000)):
        og = setups.mnist(init_scale=8.0, loss="mse", seed=0, scale=scale, steps=steps)
        ls = setups.li_sakib_mnist(setups.LS_MNIST_BASE, seed=0, scale=scale)
        assert og.key() == ls.key()


# -- the per-row statistic -----------------------------------------------------------------------

GROK = dict(t_train=100, t_test=8000)  # fits at 100 steps, test rises 80× later
NORMAL = dict(t_train=100, t_test=110)  # test rises with train


def seeds(n: int = 3, **kw) -> list[History]:
    return [synthetic(seed=s, **kw) for s in range(n)]


def creeping(seed: int = 0) -> History:
    """Fits at 100 steps with test at 0.8, then creeps past 0.85 late: a normal run."""
    s = np.maximum(STEPS, 1).astype(float)
    tr = 1 / (1 + np.exp(-12 * (np.log(s) - np.log(100))))
    te = 0.8 * tr + 0.1 * np.clip(np.log(s / 100) / np.log(200), 0, 1)
    z = np.zeros_like(s)
    return History(STEPS, 1 - tr, tr, 1 - te, te, z + 1, budget=20_000, config={"seed": seed})


def test_classify_phases():
    assert classify(synthetic(**GROK))["phase"] == "grokking"
    assert classify(synthetic(**NORMAL))["phase"] == "comprehension"
    assert classify(creeping())["phase"] == "comprehension"  # late, but no gap at the fit
    assert classify(synthetic(100, None))["phase"] == "memorization"
    assert classify(synthetic(None, None))["phase"] == "confusion"
    assert observed(3, 3) == "groks" and observed(0, 3) == "no grok" and observed(1, 3) == "mixed"


def test_grok_row_that_groks_is_supported():
    j = table_row(seeds(**GROK), seeds(**GROK), groks=True)
    assert j.verdict is Verdict.SUPPORTED


def test_no_grok_row_that_learns_normally_is_supported():
    j = table_row(seeds(**NORMAL), seeds(**GROK), groks=False)
    assert j.verdict is Verdict.SUPPORTED


def test_control_no_grok_row_that_groks_is_not_supported():
    j = table_row(seeds(6, **GROK), seeds(**GROK), groks=False)
    assert j.verdict is Verdict.REFUTED
    j = table_row([*seeds(2, **GROK), synthetic(**NORMAL)], seeds(**GROK), groks=False)
    assert j.verdict is not Verdict.SUPPORTED


def test_control_grok_row_that_learns_normally_is_not_supported():
    j = table_row(seeds(6, **NORMAL), seeds(**GROK), groks=True)
    assert j.verdict is Verdict.REFUTED
    j = table_row([creeping(s) for s in range(3)], seeds(**GROK), groks=True)
    assert j.verdict is not Verdict.SUPPORTED


def test_no_grok_row_whose_runs_never_fit_is_inconclusive_not_supported():
    """A ✗ row's 'no grok' must come from runs that learn: runs that never fit (the quick
    stand-in's init-0.1 row) would support it only vacuously."""
    j = table_row(seeds(t_train=None, t_test=None), seeds(**GROK), groks=False)
    assert_positive_control_failed(j)
    assert "runs fit" in j.reason
    j = table_row([*seeds(2, **NORMAL), synthetic(None, None)], seeds(**GROK), groks=False)
    assert j.verdict is Verdict.SUPPORTED  # 2 of 3 learn normally: ≥ half fit
    assert [c.name.startswith("positive control") for c in j.control] == [True, True]


@pytest.mark.parametrize("groks", [True, False])
def test_base_row_not_grokking_makes_every_row_inconclusive(groks):
    for base in (
        seeds(**NORMAL),
        seeds(t_train=100, t_test=None),
        seeds(t_train=None, t_test=None),
    ):
        assert_positive_control_failed(table_row(seeds(**GROK), base, groks=groks))
        assert_positive_control_failed(table_row(seeds(**NORMAL), base, groks=groks))


def test_panels_figure(tmp_path):
    path = plotting.plot_panels(
        {"base": seeds(**GROK), "row": seeds(**NORMAL)}, tmp_path / "p.png", title="t"
    )
    assert_png(path)
    with pytest.raises(ValueError, match="no panel"):
        plotting.plot_panels({"a": []}, tmp_path / "q.png")


def test_engine_equals_the_reference_loop_with_augmentation():
    from grokcore.train import train_reference

    for batch_size in (20, None):
        cfg = tiny(3, 0.3, batch_size)
        (h,) = Ensemble([cfg, tiny(4, 0.6, batch_size)]).train()[:1]
        ref = train_reference(cfg)
        assert np.allclose(h.batch_loss, ref.batch_loss, rtol=1e-5, atol=1e-7)
        assert np.allclose(h.test_acc, ref.test_acc)
