"""LS-CORR's sweep and statistic on synthetic histories: the seeded draw of li-sakib's grid, the
delay in epochs (REFERENCES P10), SUPPORTED on a sweep built with Table 1's signs, not SUPPORTED
on the permuted-factor control, INCONCLUSIVE when nothing groks. Seeds are in the test ids."""

from __future__ import annotations

import numpy as np
import pytest

from grokcore import plotting, setups, stats
from grokcore.config import RunConfig
from grokcore.record import Verdict
from grokcore.seeds import sample_grid
from grokcore.verdicts import correlation_table, sweep_correlations, sweep_correlations_runs
from grokcore.verdicts.sweep import (
    SMALL,
    describe,
    epochs,
    permuted,
    spearman_boot,
    sweep_factors,
    train_size,
)
from tests.synthetic import assert_png, assert_positive_control_failed, synthetic

N_TRAIN = 2794  # round(0.3 · 97 · 96): li-sakib's 30/70 split of x ÷ y mod 97


# -- the sweep ------------------------------------------------------------------------------------


def test_sample_grid_is_seeded_and_covers_every_level():
    grid = setups.LI_SAKIB_GRID
    a, b = sample_grid(dict(grid), 90, seed=3), sample_grid(dict(grid), 90, seed=3)
    assert a == b
    assert a != sample_grid(dict(grid), 90, seed=4)
    for name, levels in grid.items():
        counts = [sum(p[name] == v for p in a) for v in levels]
        assert min(counts) >= 90 // len(levels) and max(counts) <= -(-90 // len(levels)), name
    # a point's values do not depend on the order in which the factors are listed
    flipped = sample_grid(dict(reversed(list(grid.items()))), 90, seed=3)
    assert flipped == a


def test_sample_grid_rejects_bad_input():
    with pytest.raises(ValueError, match="n=0"):
        sample_grid({"a": (1, 2)}, 0)
    with pytest.raises(ValueError, match="at least one level"):
        sample_grid({"a": ()}, 5)


@pytest.mark.parametrize("scale", ["quick", "full"])
def test_li_sakib_sweep_configs_carry_the_drawn_point(scale):
    configs = setups.li_sakib_sweep(n=30, scale=scale, seed=1, base_seed=7)
    levels = dict(setups.LI_SAKIB_GRID)
    if scale == "quick":
        levels["batch_size"] = setups.LI_SAKIB_SWEEP_QUICK_BATCHES
    points = sample_grid(levels, 30, seed=1)
    assert [c.seed for c in configs] == list(range(7, 37))
    assert all(isinstance(c, RunConfig) and c.task.op == "x/y" for c in configs)
    for c, p in zip(configs, points, strict=True):
        assert c.optim.lr == p["lr"] and c.optim.weight_decay == p["weight_decay"]
        assert c.init_scale == p["init_scale"]
        assert c.batch_size == p["batch_size"]  # every level is below N_train = 2,794
    if scale == "full":  # the Power transformer carries the noise
        assert [c.model.embed_noise for c in configs] == [p["embed_noise"] for p in points]
        assert len(setups.li_sakib_sweep(scale="full")) == 3600
    else:  # a stand-in without embedding noise says so beside the drawn level
        noisy = [c for c, p in zip(configs, points, strict=True) if p["embed_noise"]]
        assert all(
            any(n.name == "model.embed_noise" for n in c.notes) or hasattr(c.model, "embed_noise")
            for c in noisy
        )


def test_sweep_runs_share_ensembles_across_lr_wd_and_init():
    """Runs that differ only in lr, γ and α train in one ensemble (`ensemble_key`); the batch
    size splits them, and so does the embedding noise, which is a field of the model."""
    configs = setups.li_sakib_sweep(n=60, scale="full")
    keys = {}
    for c in configs:
        keys.setdefault(c.ensemble_key(), []).append(c)
    for members in keys.values():
        assert len({(c.batch_size, c.model.embed_noise) for c in members}) == 1
    by_batch_noise = {(c.batch_size, c.model.embed_noise) for c in configs}
    assert len(keys) == len(by_batch_noise)
    mixed = max(keys.values(), key=len)
    assert len({(c.optim.lr, c.optim.weight_decay, c.init_scale) for c in mixed}) > 1


