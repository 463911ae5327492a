"""AR-SPIKE (`verdicts.slingshot`) and RP-RNN (`verdicts.cells_grok`) on synthetic histories.

Each statistic gives SUPPORTED on data with the claimed shape; its control (SGD runs that
spike, spikes at times unrelated to the jumps, recurrent runs with no delay) is not SUPPORTED;
and no spikes or nothing generalizing gives INCONCLUSIVE "positive control failed".
"""

from __future__ import annotations

import numpy as np
import pytest

from grokcore.record import Verdict
from grokcore.verdicts import cells_grok, slingshot
from grokcore.verdicts.spikes import accuracy_jumps, coincidence, fit_step
from tests.synthetic import assert_positive_control_failed, synthetic, with_batch_loss

WINDOW = 200


def grokking_runs(n=8, rng_seed=0, spike_before=30, extra=0):
    """Runs that fit at ≈ 50 and grok between 1,500 and 8,000, with a spike `spike_before`
    steps before each run's test-accuracy jump (None: no spike) and `extra` random spikes."""
    rng = np.random.default_rng(rng_seed)
    out = []
    for s in range(n):
        h = synthetic(50, float(rng.uniform(1500, 8000)), seed=s)
        (jump,) = accuracy_jumps(h, fit_step(h))
        spikes = [] if spike_before is None else [jump[0] - spike_before]
        spikes += list(rng.integers(fit_step(h) + 1, h.budget, size=extra))
        out.append(with_batch_loss(h, spikes))
    return out


def sgd_runs(n=8, spikes_at=()):
    """Runs that fit and never spike (or spike at `spikes_at`), as the SGD control should."""
    return [with_batch_loss(synthetic(80, None, seed=s), spikes_at) for s in range(n)]


# -- pieces ------------------------------------------------------------------------------


def test_accuracy_jumps_merge_one_rise_into_one_jump():
    h = synthetic(50, 3000)
    jumps = accuracy_jumps(h, fit_step(h))
    assert len(jumps) == 1
    (a, b) = jumps[0]
    assert a < 3000 < b  # the sigmoid's steepest part
    assert accuracy_jumps(synthetic(50, None), 0) == []


def test_coincidence_counts_a_spike_before_or_inside_the_jump():
    jumps = [(1000, 1100)]
    assert coincidence([(100, 5000, [950], jumps)], window=100)[:2] == (1, 1)
    assert coincidence([(100, 5000, [1050], jumps)], window=100)[:2] == (1, 1)
    assert coincidence([(100, 5000, [850], jumps)], window=100)[:2] == (0, 1)
    assert coincidence([(100, 5000, [1200], jumps)], window=100)[:2] == (0, 1)
    hit, n, base, p = coincidence([(100, 5000, [], jumps)], window=100)
    assert (hit, n, base) == (0, 1, 0.0) and p == 1.0


def test_slingshot_rejects_an_empty_window():
    with pytest.raises(ValueError, match="window"):
        slingshot(grokking_runs(2), sgd_runs(2), window=0)


# -- AR-SPIKE ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_slingshot_supports_spikes_before_jumps_and_a_quiet_sgd(seed):
    j = slingshot(grokking_runs(rng_seed=seed, extra=2), sgd_runs(), window=WINDOW)
    assert j.verdict is Verdict.SUPPORTED, j.reason
    share, coinc = j.checks
    assert share.value == 1.0 and share.bounds == (0.8, np.inf)
    assert coinc.value == 1.0 and "p = " in coinc.detail
    assert j.control[1].verdict is Verdict.SUPPORTED  # SGD: no spikes


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_slingshot_spikes_unrelated_to_jumps_are_not_supported(seed):
    """Control: spikes at random post-fit times, none placed by the jumps."""
    runs = grokking_runs(rng_seed=seed, spike_before=None, extra=3)
    j = slingshot(runs, sgd_runs(), window=WINDOW)
    assert j.verdict is not Verdict.SUPPORTED
    assert j.checks[1].verdict is not Verdict.SUPPORTED


def test_slingshot_spikes_right_after_the_jumps_are_refuted():
    """Spikes that follow each jump (never before it) do not coincide in the claim's sense."""
    runs = []
    for h in grokking_runs(spike_before=None):
        ((_, b),) = accuracy_jumps(h, fit_step(h))
        runs.append(with_batch_loss(h, [b + 500]))
    j = slingshot(runs, sgd_runs(), window=WINDOW)
    assert j.verdict is Verdict.REFUTED
    assert j.checks[1].verdict is Verdict.REFUTED and j.checks[1].value == 0.0


def test_slingshot_sgd_that_spikes_demotes_support():
    """The catalogue's control: if SGD spikes too, the spikes are not Adam's."""
    j = slingshot(grokking_runs(), sgd_runs(spikes_at=[5000]), window=WINDOW)
    assert j.verdict is Verdict.INCONCLUSIVE
    assert j.reason.startswith("control failed: SGD")


def test_slingshot_sgd_that_never_fits_is_no_control():
    unfit = [with_batch_loss(synthetic(None, None, seed=s)) for s in range(4)]
    j = slingshot(grokking_runs(), unfit, window=WINDOW)
    assert j.verdict is Verdict.INCONCLUSIVE
    assert "none of 4 SGD runs fit" in j.reason


