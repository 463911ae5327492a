"""Task data: modular tables checked by brute force, seeded splits, teacher-student labels."""

from __future__ import annotations

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as hs

from grokcore.config import MLP, OPERATIONS, OTHER_OPERATIONS, ModularTask, TeacherStudentTask
from grokcore.data import build_data, modular_table, split_indices
from grokcore.data.teacher import teacher_student_data
from grokcore.models import build_mlp

PRIMES = (5, 7, 11, 13, 23)

# -- modular tables ------------------------------------------------------------------


def brute_force(op: str, p: int) -> dict[tuple[int, int], int]:
    """The table of `op` mod p in plain Python integers; division ops skip y = 0."""
    table = {}
    for x in range(p):
        for y in range(p):
            inv = pow(y, p - 2, p)  # Fermat inverse, only used when y != 0
            if op == "x+y":
                z = x + y
            elif op == "x-y":
                z = x - y
            elif op == "x*y":
                z = x * y
            elif op == "x*y (y>0)":  # ironjr/grokfast `multiplication_mod_p_data`
                if y == 0:
                    continue
                z = x * y
            elif op == "x/y":
                if y == 0:
                    continue
                z = x * inv
            elif op == "x^2+y^2":
                z = x**2 + y**2
            elif op == "x^3+xy":
                z = x**3 + x * y
            elif op == "x^2+xy+y^2":
                z = x**2 + x * y + y**2
            elif op == "x/y if y odd else x-y":  # openai/grok mix1: all p² pairs
                z = x * inv if y % 2 == 1 else x - y
            else:
                raise AssertionError(op)
            table[(x, y)] = z % p
    return table


@pytest.mark.parametrize("p", [7, 23])
@pytest.mark.parametrize("op", OPERATIONS + OTHER_OPERATIONS)
def test_table_matches_brute_force(op, p):
    xy, z = modular_table(ModularTask(op, p, 0.5))
    expected = brute_force(op, p)
    assert xy.dtype == z.dtype == torch.int64
    assert xy.shape == (len(expected), 2) and z.shape == (len(expected),)
    got = {(int(a), int(b)): int(c) for (a, b), c in zip(xy.tolist(), z.tolist(), strict=True)}
    assert got == expected


def test_division_table_drops_y_zero_and_inverts():
    p = 11
    xy, z = modular_table(ModularTask("x/y", p, 0.5))
    assert len(z) == p * (p - 1)
    assert (xy[:, 1] != 0).all()
    # z = x / y  <=>  z * y = x (mod p)
    assert ((z * xy[:, 1]) % p == xy[:, 0]).all()


def test_mixed_table_divides_on_odd_y_over_all_pairs():
    p = 11
    xy, z = modular_table(ModularTask("mixed", p, 0.5))
    assert len(z) == p * p
    odd = xy[:, 1] % 2 == 1
    assert ((z * xy[:, 1]) % p == xy[:, 0])[odd].all()
    assert (z == (xy[:, 0] - xy[:, 1]) % p)[~odd].all()


# -- splits --------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    op=hs.sampled_from(OPERATIONS),
    p=hs.sampled_from(PRIMES),
    frac=hs.floats(0.05, 0.95),
    seed=hs.integers(0, 2**32 - 1),
)
def test_split_is_a_partition_of_the_table(op, p, frac, seed):
    task = ModularTask(op, p, frac)
    n = len(modular_table(task)[1])
    train, test = split_indices(n, frac, seed)
    assert set(train.tolist()).isdisjoint(test.tolist())
    assert sorted([*train.tolist(), *test.tolist()]) == list(range(n))
    assert len(train) == min(max(round(frac * n), 1), n - 1)
    # TaskData holds exactly those rows
    data = build_data(task, seed)
    rows = lambda x: {tuple(r) for r in x.tolist()}  # noqa: E731
    assert len(data.x_train) == len(train) and len(data.x_test) == len(test)
    assert rows(data.x_train).isdisjoint(rows(data.x_test))
    assert len(rows(data.x_train) | rows(data.x_test)) == n


