"""The li-sakib, arn and rnn-poster claim statistics (LS-DIV, LS-WD2, AR-OPS, AR-FRAC / RP-FRAC,
RP-NOWD) on synthetic histories: each gives SUPPORTED on data that has the claimed shape, does not
give SUPPORTED on its control or on data that violates the claim (REFUTED where the CI clearly
misses the region), and is INCONCLUSIVE with "positive control failed" when nothing generalizes.
Seeds are fixed and appear in the test ids for replay."""

from __future__ import annotations

import math

import numpy as np
import pytest

from grokcore import plotting
from grokcore.history import History
from grokcore.record import Verdict
from grokcore.verdicts import (
    HARD_OPS,
    data_speedup,
    decay_halving,
    decay_necessary,
    delay_dominates,
    fraction_speedup,
    op_shares,
    op_table,
)
from tests.synthetic import (
    assert_png,
    assert_positive_control_failed,
    synthetic,
)


def arm(t_train, t_test, n=6, rng_seed=0, noise=0.1, **kw) -> list[History]:
    """n seeds around (t_train, t_test), each jittered by a lognormal factor (None: never)."""
    rng = np.random.default_rng(rng_seed)

    def jitter(t):
        return None if t is None else t * rng.lognormal(0, noise)

    return [synthetic(jitter(t_train), jitter(t_test), seed=s, **kw) for s in range(n)]


# -- LS-DIV --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_delay_dominates_supports_grokking_at_30_70(seed):
    grok = arm(100, 3000, rng_seed=seed)  # D ≈ 29·t_train
    control = arm(100, 150, rng_seed=seed + 10)  # comprehension: D ≈ 0.5·t_train
    j = delay_dominates(grok, control)
    assert j.verdict is Verdict.SUPPORTED, j.reason
    main = j.checks[0]
    assert main.value == 1.0 and main.bounds == (0.5, math.inf)
    assert "5,800" in (main.paper_value or "")
    assert j.control[1].verdict is Verdict.SUPPORTED  # the 70/30 control, after the positive one


def test_delay_dominates_with_li_sakibs_absolute_rule():
    j = delay_dominates(arm(100, 3000), arm(100, 150), min_delay_steps=1000)
    assert j.verdict is Verdict.SUPPORTED, j.reason
    # τ = 0.95 is reached at ≈ 1.28·t: D ≈ 900 steps > 5·t_train but < 1000 steps, comprehension
    # under the paper's rule
    j = delay_dominates(arm(100, 800, noise=0.02), arm(100, 150), min_delay_steps=1000)
    assert j.verdict is Verdict.REFUTED


def test_delay_dominates_reports_runs_that_never_generalize():
    grok = arm(100, 3000, n=4) + arm(100, None, n=2, rng_seed=1)
    j = delay_dominates(grok, arm(100, 150))
    assert j.verdict is Verdict.SUPPORTED, j.reason
    assert "2 memorization" in j.checks[0].detail
    assert sum(r["test_censored"] for r in j.runs if r["arm"] == "grok") == 2


def test_delay_dominates_refutes_comprehension_at_the_small_split():
    j = delay_dominates(arm(100, 200), arm(100, 150))  # D ≈ t_train: no grokking
    assert j.verdict is Verdict.REFUTED
    assert j.checks[0].ci is not None and j.checks[0].ci[1] < 0.5


def test_delay_dominates_control_that_groks_too_is_not_supported():
    j = delay_dominates(arm(100, 3000), arm(100, 3000, rng_seed=1))
    assert j.verdict is Verdict.INCONCLUSIVE
    assert j.reason.startswith("control failed")


def test_delay_dominates_nothing_generalizes_is_inconclusive():
    assert_positive_control_failed(delay_dominates(arm(100, None), arm(100, 150)))


# -- LS-WD2 --------------------------------------------------------------------------------------


def wd_runs(
    d1=2900.0, d2: float | None = 1450.0, top_fits=False, n=6, rng_seed=0, d2_budget=20_000
):
    """γ = 1, 2 and 10 arms with t_train = 100 and delays ≈ d1, d2; γ = 10 never fits."""
    hs = arm(100, 100 + d1, n=n, rng_seed=rng_seed)
    hs += arm(100, None if d2 is None else 100 + d2, n=n, rng_seed=rng_seed + 1, budget=d2_budget)
    hs += arm(100 if top_fits else None, None, n=n, rng_seed=rng_seed + 2)
    return [1.0] * n + [2.0] * n + [10.0] * n, hs


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_decay_halving_supports_half_the_delay(seed):
    j = decay_halving(*wd_runs(rng_seed=seed))
    assert j.verdict is Verdict.SUPPORTED, j.reason
    ratio = j.checks[0]
    assert 0.3 <= ratio.ci[0] and ratio.ci[1] <= 0.8 and ratio.bounds == (0.3, 0.8)
    assert j.fit is not None and abs(j.fit.value - 0.5) < 0.15


