"""OG-REPR's trained toy as Liu et al.'s code trains it (`ejmichaud/grokking-squared` @42ae7cb
`toy/train_add.py`): MSE onto random templates with nearest-template scoring, tanh, E_i
drawn U(−½, ½), and the embeddings recorded at every evaluation (`History.traces`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from grokcore import setups
from grokcore.config import Optimizer, PairSumTask, RepresentationToy, RunConfig
from grokcore.data import TaskData, build_data, pair_table
from grokcore.data.toy import template_vectors
from grokcore.history import History
from grokcore.models import build_model, traced_params
from grokcore.train import Ensemble, train_reference
from grokcore.train.objective import per_sample_correct
from grokcore.verdicts import rqi
from tests.test_engine import check_against_reference

TOY = RepresentationToy(act="tanh", lr_ratio=10.0, embed_init="uniform")


def _cfg(seed: int, n: int = 45, steps: int = 40, **kw) -> RunConfig:
    return RunConfig(
        PairSumTask(10, n, targets=30), TOY, Optimizer("adamw", lr=1e-3, weight_decay=0.0),
        loss="mse", steps=steps, seed=seed, eval_points=10, batch_size=45 if n > 45 else None,
        **kw,
    )  # fmt: skip


def test_targets_are_each_sums_seeded_template_and_the_table_is_unchanged():
    task = PairSumTask(10, 45, targets=30)
    d = build_data(task, 3)
    t = template_vectors(task, 3)
    assert d.kind == "regression" and (d.n_in, d.n_out) == (10, 30) and t.shape == (19, 30)
    x, y = pair_table(10)
    labels = {tuple(r): int(k) for r, k in zip(x.tolist(), y.tolist(), strict=True)}
    for xi, yi in zip(d.x_train.tolist(), d.y_train, strict=True):
        torch.testing.assert_close(yi, t[labels[tuple(xi)]])  # Ŷ_{i+j}
    torch.testing.assert_close(template_vectors(task, 3), t)  # seeded
    assert not torch.equal(template_vectors(task, 4), t)  # and differ between seeds
    assert abs(float(t.std()) - 1) < 0.15  # N(0, 1), as train_add.py's np.random.normal
    # the split is the classification task's: only the targets changed
    plain = build_data(PairSumTask(10, 45), 3)
    assert torch.equal(plain.x_train, d.x_train) and torch.equal(plain.x_test, d.x_test)


def test_bad_targets_and_a_wrong_loss_are_refused_naming_the_field():
    with pytest.raises(ValueError, match="targets"):
        PairSumTask(10, 45, targets=-1)
    with pytest.raises(ValueError, match="loss"):
        RunConfig(PairSumTask(10, 45, targets=30), TOY, loss="ce")
    with pytest.raises(ValueError, match="no templates"):
        template_vectors(PairSumTask(10, 45), 0)


def test_the_default_task_and_model_hash_as_before():
    """New fields at their defaults are left out of the key: older caches stay valid."""
    old = RunConfig(PairSumTask(10, 45), RepresentationToy())
    assert "targets" not in str(old.to_dict()) and "embed_init" not in str(old.to_dict())
    assert old.key() != RunConfig(PairSumTask(10, 45, targets=30), TOY, loss="mse").key()


def test_a_prediction_is_correct_when_its_nearest_template_is_the_targets():
    t = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    data = TaskData(torch.zeros(1), torch.zeros(1), torch.zeros(1), torch.zeros(1),
                    "regression", 10, 2, templates=t)  # fmt: skip
    y = t[[0, 1, 2]]
    out = torch.tensor([[[0.1, 0.1], [0.4, 0.0], [0.9, 0.95]]])  # (K=1, n=3, d)
    assert per_sample_correct(out, y, data).tolist() == [[True, False, True]]
    # each member its own templates: (K, C, d)
    two = dataclasses.replace(data, templates=torch.stack([t, -t]))
    out2 = torch.stack([y, -y])  # member 1's targets are its own templates' rows
    assert per_sample_correct(out2, torch.stack([y, -y]), two).all()
    assert not per_sample_correct(torch.stack([y, y]), torch.stack([y, -y]), two)[1, 1:].any()


def test_the_model_is_train_adds_tanh_decoder_with_uniform_embeddings():
    for seed in range(10):
        m = build_model(TOY, 10, 30, seed)
        e = m.representation().detach()
        assert e.shape == (10, 1) and float(e.abs().max()) <= 0.5  # U(−½, ½), whatever c is
        acts = [type(x) for x in m.decoder if not isinstance(x, nn.Linear)]
        assert acts == [nn.Tanh, nn.Tanh]
        assert [x.out_features for x in m.decoder if isinstance(x, nn.Linear)] == [200, 200, 30]
    assert traced_params(m) == ("embed.weight",)
    with pytest.raises(ValueError, match="embed_init"):
        RepresentationToy(embed_init="xavier")  # type: ignore[arg-type]


def test_an_ensemble_member_equals_its_reference_run_traces_included():
    full = [_cfg(0), _cfg(2)]
    smaller = [_cfg(1, n=40)]  # another training-set size: its own ensemble
    batched = [_cfg(1, n=54), _cfg(3, n=54)]  # 45 pairs a step
    for cfgs in (full, smaller, batched):
        check(cfgs)


def check(cfgs: list[RunConfig]) -> None:
    hists = check_against_reference(cfgs)
    for c, h in zip(cfgs, hists, strict=True):
        r = train_reference(c)
        assert h.traces.keys() == r.traces.keys() == {"embed.weight"}
        assert h.traces["embed.weight"].shape == (len(h.steps), 10)
        np.testing.assert_allclose(h.traces["embed.weight"], r.traces["embed.weight"],
                                   rtol=1e-4, atol=1e-6)  # fmt: skip
        # the first trace is the initial Ẽ (the stored parameter, E/c)
        first = build_model(TOY, 10, 30, c.seed).embed.weight.detach().numpy().ravel()
        np.testing.assert_allclose(h.traces["embed.weight"][0], first, rtol=1e-6)


def test_traces_survive_storage_and_a_bad_shape_is_refused():
    h = Ensemble([_cfg(0, steps=5)]).train()[0]
    back = History.from_bytes(h.to_bytes())
    np.testing.assert_array_equal(back.traces["embed.weight"], h.traces["embed.weight"])
    with pytest.raises(ValueError, match="traces"):
        History(steps=h.steps, train_loss=h.train_loss, train_acc=h.train_acc,
                test_loss=h.test_loss, test_acc=h.test_acc, norm=h.norm, budget=5,
                traces={"embed.weight": np.zeros(3)})  # fmt: skip


def test_the_representation_becomes_linear_in_most_seeds_at_45_pairs():
    """Sanity, not the claim: at the quick tier's rates (η_R 1e-2, η_D 1e-3), 300 steps,
    seeds 0-5 at 45 pairs, the embeddings reach RQI ≥ 0.95 in at least half of the runs (a
    pilot: seeds 0 and 1 of 0-2 by step ≈ 200), and they start far from it."""
    cfgs = [setups.representation_grokking(seed=s, n_train=45, steps=300) for s in range(6)]
    hists = Ensemble(cfgs).train()
    curves = [[rqi(e.reshape(-1, 1)) for e in h.traces["embed.weight"]] for h in hists]
    assert max(c[0] for c in curves) < 0.5
    assert sum(c[-1] >= 0.95 for c in curves) >= 3, [round(c[-1], 2) for c in curves]


def test_the_setup_is_train_adds_at_its_defaults():
    full = setups.representation_grokking(seed=0, n_train=54, scale="full")
    quick = setups.representation_grokking(seed=0, n_train=45)
    assert (full.steps, quick.steps) == (10_000, 1000)
    assert (full.eval_every, quick.eval_every) == (50, 5)
    assert (full.optim.lr, quick.optim.lr) == (1e-4, 1e-3)
    for c in (full, quick):
        assert c.task.targets == 30 and c.loss == "mse" and c.model == TOY
        assert c.optim.name == "adamw" and c.optim.weight_decay == 0
        assert c.optim.betas == (0.9, 0.999) and c.dtype == "float32"
    assert full.batch_size == 45 and quick.batch_size is None  # min(45, n): full below 46
