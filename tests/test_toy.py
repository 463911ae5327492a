"""The representation toy (omnigrok §5.1, App D): its table and splits, its model, and that it
trains in the batched engine as the plain single run does."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as hs

from grokcore import setups
from grokcore.config import (
    EmbedMLP,
    ModularTask,
    Optimizer,
    PairSumTask,
    RepresentationToy,
    RunConfig,
)
from grokcore.data import build_data, pair_table
from grokcore.data.toy import pair_split, seen_share
from grokcore.models import build_model, param_groups
from grokcore.runs import run
from tests.test_engine import check_against_reference


def _rows(x: torch.Tensor) -> set[tuple[int, ...]]:
    return {tuple(r) for r in x.tolist()}


# -- the task --------------------------------------------------------------------------


def test_the_table_is_the_55_pairs_i_le_j_labelled_by_their_plain_sum():
    x, y = pair_table(10)
    assert x.shape == (55, 2) and y.shape == (55,) and x.dtype == y.dtype == torch.int64
    assert _rows(x) == {(i, j) for i in range(10) for j in range(i, 10)}
    assert torch.equal(y, x.sum(1))  # k = i + j, not mod p (App D)
    assert set(y.tolist()) == set(range(19))
    assert x[:3].tolist() == [[0, 0], [0, 1], [0, 2]]  # the notebook's order
    task = PairSumTask()
    assert (task.p, task.n_train, task.n_pairs, task.n_classes) == (10, 45, 55, 19)


def test_build_data_splits_the_table_by_seed():
    d = build_data(PairSumTask(10, 45), 0)
    assert (len(d.y_train), len(d.y_test), d.n_in, d.n_out) == (45, 10, 10, 19)
    assert d.kind == "classification"
    train, test = _rows(d.x_train), _rows(d.x_test)
    assert not train & test and len(train | test) == 55
    assert torch.equal(d.y_train, d.x_train.sum(1)) and torch.equal(d.y_test, d.x_test.sum(1))
    again = build_data(PairSumTask(10, 45), 0)
    assert torch.equal(again.x_train, d.x_train)
    assert _rows(build_data(PairSumTask(10, 45), 1).x_train) != train


def test_training_sets_of_one_seed_are_nested_across_sizes():
    for seed in range(3):
        sets = [_rows(build_data(PairSumTask(10, n), seed).x_train) for n in (15, 25, 35, 45)]
        assert all(a < b for a, b in itertools.pairwise(sets)), seed


@settings(max_examples=40, deadline=None)
@given(p=hs.integers(2, 16), frac=hs.floats(0.0, 1.0), seed=hs.integers(0, 2**31 - 1))
def test_any_split_is_disjoint_and_covers_the_table(p, frac, seed):
    n = p * (p + 1) // 2
    n_train = min(max(1, round(frac * n)), n - 1)
    tr, te = pair_split(PairSumTask(p, n_train), seed)
    assert len(tr) == n_train and len(te) == n - n_train
    assert not set(tr) & set(te) and set(tr) | set(te) == set(range(n))


@pytest.mark.parametrize("n_train", [0, -3, 55, 56, 1.5, True, "45"])
def test_a_bad_training_size_is_refused_naming_the_field(n_train):
    with pytest.raises(ValueError, match=r"PairSumTask\.n_train"):
        PairSumTask(10, n_train)


def test_a_bad_base_is_refused_naming_the_field():
    with pytest.raises(ValueError, match=r"PairSumTask\.p"):
        PairSumTask(1, 1)
    assert PairSumTask(2, 1).n_pairs == 3  # the smallest table with a test pair


def test_seen_share_counts_test_pairs_whose_sum_is_trained():
    task = PairSumTask(10, 45)
    for seed in range(5):
        d = build_data(task, seed)
        seen = set(d.y_train.tolist())
        expect = np.mean([k in seen for k in d.y_test.tolist()])
        assert seen_share(task, seed) == pytest.approx(expect)


def test_the_toy_model_and_task_go_only_together_and_hash_like_other_configs():
    with pytest.raises(ValueError, match=r"RunConfig\.model"):
        RunConfig(PairSumTask(), EmbedMLP())
    with pytest.raises(ValueError, match=r"RunConfig\.model"):
        RunConfig(ModularTask(), RepresentationToy())
    a = RunConfig(PairSumTask(10, 45), RepresentationToy())
    assert a.key() == RunConfig(PairSumTask(10, 45), RepresentationToy()).key()
    assert a.key() != a.replace(task=PairSumTask(10, 35)).key()
    assert a.key() != a.replace(model=RepresentationToy(lr_ratio=10)).key()
    assert a.to_dict()["task"] == {"__type__": "PairSumTask", "p": 10, "n_train": 45}
    with pytest.raises(ValueError, match=r"RepresentationToy\.act"):
        RepresentationToy(act="gelu")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"RepresentationToy\.lr_ratio"):
        RepresentationToy(lr_ratio=0)


# -- the model -------------------------------------------------------------------------


def test_the_paper_sized_model_has_its_shapes_and_parameter_count():
    m = build_model(RepresentationToy(), 10, 19, seed=0)
    shapes = {n: tuple(p.shape) for n, p in m.named_parameters()}
    assert shapes == {
        "embed.weight": (10, 1),  # scalar E_i (App D)
        "decoder.0.weight": (200, 1),
        "decoder.0.bias": (200,),
        "decoder.2.weight": (200, 200),
        "decoder.2.bias": (200,),
        "decoder.4.weight": (19, 200),  # one logit per sum 0..18
        "decoder.4.bias": (19,),
    }
    assert sum(p.numel() for p in m.parameters()) == 10 + 400 + 40_200 + 3_819
    # App D's 1-200-200-30 decoder (30-D target vectors) has 46,640 with its 10 E_i
    assert sum(p.numel() for p in build_model(RepresentationToy(), 10, 30, 0).parameters()) == (
        46_640
    )
    assert set(param_groups(m)) == {"embed", "decoder"}


def test_the_decoder_reads_the_sum_of_the_two_embeddings():
    m = build_model(RepresentationToy(act="leaky_relu", d_embed=2), 10, 19, seed=3)
    x, _ = pair_table(10)
    out = m(x)
    assert out.shape == (55, 19)
    e = m.representation()
    torch.testing.assert_close(out, m.decoder(e[x[:, 0]] + e[x[:, 1]]))
    torch.testing.assert_close(out, m(x.flip(1)))  # (i, j) and (j, i) are one input
    assert isinstance(m.decoder[1], torch.nn.LeakyReLU) and m.decoder[1].negative_slope == 0.2


def test_lr_ratio_is_a_second_adam_learning_rate_for_the_representation():
    x, y = pair_table(10)
    plain = build_model(RepresentationToy(), 10, 19, seed=0)
    fast = build_model(RepresentationToy(lr_ratio=10), 10, 19, seed=0)
    # the same network at init: E starts N(0, 1) whatever the ratio
    torch.testing.assert_close(fast.representation(), plain.representation())
    torch.testing.assert_close(fast(x), plain(x))
    moves = []
    for m in (plain, fast):
        e0, w0 = m.representation().detach().clone(), m.decoder[0].weight.detach().clone()
        opt = torch.optim.Adam(m.parameters(), lr=1e-3, betas=(0.9, 0.99))
        torch.nn.functional.cross_entropy(m(x), y).backward()
        opt.step()  # Adam's first step moves every parameter by lr·sign(grad)
        with torch.no_grad():
            moves.append(
                (
                    float((m.representation() - e0).abs().max()),
                    float((m.decoder[0].weight - w0).abs().max()),
                )
            )
    (e_plain, w_plain), (e_fast, w_fast) = moves
    assert e_plain == pytest.approx(1e-3, rel=1e-3)
    assert e_fast == pytest.approx(1e-2, rel=1e-3)  # η_R = 10·η_D
    assert w_plain == pytest.approx(1e-3, rel=1e-3)
    assert w_fast == pytest.approx(1e-3, rel=1e-3)


# -- training --------------------------------------------------------------------------


def test_an_ensemble_member_equals_its_reference_run():
    """Members of other seeds, rates, α and decay, at both ratios, and a smaller training set
    (its own ensemble: the key keeps split sizes apart).

    The rates stay at or below 1e-2 for E: a scalar input crossing ReLU kinks amplifies
    float32 round-off fast, and at η_R = 0.1 a member drifts 2e-5 from its reference by
    step 17, as any two float32 programs would."""
    paper = RepresentationToy()
    adam = [
        RunConfig(PairSumTask(10, n), paper, Optimizer("adam", lr=lr, betas=(0.9, 0.99)),
                  steps=40, seed=s, init_scale=a, eval_points=20)
        for s, n, lr, a in [(0, 45, 1e-2, 1.0), (1, 45, 3e-3, 1.0), (2, 45, 3e-3, 1.5)]
    ]  # fmt: skip
    fast = RepresentationToy(act="leaky_relu", lr_ratio=10)
    adamw = [
        RunConfig(PairSumTask(10, 45), fast, Optimizer("adamw", lr=1e-3, weight_decay=g),
                  steps=40, seed=s, eval_points=20)
        for s, g in [(0, 0.0), (3, 0.1)]
    ]  # fmt: skip
    small = [adam[1].replace(task=PairSumTask(10, 25))]
    for cfgs in (adam, adamw, small):
        check_against_reference(cfgs)


def test_more_training_pairs_generalize_where_few_do_not():
    """Sanity, not the claim: seeds 0-7 at 15 and 45 pairs, 1,500 steps, η_R = 10·η_D.

    With 4 seeds and 300 steps this depended on the CPU's round-off: on a second machine
    seed 0 at 45 pairs had not fit its pairs (0.84) and only 1 of 4 generalized. The
    toy is chaotic in the seed. 8 seeds and 1,000 steps held on both machines until the
    CPU's Adam became torch's fused kernel (rounding only): then seed 6 at 45 pairs had
    fit 0.82 of them at step 1,000; at 1,500 every run fits with either update.
    """
    cfgs = [
        setups.representation_toy(seed=s, n_train=n, steps=1500, lr_ratio=10)
        for n in (15, 45)
        for s in range(8)
    ]
    hists = run(cfgs, use_cache=False, progress=False)
    final = {n: [float(h.test_acc[-1]) for c, h in zip(cfgs, hists, strict=True)
                 if c.task.n_train == n] for n in (15, 45)}  # fmt: skip
    assert all(h.train_acc[-1] >= 0.9 for h in hists), final  # every run fits its pairs
    assert max(final[15]) < 0.2, final
    assert max(final[45]) >= 0.95, final
    assert np.mean(final[45]) > np.mean(final[15]) + 0.15, final


def test_the_setup_is_the_notebooks_training_with_each_deviation_noted():
    full = setups.representation_toy(seed=0, n_train=45, scale="full")
    quick = setups.representation_toy(seed=0, n_train=45)
    assert (full.steps, quick.steps) == (15_000, 3000)
    for c in (full, quick):
        assert c.optim.name == "adam" and c.optim.lr == 1e-2 and c.optim.betas == (0.9, 0.99)
        assert c.batch_size is None and c.loss == "ce" and c.optim.weight_decay == 0
        assert c.model == RepresentationToy() and c.task == PairSumTask(10, 45)
        assert c.notes and all(n.why and n.paper != n.ours for n in c.notes)
    names = {n.name for n in quick.notes}
    assert {"steps", "loss", "optim.lr schedule", "representation"} <= names
    assert "model.lr_ratio" not in names
    fast = setups.representation_toy(seed=0, n_train=45, lr_ratio=10)
    assert "model.lr_ratio" in {n.name for n in fast.notes}