def test_decay_halving_refutes_an_unchanged_delay():
    j = decay_halving(*wd_runs(d2=2900.0))
    assert j.verdict is Verdict.REFUTED
    assert j.checks[0].verdict is Verdict.REFUTED


def test_decay_halving_refutes_a_large_decay_that_still_fits():
    j = decay_halving(*wd_runs(top_fits=True))
    assert j.verdict is Verdict.REFUTED
    assert j.checks[0].verdict is Verdict.SUPPORTED
    assert j.checks[1].verdict is Verdict.REFUTED


def test_decay_halving_censored_double_arm_cannot_support():
    # γ = 2 trained 1,700 steps: no run generalizes, every delay is the lower bound ≈ 1,570,
    # which alone would read as a ratio ≈ 0.4, inside the band
    j = decay_halving(*wd_runs(d2_budget=1700, d2=None))
    assert 0.3 < j.checks[0].value < 0.8
    assert j.checks[0].verdict is Verdict.INCONCLUSIVE
    assert "γ=2 runs censored" in j.checks[0].detail
    assert j.verdict is Verdict.INCONCLUSIVE


def test_decay_halving_nothing_generalizes_is_inconclusive():
    gammas, _ = wd_runs()
    hs = arm(100, None) + arm(100, None, rng_seed=1) + arm(None, None)
    assert_positive_control_failed(decay_halving(gammas, hs))


def test_decay_halving_needs_each_gamma():
    gammas, hs = wd_runs()
    with pytest.raises(ValueError, match="γ = 2"):
        decay_halving([g if g != 2.0 else 1.0 for g in gammas], hs)
    with pytest.raises(ValueError, match="largest γ"):
        decay_halving([min(g, 2.0) for g in gammas], hs)


# -- AR-OPS --------------------------------------------------------------------------------------

EASY_OPS = ("x+y", "x-y", "x*y", "x/y", "x^2+y^2")


def op_runs(t_test: dict[str, float | None], seeds: int = 5, rng_seed: int = 0):
    ops, hs = [], []
    for i, (op, t) in enumerate(t_test.items()):
        ops += [op] * seeds
        hs += arm(100, t, n=seeds, rng_seed=rng_seed + i)
    return ops, hs


ARN = {**dict.fromkeys(EASY_OPS, 3000.0), **dict.fromkeys(HARD_OPS, None)}


@pytest.mark.parametrize("seeds", [3, 5])
def test_op_shares_supports_arn(seeds):
    j = op_shares(*op_runs(ARN, seeds=seeds))
    assert j.verdict is Verdict.SUPPORTED, j.reason
    assert len(j.checks) == 7
    hard = [c for c in j.checks if c.name.split(":")[0] in HARD_OPS]
    assert all(c.value == 0.0 and c.bounds == (-math.inf, 0.2) for c in hard)


def test_op_shares_refutes_a_hard_op_that_generalizes():
    j = op_shares(*op_runs({**ARN, "x^3+xy": 3000.0}))
    assert j.verdict is Verdict.REFUTED
    assert [c.verdict for c in j.checks].count(Verdict.REFUTED) == 1


def test_op_shares_refutes_a_grokking_op_that_does_not():
    j = op_shares(*op_runs({**ARN, "x^2+y^2": None}))
    assert j.verdict is Verdict.REFUTED


def test_op_shares_half_the_seeds_is_inconclusive():
    ops, hs = op_runs(ARN, seeds=4)
    i = ops.index("x/y")
    hs[i : i + 2] = arm(100, None, n=2)  # 2 of 4: CP CI [0.07, 0.93] still reaches 0.8
    j = op_shares(ops, hs)
    assert j.verdict is Verdict.INCONCLUSIVE


def test_op_shares_nothing_generalizes_is_inconclusive():
    assert_positive_control_failed(op_shares(*op_runs(dict.fromkeys(ARN, None))))


def test_op_shares_needs_the_hard_ops():
    ops, hs = op_runs(dict.fromkeys(EASY_OPS, 3000.0))
    with pytest.raises(ValueError, match="hard op"):
        op_shares(ops, hs)
    assert op_shares(ops, hs, hard=()).verdict is Verdict.SUPPORTED


