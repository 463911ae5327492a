"""The up-front time estimate: FLOP counts of known models, and the cost model's shape."""

from __future__ import annotations

import pytest

from grokcore import estimate, setups
from grokcore.config import MLP, RunConfig, TeacherStudentTask
from grokcore.estimate import Calibration


def teacher_student(k: int = 1, steps: int = 1000) -> list[RunConfig]:
    cfgs = [setups.teacher_student(seed=s, init_scale=2.0, weight_decay=0.03) for s in range(k)]
    return [c.replace(steps=steps) for c in cfgs]


def test_flops_of_the_omnigrok_mlp():
    cfg = teacher_student()[0]
    dense = (5 * 100 + 100) + (100 * 100 + 100) + (100 * 5 + 5)  # 5-100-100-5 with biases
    assert estimate.dense_params(cfg) == dense
    step, ev = estimate.flops(cfg)
    n_train, n_test = cfg.task.n_train, cfg.task.n_test
    assert step == 6 * dense * n_train  # full batch: forward 2, backward 4 FLOPs a weight
    assert ev == 2 * dense * (n_train + n_test)


def test_embedding_tables_cost_nothing():
    cfg = setups.modular(seed=0, scale="quick")  # embed 32 of p = 31 tokens, then 64-64-31
    m = cfg.model
    dense = (2 * m.d_embed * m.width + m.width) + (m.width * m.width + m.width)
    dense += m.width * cfg.task.p + cfg.task.p
    assert estimate.dense_params(cfg) == dense


def test_nanda_transformer_runs_only_the_read_position_past_keys_and_values():
    """x y =: K and V at 3 positions, Q, W_O, the MLP and the unembed at "=" alone."""
    full = setups.modular(seed=0, scale="full")
    step, _ = estimate.flops(full)
    n_train = round(0.3 * 113**2)
    d, d_mlp, vocab = 128, 512, 114
    kv, rest = 2 * d * d, 2 * d * d + 2 * d * d_mlp + d_mlp + d  # rest: Q, W_O, MLP, biases
    att = 2 * 3 * d  # q·k and att·v of one query over 3 keys
    assert step == 6 * n_train * (3 * kv + rest + att + d * vocab)
    old, _ = estimate.flops(full, full=True)  # the last block at all 3 positions
    assert old == 6 * n_train * (3 * (kv + rest + att) + d * vocab)
    assert step / old < 0.55  # issue 23's target


def test_power_transformer_runs_its_last_block_at_two_positions():
    """<eos> x op y = c: layer 1 at 6 positions; layer 2's K and V at 6, the rest at 2."""
    cfg = setups.power_arn(seed=0, op="x/y", train_frac=0.3)
    d, d_mlp, vocab = 128, 512, 100
    kv, rest = 2 * d * d, 2 * d * d + 2 * d * d_mlp + 4 * d  # rest: Q, W_O, MLP, 2 LNs
    att = 2 * 6 * d  # q·k and att·v of one query over 6 keys
    layer1, layer2 = 6 * (kv + rest + att), 6 * kv + 2 * (rest + att)
    assert estimate.forward_flops(cfg) == 2 * (layer1 + layer2 + 2 * d * vocab)
    assert estimate.forward_flops(cfg) / estimate.forward_flops(cfg, full=True) < 0.75


def test_time_grows_with_members_and_steps():
    cal = Calibration(overhead_s=1e-3, flops_per_s=1e9)
    one, many = teacher_student(1), teacher_student(8)
    assert estimate.seconds(many, cal) > estimate.seconds(one, cal)
    longer = teacher_student(1, steps=4000)
    ratio = estimate.seconds(longer, cal) / estimate.seconds(one, cal)
    assert 3.5 < ratio < 4.1  # linear in steps, evaluations aside
    step, _ = estimate.flops(one[0])
    assert estimate.seconds(one, cal) >= 1000 * (1e-3 + step / 1e9)