def test_epochs_converts_steps_with_the_batch_a_step_sees():
    assert epochs(1000, 8, 2794) == pytest.approx(1000 * 8 / 2794)
    assert epochs(1000, 1024, 2794) == pytest.approx(1000 * 1024 / 2794)
    assert epochs(1000, None, 300) == 1000  # full batch: a step is an epoch
    assert epochs(1000, 512, 300) == 1000  # a batch above N_train is full batch
    with pytest.raises(ValueError, match="n_train"):
        epochs(10, 8, 0)


# -- synthetic sweeps -----------------------------------------------------------------------------


def sweep(n=600, seed=0, bs_effect=1.0, wd_effect=1.0, never=0.0, const_steps=None):
    """A synthetic sweep over li-sakib's grid: the delay in steps is set by the factors, with
    lognormal scatter; init scale and the rest have no effect. `never`: share that never groks.
    const_steps: every run's delay is this many steps (P10: epochs then rise with B alone)."""
    pts = sample_grid(dict(setups.LI_SAKIB_GRID), n, seed=seed)
    rng = np.random.default_rng(seed)
    hs, factors = [], {f: [p[f] for p in pts] for f in setups.LI_SAKIB_GRID}
    for i, p in enumerate(pts):
        if rng.random() < never:
            hs.append(synthetic(50, None, seed=i))
            continue
        if const_steps is not None:
            d_steps = const_steps * rng.lognormal(0, 0.3)
        else:
            # D in epochs ∝ B^bs_effect · γ^(−wd_effect): in steps, ÷ (B / N)
            d_ep = 40 * (p["batch_size"] / 64) ** bs_effect * p["weight_decay"] ** (-wd_effect / 3)
            d_steps = d_ep * rng.lognormal(0, 0.5) * N_TRAIN / p["batch_size"]
        hs.append(synthetic(50, min(50 + d_steps, 15_000), seed=i))
    return factors, hs


@pytest.mark.parametrize("seed", [0])
def test_built_in_batch_and_decay_correlations_are_supported(seed):
    """At the paper's 3,600 runs: fewer cannot bound |ρ_init| ≤ 0.1 (CI half-width ≈ 2/√n)."""
    factors, hs = sweep(n=3600, seed=seed)
    j = sweep_correlations(factors, hs, N_TRAIN, seed=seed)
    assert j.verdict is Verdict.SUPPORTED, j.reason
    bs, wd, init = j.checks
    assert bs.value > 0 and wd.value < 0 and abs(init.value) < SMALL
    assert "0.538" in (bs.paper_value or "") and "−0.26" in (wd.paper_value or "").replace("-", "−")
    assert j.control[0].name.startswith("positive control")
    assert all(c.verdict is Verdict.SUPPORTED for c in j.control), j.control  # permuted ≈ 0
    assert {"delay_epochs", "delay_steps", "batch_size", "grokked"} <= set(j.runs[0])


@pytest.mark.parametrize("factor", ["batch_size", "weight_decay"])
@pytest.mark.parametrize("seed", [0, 1])
def test_the_permuted_factor_control_is_not_supported(factor, seed):
    factors, hs = sweep(seed=seed)
    shuffled = {**factors, factor: permuted(factors[factor], seed=100 + seed)}
    # the runs still trained at their own batch: that fixes their delay in epochs
    j = sweep_correlations(shuffled, hs, N_TRAIN, seed=seed, trained_batch=factors["batch_size"])
    assert j.verdict is not Verdict.SUPPORTED, j.reason
    check = next(c for c in j.checks if factor.replace("_", " ") in c.name)
    assert check.verdict is not Verdict.SUPPORTED
    assert check.ci is not None and check.ci[0] < 0.15 and check.ci[1] > -0.15


def test_opposite_signs_are_refuted():
    factors, hs = sweep(bs_effect=-1.0, wd_effect=-1.0)
    j = sweep_correlations(factors, hs, N_TRAIN)
    assert j.verdict is Verdict.REFUTED


def test_delay_in_epochs_rises_with_batch_even_when_steps_do_not():
    """REFERENCES P10: a delay in steps that does not depend on B is a delay in epochs ∝ B."""
    factors, hs = sweep(const_steps=2000)
    bs = sweep_correlations(factors, hs, N_TRAIN).checks[0]
    assert bs.value > 0.7
    assert "steps: " in bs.detail
    steps_rho = float(bs.detail.split("steps: ")[1].split(" ")[0])
    assert abs(steps_rho) < 0.2  # all steps tie: ρ in steps is undefined or ≈ 0