def test_op_table_rows():
    table = op_table(*op_runs({"x+y": 3000.0, "x^3+xy": None}, seeds=3))
    assert [r["label"] for r in table] == ["x+y", "x^3+xy"]
    assert [(r["generalized"], r["n"], r["hard"]) for r in table] == [(3, 3, False), (0, 3, True)]
    assert table[1]["bound"] == 0.2 and table[1]["side"] == "at_most"


# -- AR-FRAC / RP-FRAC ---------------------------------------------------------------------------

FRACTIONS = (0.3, 0.4, 0.5, 0.6, 0.7)


def frac_runs(t_of_f, seeds: int = 3, rng_seed: int = 0):
    rng = np.random.default_rng(rng_seed)
    fr, hs = [], []
    for f in FRACTIONS:
        for s in range(seeds):
            t = t_of_f(f)
            hs.append(synthetic(50, None if t is None else t * rng.lognormal(0, 0.1), seed=s))
            fr.append(f)
    return fr, hs


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fraction_speedup_supports_later_generalization_with_less_data(seed):
    # the smallest fraction never generalizes: counted at the budget and reported
    fr, hs = frac_runs(lambda f: None if f == 0.3 else 300 / f**3, rng_seed=seed)
    j = fraction_speedup(fr, hs)
    assert j.verdict is Verdict.SUPPORTED, j.reason
    assert j.checks[0].name == "Spearman ρ(train fraction, t_test)"
    assert "3 of 15 runs censored" in j.checks[0].detail
    assert {r["train_frac"] for r in j.runs} == set(FRACTIONS)


def test_fraction_speedup_refutes_later_generalization_with_more_data():
    j = fraction_speedup(*frac_runs(lambda f: 10_000 * f))
    assert j.verdict is Verdict.REFUTED


def test_fraction_speedup_needs_two_generalizing_fractions():
    j = fraction_speedup(*frac_runs(lambda f: 500 if f == 0.7 else None))
    assert_positive_control_failed(j)
    assert "1 fractions (0.7)" in j.control[0].detail


def test_fraction_speedup_nothing_generalizes_is_inconclusive():
    assert_positive_control_failed(fraction_speedup(*frac_runs(lambda f: None)))


def test_data_speedup_defaults_are_unchanged():
    sizes = [200, 200, 1000, 1000, 4000, 4000]
    hs = [synthetic(50, 2e6 / n, seed=i % 2) for i, n in enumerate(sizes)]
    j = data_speedup(sizes, hs)
    assert j.checks[0].name == "Spearman ρ(N, t_test)"
    assert j.control[0].name == "positive control: sizes at which the runs generalize"
    assert all(isinstance(r["n_train"], int) for r in j.runs)


# -- RP-NOWD -------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_decay_necessary_supports_no_generalization_without_decay(seed):
    j = decay_necessary(arm(100, None, rng_seed=seed), arm(100, 3000, rng_seed=seed + 1))
    assert j.verdict is Verdict.SUPPORTED, j.reason
    assert j.checks[0].bounds == (-math.inf, 0.2)
    assert j.checks[1].value < 0.01  # 0/6 vs 6/6: one-sided Fisher p ≈ 0.001


def test_decay_necessary_refutes_generalizing_without_decay():
    j = decay_necessary(arm(100, 3000), arm(100, 3000, rng_seed=1))
    assert j.verdict is Verdict.REFUTED
    assert all(c.verdict is Verdict.REFUTED for c in j.checks)


def test_decay_necessary_three_seeds_each_is_inconclusive():
    # 0/3 vs 3/3: one-sided Fisher p = 0.05, not < 0.05
    j = decay_necessary(arm(100, None, n=3), arm(100, 3000, n=3))
    assert j.verdict is Verdict.INCONCLUSIVE
    assert j.checks[1].verdict is Verdict.INCONCLUSIVE


def test_decay_necessary_nothing_generalizes_is_inconclusive():
    assert_positive_control_failed(decay_necessary(arm(100, None), arm(100, None, rng_seed=1)))


# -- figures -------------------------------------------------------------------------------------


def test_plot_shares(tmp_path):
    table = op_table(*op_runs({**ARN, "x^3+xy": 3000.0}, seeds=3))
    assert_png(plotting.plot_shares(table, tmp_path / "ops.png", "AR-OPS"))
    plain = [{k: r[k] for k in ("label", "generalized", "n", "share", "share_ci")} for r in table]
    assert_png(plotting.plot_shares(plain, tmp_path / "plain.png"))
