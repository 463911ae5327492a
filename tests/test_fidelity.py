"""Reference fidelity of the engine, tasks and paper setups (../shared/REFERENCES.md §3).

Each test pins one correction to the value the reference code gives: the openai/grok
"mixed" table, the LU time the step budgets are checked against, the rnn-poster
batch and budget, warm-up and float64 runs against the textbook loop, the Power model
trained in an ensemble, and a cache key that no longer matches the old init's.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from grokcore import setups
from grokcore.budget import lu_time, shortfall, steps_needed
from grokcore.config import (
    EmbedMLP,
    ModularTask,
    Optimizer,
    RunConfig,
    Transformer,
)
from grokcore.data import modular_table
from grokcore.train import Ensemble, train_reference
from tests.test_engine import assert_identical, assert_same_run

pytest_plugins = ["pytester"]


# -- the mixed operation (REFERENCES P9) ----------------------------------------------


def test_mixed_op_matches_openai_grok_mix1():
    """openai/grok `mix1` at p = 97, evaluated with mod==0.3.0: division when y is odd."""
    x, z = modular_table(ModularTask("mixed", 97, 0.5))
    table = {(int(a), int(b)): int(c) for (a, b), c in zip(x, z, strict=True)}
    assert len(table) == 97 * 97 == 9409  # y = 0 is kept: it takes the x − y branch
    assert table[(10, 3)] == 68 == 10 * pow(3, -1, 97) % 97
    assert table[(10, 4)] == 6
    assert table[(10, 0)] == 10


def test_mixed_op_needs_a_prime_modulus():
    with pytest.raises(ValueError, match=r"ModularTask\.p=100.*prime"):
        ModularTask("mixed", 100, 0.5)


def test_division_table_is_vectorized_and_exact():
    x, z = modular_table(ModularTask("x/y", 1009, 0.5))
    xs, ys, zs = x[:, 0].numpy(), x[:, 1].numpy(), z.numpy()
    assert (ys != 0).all()
    np.testing.assert_array_equal(zs * ys % 1009, xs)


# -- LU time and step budgets (REFERENCES §2, §3.2) ------------------------------------


def test_adamw_with_zero_gradient_shrinks_the_norm_by_alpha_at_the_lu_time():
    """With no gradient, decoupled decay alone reaches w0/α at t = ln(α)/(lr·γ) (within 1%):
    the floor every budget of an arm that must grok is checked against."""
    alpha, lr, gamma = 5.0, 1e-3, 1.0
    cfg = RunConfig(
        ModularTask("x+y", 11, 0.5),
        EmbedMLP(d_embed=8, width=16),
        Optimizer(lr=lr, weight_decay=gamma),
        init_scale=alpha,
        steps=10,
    )
    ens = Ensemble([cfg])
    w0 = float(ens.flat.norm()) / alpha  # the α = 1 norm
    t = lu_time(cfg)
    assert t == pytest.approx(math.log(alpha) / (lr * gamma))
    for step in range(1, round(t) + 1):
        ens.optim.step(ens.flat, torch.zeros_like(ens.flat), step)
    assert float(ens.flat.norm()) == pytest.approx(w0, rel=0.01)


def test_budget_shortfall_names_the_arm_and_the_numbers():
    short = setups.lstm_poster(seed=0, steps=30_000)  # the old paper tier: 19% of ln 5 in budget
    why = shortfall({"late-on": [short]})
    assert why is not None
    assert "late-on" in why and "30,000" in why and "80,472" in why
    assert shortfall({"ok": [setups.lstm_poster(seed=0)]}) is None
    # α ≤ 1 needs no shrinking; γ = 0 with α > 1 can never get there
    assert lu_time(setups.modular(seed=0, scale="full")) == 0
    assert lu_time(setups.lstm_poster(seed=0, weight_decay=0.0)) == math.inf


def test_lstm_poster_setting_is_the_posters_code():
    """REFERENCES R1-R3: batch 32 (drop_last), 50% split, α = 5, budget ≥ t_on + 4·t_LU."""
    on = setups.poster_epochs(200)
    assert setups.poster_epochs(1) == 4704 // 32 == 147
    for gamma in (0.01, 0.02):
        cfg = setups.lstm_poster(seed=0, weight_decay=gamma, wd_on_at=on)
        assert cfg.batch_size == 32 and cfg.task.train_frac == 0.5 and cfg.init_scale == 5.0
        if gamma == 0.02:
            assert cfg.steps >= on + 4 * math.log(5) / (1e-3 * gamma)
            assert shortfall({"late-on": [cfg]}, factor=4) is None
        else:  # the poster's γ = 0.01 needs the longer budget, and the check says so
            assert shortfall({"late-on": [cfg]}, factor=4) is not None
    assert steps_needed(setups.lstm_poster(seed=0, wd_on_at=on)) == pytest.approx(
        on + 80_471.9, 1e-4
    )


def test_quick_teacher_student_budget_clears_the_lu_time():
    sweep = [setups.teacher_student(init_scale=2.0, weight_decay=g, seed=0) for g in (0.03, 1.0)]
    assert shortfall({"sweep": sweep}) is None


# -- the engine against the textbook loop ----------------------------------------------


def test_member_arithmetic_does_not_depend_on_its_companions():
    """One key, one result: a run trained alone equals the same run beside another lr."""
    task, model = ModularTask("x+y", 31, 0.5), EmbedMLP(d_embed=16, width=32)
    cfg = RunConfig(task, model, Optimizer(lr=3e-3, weight_decay=1.0), steps=300, seed=0)
    other = cfg.replace(optim=Optimizer(lr=1e-3, weight_decay=0.3), seed=5)
    (alone,) = Ensemble([cfg]).train()
    together, _ = Ensemble([cfg, other]).train()
    assert_identical(alone, together)


def test_float64_member_equals_reference_to_1e_10():
    cfg = RunConfig(
        ModularTask("x+y", 23, 0.6),
        EmbedMLP(d_embed=8, width=32),
        Optimizer(lr=1e-2, weight_decay=0.5),
        steps=50,
        eval_points=10,
        dtype="float64",
    )
    (h,) = Ensemble([cfg]).train()
    r = train_reference(cfg)
    np.testing.assert_allclose(h.batch_loss, r.batch_loss, rtol=1e-6)  # stored as float32
    for name in ("train_loss", "test_loss", "norm"):
        np.testing.assert_allclose(getattr(h, name), getattr(r, name), rtol=1e-10, atol=1e-12)
    # the reference averages its accuracy in float32
    np.testing.assert_allclose(h.train_acc, r.train_acc, atol=1e-7)


def test_dtype_and_warmup_are_part_of_the_key():
    cfg = setups.modular(seed=0, scale="quick")
    assert cfg.key() != cfg.replace(dtype="float64").key()
    warm = cfg.replace(optim=Optimizer("adamw", lr=3e-3, weight_decay=1.0, warmup_steps=10))
    assert cfg.key() != warm.key()
    assert cfg.ensemble_key() != warm.ensemble_key()


def test_warmup_first_step_has_lr_zero_and_member_equals_reference():
    """openai/grok `_scheduler_lr` and Nanda's LambdaLR: lr·min((t−1)/w, 1), so step 1 moves
    nothing (decay included: it scales with the lr)."""
    opt = Optimizer(lr=1e-2, betas=(0.9, 0.98), weight_decay=1.0, warmup_steps=10)
    assert [opt.lr_at(t) for t in (1, 2, 11, 12)] == [0.0, 1e-3, 1e-2, 1e-2]
    cfg = RunConfig(ModularTask("x+y", 23, 0.7), EmbedMLP(d_embed=8, width=32), opt, steps=40)
    ens = Ensemble([cfg])
    before = ens.flat.clone()
    ens.optim.step(ens.flat, torch.randn_like(ens.flat), 1)
    torch.testing.assert_close(ens.flat, before, rtol=0, atol=0)
    (h,) = Ensemble([cfg]).train()
    assert_same_run(h, train_reference(cfg))


def test_power_model_trains_in_an_ensemble_like_the_reference_loop():
    """Teacher-forced rhs tokens, sinusoidal buffer, post-LN, minibatches, warm-up."""
    model = Transformer.power(d_model=32, n_heads=4, d_mlp=64)
    opt = Optimizer(lr=3e-3, betas=(0.9, 0.98), weight_decay=0.01, warmup_steps=10)
    cfgs = [
        RunConfig(ModularTask("x+y", 11, 0.7), model, opt, steps=40, batch_size=32, seed=s,
                  data_seed=0, eval_points=10)
        for s in (0, 1)
    ]  # fmt: skip
    hs = Ensemble(cfgs).train()
    for h, c in zip(hs, cfgs, strict=True):
        assert_same_run(h, train_reference(c), f"seed {c.seed}")
    assert all(h.train_loss[-1] < 0.5 * h.train_loss[0] for h in hs)  # it learns


def test_power_arn_setup_is_openai_grok_training():
    cfg = setups.power_arn(seed=3, op="x/y", train_frac=0.5)
    assert cfg.model == Transformer.power()
    o = cfg.optim
    assert (o.name, o.lr, o.betas, o.eps, o.weight_decay, o.warmup_steps) == (
        "adamw", 1e-3, (0.9, 0.98), 1e-8, 0.01, 10,
    )  # fmt: skip
    assert cfg.batch_size == 512 and cfg.dtype == "float32"
    assert cfg.split_seed == 0  # one split for every seed (REFERENCES P7)
    small = setups.power_arn(seed=0, op="x+y", train_frac=0.05)
    assert small.batch_size == math.ceil(round(0.05 * 9409) / 2)  # min(512, ⌈N/2⌉)


def test_nanda_key_differs_from_the_old_init():
    """At b15b012 (PyTorch-default init) these configs had keys 4ba38ba499c2ff91b55f4a0c and
    d96bc7278718b6c5383219fc: a cache from then must not be re-read (REFERENCES N1a c)."""
    assert setups.modular(seed=0, scale="full").key() != "4ba38ba499c2ff91b55f4a0c"
    constrained = setups.modular(
        seed=0, scale="full", init_scale=0.8, constrain_norm=True, weight_decay=0
    )
    assert constrained.key() != "d96bc7278718b6c5383219fc"
    assert setups.modular(seed=0, scale="full").model.init == "nanda"


def test_a_diverged_run_is_marked_and_its_curves_are_not_read():
    cfg = RunConfig(
        ModularTask("x+y", 11, 0.5),
        EmbedMLP(d_embed=8, width=16),
        Optimizer("sgd", lr=1e6),
        steps=30,
        eval_points=10,
    )
    (h,) = Ensemble([cfg]).train()
    assert h.diverged_at is not None and 1 <= h.diverged_at <= 30
    after = h.steps >= h.diverged_at
    assert np.isnan(h.test_acc[after]).all() and np.isnan(h.train_loss[after]).all()
    from grokcore.history import History

    assert History.from_bytes(h.to_bytes()).diverged_at == h.diverged_at


def test_lstm_input_weights_follow_nn_lstm_init_when_embed_differs_from_hidden():
    """REFERENCES R8: nn.LSTM draws every weight U(±1/√hidden), whatever the input width."""
    from grokcore.config import Recurrent
    from grokcore.models import build_model

    net = build_model(Recurrent("lstm", d_embed=64, hidden=128), 97, 97, 0)
    expected = 1 / math.sqrt(128) / math.sqrt(3)  # std of U(−b, b) is b/√3
    for p in (net.ih.weight.detach(), net.hh.weight.detach()):
        assert float(p.std()) == pytest.approx(expected, rel=0.02)
        assert float(p.abs().max()) <= 1 / math.sqrt(128)


# -- a budget below the LU time is reported NOT RUN, with its numbers -------------------

SHORT_BUDGET_CLAIM = """
import pytest