def test_all_censored_is_inconclusive():
    factors, hs = sweep(never=1.0)
    j = sweep_correlations(factors, hs, N_TRAIN)
    assert_positive_control_failed(j)
    assert sum(r["grokked"] for r in j.runs) == 0


def test_too_few_grokking_runs_is_inconclusive():
    factors, hs = sweep(never=0.85, seed=4)
    assert_positive_control_failed(sweep_correlations(factors, hs, N_TRAIN))


def test_censored_runs_rank_longest_and_are_counted():
    factors, hs = sweep(never=0.2, seed=5)
    j = sweep_correlations(factors, hs, N_TRAIN)
    k = sum(not r["grokked"] for r in j.runs)
    assert k > 0 and f"{k} of 600 runs never grokked" in j.checks[0].detail
    assert all(r["delay_epochs"] is None for r in j.runs if not r["grokked"])


def test_missing_factor_and_length_mismatch_fail_clearly():
    factors, hs = sweep(n=30)
    with pytest.raises(ValueError, match="init_scale"):
        sweep_correlations({k: v for k, v in factors.items() if k != "init_scale"}, hs, N_TRAIN)
    with pytest.raises(ValueError, match="one value per run"):
        sweep_correlations({**factors, "lr": factors["lr"][:-1]}, hs, N_TRAIN)


def test_correlation_table_and_figure(tmp_path):
    factors, hs = sweep(never=0.1, seed=6)
    table = correlation_table(factors, hs, N_TRAIN)
    assert set(table) == set(setups.LI_SAKIB_GRID)
    text = describe(table)
    assert "paper +0.123" in text["ρ(embedding noise, delay in epochs)"]
    j = sweep_correlations(factors, hs, N_TRAIN)
    titles = {f: f"{f}: ρ = {e.value:+.2f}" for f, e in table.items()}
    assert_png(plotting.plot_sweep_factors(j.runs, titles, tmp_path / "sweep.png", "Table 1"))


@pytest.mark.parametrize("seed", [0, 1])
def test_spearman_boot_equals_stats_spearman(seed):
    rng = np.random.default_rng(seed)
    x = rng.choice([8.0, 16, 32, 128, 512, 1024], 200)
    y = np.round(rng.lognormal(0, 1, 200) * x, 1)
    y[:30] = y.max() + 1  # censored runs: one tie at the top
    fast, ref = (
        spearman_boot(x, y, n_boot=2000, seed=seed),
        stats.spearman(x, y, n_boot=2000, seed=seed),
    )
    assert fast.value == pytest.approx(ref.value, abs=1e-12)
    assert fast.ci == pytest.approx(ref.ci, abs=1e-12)


def test_a_handful_of_grokking_runs_is_inconclusive():
    """A 3-run sweep where one run groks passes the 30% share but says nothing about ρ."""
    factors, hs = sweep(n=3, seed=7)
    hs = [hs[0], synthetic(50, None, seed=1), synthetic(50, None, seed=2)]
    assert_positive_control_failed(sweep_correlations(factors, hs, N_TRAIN))


def test_sweep_correlations_runs_reads_the_factors_from_the_configs():
    """LS-CORR's judge: the factors and N_train from the sweep's configs, then the same
    statistic as `sweep_correlations`, with every factor's ρ in `evidence` for the card."""
    configs = setups.li_sakib_sweep(n=60, scale="full")  # the grid draw `sweep` makes (seed 0)
    factors, hs = sweep(n=60, seed=0, never=0.1)
    drawn = sweep_factors(configs)
    assert set(drawn) == set(factors) and all(drawn[f] == factors[f] for f in factors)
    n_train = train_size(configs[0])
    assert n_train == N_TRAIN
    j = sweep_correlations_runs(configs, hs, tau=0.95, need=0.3)
    ref = sweep_correlations(drawn, hs, n_train, tau=0.95, need=0.3)
    assert (j.verdict, j.reason, j.runs) == (ref.verdict, ref.reason, ref.runs)
    assert [c.value for c in j.checks] == [c.value for c in ref.checks]
    assert j.evidence["n_train"] == n_train and j.evidence["factors"] == drawn
    assert j.evidence["table"] == correlation_table(drawn, hs, n_train)
    with pytest.raises(ValueError, match="configs"):
        sweep_correlations_runs(configs[:-1], hs, tau=0.95, need=0.3)