@settings(max_examples=30, deadline=None)
@given(
    p=hs.sampled_from((11, 13, 23)),  # N >= 110: two seeds give one split with negligible odds
    frac=hs.floats(0.05, 0.95),
    seed=hs.integers(0, 2**32 - 1),
    other=hs.integers(0, 2**32 - 1),
)
def test_split_is_a_function_of_the_seed(p, frac, seed, other):
    assume(seed != other)
    n = p * p
    a_train, a_test = split_indices(n, frac, seed)
    b_train, b_test = split_indices(n, frac, seed)
    assert (a_train == b_train).all() and (a_test == b_test).all()
    c_train, _ = split_indices(n, frac, other)
    assert set(c_train.tolist()) != set(a_train.tolist())


@pytest.mark.parametrize("n, frac, n_train", [(10, 0.01, 1), (10, 0.99, 9), (4, 0.5, 2)])
def test_split_keeps_both_sides_nonempty(n, frac, n_train):
    train, test = split_indices(n, frac, 0)
    assert len(train) == n_train and len(test) == n - n_train


def test_modular_task_data_fields():
    data = build_data(ModularTask("x*y", 13, 0.3), 1)
    assert data.kind == "classification"
    assert data.n_in == data.n_out == 13
    assert data.y_train.dtype == torch.int64
    assert int(data.y_train.max()) < 13 and int(data.y_train.min()) >= 0


def test_data_seed_not_training_seed_picks_the_split():
    from grokcore.config import EmbedMLP, RunConfig

    cfg = RunConfig(ModularTask("x+y", 11, 0.5), EmbedMLP(d_embed=8, width=8), seed=3)
    assert cfg.split_seed == 3
    assert cfg.replace(data_seed=9).split_seed == 9


# -- teacher-student -----------------------------------------------------------------

TS = TeacherStudentTask(d_in=5, width=16, d_out=3, n_train=40, n_test=30)


def test_teacher_student_shapes_and_fields():
    data = build_data(TS, 0)
    assert data.x_train.shape == (40, 5) and data.y_train.shape == (40, 3)
    assert data.x_test.shape == (30, 5) and data.y_test.shape == (30, 3)
    assert data.kind == "regression"
    assert (data.n_in, data.n_out, data.threshold) == (5, 3, TS.threshold)
    assert data.x_train.dtype == data.y_train.dtype == torch.float32


def test_teacher_student_is_deterministic_per_seed():
    a, b = teacher_student_data(TS, 4), teacher_student_data(TS, 4)
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))


def test_teacher_student_differs_across_seeds():
    a, b = teacher_student_data(TS, 0), teacher_student_data(TS, 1)
    assert not torch.allclose(a[0], b[0])  # inputs
    assert not torch.allclose(a[1], b[1])  # targets


def test_teacher_student_targets_are_one_teacher_forward():
    seed = 2
    xtr, ytr, xte, yte = teacher_student_data(TS, seed)
    # the teacher is a default-init tanh MLP d_in-width-width-d_out drawn from 20_000 + seed
    teacher = build_mlp(MLP(hidden=(16, 16), act="tanh"), 5, 3, seed=20_000 + seed)
    with torch.no_grad():
        assert torch.allclose(teacher(xtr), ytr, atol=1e-6)
        assert torch.allclose(teacher(xte), yte, atol=1e-6)


def test_teacher_student_leaves_global_rng_alone():
    state = torch.get_rng_state()
    teacher_student_data(TS, 7)
    assert torch.equal(state, torch.get_rng_state())


# -- memoization ---------------------------------------------------------------------


@pytest.mark.parametrize("task", [ModularTask("x-y", 11, 0.4), TS], ids=["modular", "teacher"])
def test_build_data_memoizes(task):
    first = build_data(task, 3)
    # an equal (not identical) task config hits the same entry
    twin = type(task)(**{f: getattr(task, f) for f in task.__dataclass_fields__})
    assert twin is not task
    assert build_data(twin, 3) is first
    other = build_data(task, 4)
    assert other is not first
    assert not torch.equal(other.y_train, first.y_train) or not torch.equal(
        other.x_train, first.x_train
    )