def test_slingshot_without_spikes_is_inconclusive():
    """SGD-like data in the Adam arm (no spikes): the positive control fails."""
    j = slingshot(sgd_runs(), sgd_runs(), window=WINDOW)
    assert_positive_control_failed(j)
    assert "spike" in j.control[0].detail


def test_slingshot_when_nothing_generalizes_is_inconclusive():
    spiky = [with_batch_loss(synthetic(50, None, seed=s), [3000, 9000]) for s in range(8)]
    j = slingshot(spiky, sgd_runs(), window=WINDOW)
    assert_positive_control_failed(j)
    assert "no test-accuracy jump" in j.control[0].detail


# -- RP-RNN ------------------------------------------------------------------------------


def cell_arm(t_train, t_test, n=6, rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    return [
        synthetic(t_train, None if t_test is None else t_test * rng.lognormal(0, 0.1), seed=s)
        for s in range(n)
    ]


def test_cells_grok_supports_both_cells_grokking():
    j = cells_grok({"lstm": cell_arm(100, 3000), "rnn": cell_arm(100, 2000, rng_seed=1)})
    assert j.verdict is Verdict.SUPPORTED, j.reason
    assert [c.value for c in j.checks] == [1.0, 1.0]
    assert {r["arm"] for r in j.runs} == {"lstm", "rnn"}


def test_cells_grok_without_delay_is_refuted():
    """Control: runs that generalize right after fitting (D ≈ 0.5·t_train) do not grok."""
    j = cells_grok({"lstm": cell_arm(100, 150), "rnn": cell_arm(100, 150, rng_seed=1)})
    assert j.verdict is Verdict.REFUTED
    assert all(c.value == 0.0 for c in j.checks)


def test_cells_grok_needs_every_cell():
    j = cells_grok({"lstm": cell_arm(100, 3000), "rnn": cell_arm(100, 150, rng_seed=1)})
    assert j.verdict is Verdict.REFUTED
    assert j.checks[0].verdict is Verdict.SUPPORTED


def test_cells_grok_when_a_cell_never_generalizes_is_inconclusive():
    j = cells_grok({"lstm": cell_arm(100, 3000), "rnn": cell_arm(100, None)})
    assert_positive_control_failed(j)
    assert "rnn: 0 of 6" in j.reason


def test_cells_grok_when_nothing_generalizes_is_inconclusive():
    j = cells_grok({"lstm": cell_arm(100, None), "rnn": cell_arm(100, None)})
    assert_positive_control_failed(j)


def test_cells_grok_rejects_an_empty_cell():
    with pytest.raises(ValueError, match="every cell needs runs"):
        cells_grok({"lstm": cell_arm(100, 3000), "rnn": []})


# -- their setups ------------------------------------------------------------------------


def test_rp_rnn_paper_tier_clears_the_budget_floor():
    from grokcore import setups
    from grokcore.budget import shortfall

    cfgs = {c: [setups.lstm_poster(seed=0, cell=c)] for c in ("lstm", "rnn")}
    assert shortfall(cfgs) is None
    rnn = cfgs["rnn"][0]
    assert rnn.model.cell == "rnn" and rnn.batch_size == 32 and rnn.init_scale == 5.0
    assert any(n.name == "model.cell" and "R10" in n.why for n in rnn.notes)
    assert cfgs["lstm"][0].key() == setups.lstm_poster(seed=0).key()  # the LSTM is unchanged


def test_arn_spikes_setups():
    from grokcore import setups

    full = setups.arn_spikes(seed=0, scale="full")
    assert full.key() == setups.power_arn(seed=0).key()  # the paper tier is arn's regime
    sgd = setups.arn_spikes(seed=0, scale="full", optimizer="sgd")
    assert sgd.optim.name == "sgd" and sgd.optim.lr == setups.SGD_LR
    assert sgd.optim.momentum == setups.SGD_MOMENTUM and sgd.model == full.model
    quick = setups.arn_spikes(seed=0)
    assert quick.batch_size == 132 and quick.model.layer_norm == "post"  # minibatch, post-LN
    assert {n.name for n in quick.notes} >= {"task.p", "model", "steps"}
    quick_sgd = setups.arn_spikes(seed=0, optimizer="sgd")
    assert quick_sgd.task == quick.task and quick_sgd.model == quick.model
    assert quick_sgd.steps == quick.steps and quick_sgd.batch_size == quick.batch_size


@pytest.mark.parametrize("scale", ["quick", "full"])
def test_arn_spikes_sgd_arm_shrinks_the_weights_as_adamw_does(scale):
    """The control differs from the AdamW arm in the optimizer only: its L2 decay, carried by
    momentum, shrinks the weights by AdamW's lr·γ a step (lr_sgd·γ_sgd/(1 − β))."""
    from grokcore import setups

    adam = setups.arn_spikes(seed=0, scale=scale).optim
    sgd = setups.arn_spikes(seed=0, scale=scale, optimizer="sgd").optim
    shrink_sgd = sgd.lr * sgd.weight_decay / (1 - sgd.momentum)
    assert shrink_sgd == pytest.approx(adam.lr * adam.weight_decay)