def test_calibration_measures_this_device():
    cal = estimate.calibrate("cpu", "float32")
    assert 0 < cal.overhead_s < 1 and cal.flops_per_s > 1e7
    assert estimate.calibrate("cpu", "float32") is cal  # once per process


def test_run_announces_the_estimate_before_training(tmp_path, capsys):
    from grokcore.runs import run

    cfg = RunConfig(
        task=TeacherStudentTask(d_in=2, d_out=2, n_train=8, n_test=8),
        model=MLP(hidden=(4,), act="tanh"),
        loss="mse",
        steps=5,
        eval_points=2,
    )
    run([cfg], use_cache=False, device="cpu", progress=True)
    err = capsys.readouterr().err
    first = next(line for line in err.splitlines() if "training 1 run(s)" in line)
    assert "estimated time" in first


def test_the_probe_is_the_default_on_cuda_and_the_environment_chooses(monkeypatch):
    import torch

    monkeypatch.delenv("GROKCORE_ESTIMATE", raising=False)
    assert estimate.mode(torch.device("cpu")) == "flops"
    assert estimate.mode(torch.device("cuda")) == "probe"  # a name only: nothing runs
    monkeypatch.setenv("GROKCORE_ESTIMATE", "probe")
    assert estimate.mode(torch.device("cpu")) == "probe"
    monkeypatch.setenv("GROKCORE_ESTIMATE", "FLOPS")
    assert estimate.mode(torch.device("cuda")) == "flops"


def test_a_probe_measures_each_shape_once_and_prices_steps_and_evaluations(monkeypatch):
    import torch

    from grokcore.config import eval_schedule
    from grokcore.train import engine

    trained = []
    real = engine.Ensemble.train
    monkeypatch.setattr(engine.Ensemble, "train", lambda self: trained.append(1) or real(self))
    monkeypatch.setattr(estimate, "_probed", {})
    chunk = teacher_student(k=3, steps=5000)
    step, ev = estimate.step_seconds(chunk, torch.device("cpu"))
    assert step > 0 and ev > 0 and len(trained) == 5  # a warm-up, then n, n, 2n, 2n steps
    assert estimate.step_seconds(chunk, torch.device("cpu")) == (step, ev)
    assert len(trained) == 5  # memoized: the same shape and K is not trained again
    n_evals = len(eval_schedule(5000, chunk[0].eval_points, chunk[0].eval_every))
    assert estimate.seconds_probed(chunk, step, ev) == pytest.approx(5000 * step + n_evals * ev)
    monkeypatch.setenv("GROKCORE_ESTIMATE", "probe")
    assert estimate.estimate([chunk], torch.device("cpu")) == pytest.approx(
        estimate.seconds_probed(chunk, step, ev)
    )


def test_a_probe_that_cannot_run_falls_back_to_the_formula(monkeypatch):
    import torch

    def fail(chunk, device):
        raise RuntimeError("out of memory")

    monkeypatch.setenv("GROKCORE_ESTIMATE", "probe")
    monkeypatch.setattr(estimate, "step_seconds", fail)
    chunk = teacher_student(k=2)
    cal = estimate.calibrate("cpu", "float32")
    assert estimate.estimate([chunk], torch.device("cpu")) == estimate.seconds(chunk, cal)


def test_train_limit_zero_never_probes(monkeypatch, tmp_path):
    """--train-limit 0 judges from the cache: its NOT RUN estimate may not train a step."""
    import torch

    from grokcore.cache import RunCache
    from grokcore.claim import TrainLimit

    probes = []
    monkeypatch.setenv("GROKCORE_ESTIMATE", "probe")
    monkeypatch.setattr(estimate, "step_seconds", lambda chunk, dev: probes.append(1) or (1, 1))
    cache, cpu = RunCache(tmp_path), torch.device("cpu")
    why = TrainLimit(0.0).refusal(teacher_student(k=2), cache, cpu)
    assert why is not None and "estimated" in why and "2 of 2 runs" in why
    assert probes == []
    TrainLimit(1e9).refusal(teacher_student(k=2), cache, cpu)  # a limit above 0 may probe
    assert probes