from grokcore import setups
from grokcore.budget import shortfall


@pytest.mark.claim("RP-SHORT", title="late weight decay, old budget", paper="rnn-poster",
                   section="Fig 6")
def test_short(claim):
    # the paper tier before REFERENCES §3.2: full batch of 30,000 steps, γ on at step 5,000
    late = [setups.lstm_poster(seed=s, weight_decay=0.01, wd_on_at=5000, steps=30_000)
            for s in range(2)]
    if why := shortfall({"late-on": late}):
        pytest.skip(why)
    raise AssertionError("a budget below the LU time must not train")
"""


def run_claim_file(pytester, monkeypatch, body: str):
    """Run one claim module in an inner pytest session; its outcome and its single record."""
    import grokcore.plugin  # noqa: F401  (loaded once: the inner session reuses it)
    from grokcore.report import load_results_json

    monkeypatch.delenv("GROKCORE_SESSION", raising=False)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makeconftest('pytest_plugins = ["grokcore.plugin"]\n')
    pytester.makepyfile(test_claims=body)
    report = pytester.path / "out" / "index.html"
    result = pytester.runpytest("-p", "no:cacheprovider", "--report", str(report),
                                "--run-cache", str(pytester.path / "cache"))  # fmt: skip
    (rec,) = load_results_json(report.with_name("results.json"))[0]
    return result, rec


def test_budget_below_lu_time_is_reported_not_run(pytester, monkeypatch):
    from grokcore.record import Verdict

    result, rec = run_claim_file(pytester, monkeypatch, SHORT_BUDGET_CLAIM)
    result.assert_outcomes(skipped=1)
    assert rec.verdict is Verdict.NOT_RUN
    assert "LU time" in rec.reason and "30,000" in rec.reason and "165,944" in rec.reason


# -- GPU runners: one xdist worker per GPU, each pinned to its own ---------------------


def test_workers_are_pinned_one_per_gpu():
    from grokcore.plugin import worker_device

    assert [worker_device(f"gw{i}", 4) for i in range(6)] == [
        "cuda:0", "cuda:1", "cuda:2", "cuda:3", "cuda:0", "cuda:1",
    ]  # fmt: skip
    assert worker_device("gw3", 0) is None  # CPU runner: no pinning


def test_auto_workers_follow_the_gpu_count(monkeypatch):
    from grokcore.plugin import pytest_xdist_auto_num_workers

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 8)
    assert pytest_xdist_auto_num_workers(None) == 8  # type: ignore[arg-type]
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    assert pytest_xdist_auto_num_workers(None) is None  # xdist's default: one per core


# -- precision ---------------------------------------------------------------------------


def test_precision_is_part_of_the_key_and_checked():
    cfg = setups.modular(seed=0)
    bf16 = cfg.replace(precision="bf16")
    assert cfg.key() != bf16.key() and cfg.ensemble_key() != bf16.ensemble_key()
    with pytest.raises(ValueError, match=r"RunConfig\.precision='fp16'"):
        cfg.replace(precision="fp16")
    with pytest.raises(ValueError, match="lowers float32 only"):
        cfg.replace(precision="bf16", dtype="float64")


def test_tf32_is_fp32_on_a_cpu_and_bf16_trains_at_lower_precision():
    base = RunConfig(ModularTask("x+y", 11, 0.6), EmbedMLP(d_embed=8, width=32),
                     Optimizer(lr=1e-2, weight_decay=0.5), steps=30, eval_points=5)  # fmt: skip
    (fp32,) = Ensemble([base]).train()
    (tf32,) = Ensemble([base.replace(precision="tf32")]).train()
    (bf16,) = Ensemble([base.replace(precision="bf16")]).train()
    np.testing.assert_array_equal(fp32.batch_loss, tf32.batch_loss)  # TF32 is a CUDA mode
    assert not np.array_equal(fp32.batch_loss, bf16.batch_loss)
    np.testing.assert_allclose(fp32.batch_loss[:5], bf16.batch_loss[:5], rtol=0.05)


LOWER_PRECISION_CLAIM = """
import pytest

from grokcore.config import EmbedMLP, ModularTask, RunConfig
from grokcore.verdicts import Judgement


@pytest.mark.claim("T-BF16", title="unstated bf16", paper="fake", section="§1")
def test_bf16(claim):
    cfg = RunConfig(ModularTask("x+y", 5, 0.6), EmbedMLP(d_embed=4, width=8), steps=3,
                    precision="bf16")
    claim.run({"arm": [cfg]})
    claim.finish(Judgement("SUPPORTED", "fine", []), statement="x")
"""


def test_a_lower_precision_must_be_stated(pytester, monkeypatch):
    from grokcore.record import Verdict

    _, rec = run_claim_file(pytester, monkeypatch, LOWER_PRECISION_CLAIM)
    assert rec.verdict is Verdict.ERROR and "without stating it" in rec.traceback
