"""BX-GROKFAST (`verdicts.speedup`) on synthetic histories and a hand case.

The claimed shape (Grokfast at 100 steps, both controls at ≥ 2,000) is SUPPORTED; the
control the README's comparison hides (Grokfast's weight decay without the filter is as
fast) is REFUTED; censored controls give lower bounds that can support but not refute; a
Grokfast arm that never generalizes fails the positive control.
"""

from __future__ import annotations

import numpy as np
import pytest

from grokcore.history import History
from grokcore.record import Verdict
from grokcore.verdicts import grokfast_setup, grokfast_speedup
from grokcore.verdicts.speedup import reach_times, speedup_check
from tests.synthetic import STEPS, assert_positive_control_failed, synthetic


def arm(t_test, n=4, budget=20_000):
    return [synthetic(10, t_test, budget=budget, seed=s) for s in range(n)]


def setup(**kw):
    arms = {"readme": arm(8000), "grokfast": arm(100), "same_decay": arm(3000),
            "lr_step": arm(2500)}  # fmt: skip
    arms.update(kw)
    return grokfast_setup(**arms, tau=0.95, paper_factor=22.0, lamb=0.1)


def test_claimed_shape_is_supported_and_the_readme_ratio_is_reported():
    j = setup()
    assert j.verdict is Verdict.SUPPORTED, j.reason
    assert all(c.value > 10 for c in j.checks)
    positive, late, readme = j.control
    assert positive.verdict is late.verdict is Verdict.SUPPORTED
    assert readme.name.startswith("reported") and readme.paper_value.startswith("×22")
    assert readme.value > 50  # 8,000 / 100 (to the evaluation grid)
    assert len(j.runs) == 16


def test_control_same_decay_as_fast_is_refuted():
    # the README's factor is all weight decay: at Grokfast's γ the filter adds nothing
    j = setup(same_decay=arm(110), lr_step=arm(90))
    assert j.verdict is Verdict.REFUTED
    assert [c.verdict for c in j.checks] == [Verdict.REFUTED, Verdict.REFUTED]
    assert j.control[2].value > 50  # the README's comparison still shows its big factor


def test_a_longer_step_alone_explaining_it_is_refuted():
    j = setup(lr_step=arm(150))
    assert j.verdict is Verdict.REFUTED
    assert j.checks[0].verdict is Verdict.SUPPORTED and j.checks[1].verdict is Verdict.REFUTED


def test_grokfast_that_never_generalizes_fails_the_positive_control():
    assert_positive_control_failed(setup(grokfast=arm(None)))


def test_a_baseline_without_a_late_generalization_fails_the_positive_control():
    """The quick stand-in's case: the README's baseline generalizes right after it fits
    (D = 20 < 5·t_train), so there is no grokking for the filter to shorten, and controls
    as fast as Grokfast say nothing about the claim: INCONCLUSIVE, never REFUTED."""
    prompt = [synthetic(10, 30, budget=20_000, seed=s) for s in range(4)]
    j = setup(readme=prompt, same_decay=arm(110), lr_step=arm(90))
    assert_positive_control_failed(j)
    assert "groks late" in j.reason and "0 of 4" in j.reason


def test_censored_control_can_support_but_not_refute():
    # same-decay never reaches τ in 2,000 steps: t95 ≥ 2,000, ratio ≥ 2,000/100 = 20 > 10
    budget = int(STEPS[STEPS <= 2000][-1])
    j = setup(same_decay=arm(None, budget=budget))
    assert j.checks[0].verdict is Verdict.SUPPORTED
    # censored at 500: the ratio ≥ 5 says nothing against 10×, so no REFUTED
    short = int(STEPS[STEPS <= 500][-1])
    j = setup(same_decay=arm(None, budget=short))
    assert j.checks[0].verdict is Verdict.INCONCLUSIVE
    assert "censored" in j.checks[0].detail and "cannot be concluded" in j.checks[0].detail


def test_censored_ratio_ci_on_a_hand_case():
    # control t95: 1,000 and 2,000 (the second censored at its budget); Grokfast 100, 100.
    # medians: resamples of the control give 1,000 (¼), 1,500 (½), 2,000 (¼), Grokfast
    # always 100, so the ratio is 15 with the 95% percentile CI [10, 20]: not above 10.
    def run(t_test, budget):
        steps = np.array([s for s in (0, 100, 1000, 2000, 20_000) if s <= budget])
        acc = (steps >= t_test).astype(float) if t_test else np.zeros(len(steps))
        ones = np.ones(len(steps))
        return History(steps, 1 - ones, ones, 1 - acc, acc, ones, budget=budget)

    slow = [run(1000, 20_000), run(None, 2000)]
    fast = [run(100, 20_000), run(100, 20_000)]
    ts, censored = reach_times(slow, 0.95)
    assert ts.tolist() == [1000.0, 2000.0] and censored == 1
    c = speedup_check("ratio", slow, fast, 0.95, 10.0, ("control", "Grokfast"))
    assert c.value == pytest.approx(15.0)
    assert c.ci == pytest.approx((10.0, 20.0))
    assert c.verdict is Verdict.INCONCLUSIVE  # lo = 10 is not above 10; hi = 20 is
    # both control runs censored at 2,000: ratio 20 exactly, a lower bound above 10
    c = speedup_check("ratio", [run(None, 2000)] * 2, fast, 0.95, 10.0, ("control", "G"))
    assert c.value == 20.0 and c.ci == (20.0, 20.0) and c.verdict is Verdict.SUPPORTED
    # a censored Grokfast run can only shrink the true ratio: SUPPORTED is withheld
    c = speedup_check("ratio", [run(None, 2000)] * 2, [run(None, 100)] * 2, 0.95, 10.0,
                      ("control", "G"))  # fmt: skip
    assert c.verdict is Verdict.INCONCLUSIVE and "G runs censored" in c.detail


def test_every_setup_must_hold():
    good, bad = setup(), setup(same_decay=arm(110), lr_step=arm(90))
    assert grokfast_speedup({"MNIST": good, "x·y": good}).verdict is Verdict.SUPPORTED
    j = grokfast_speedup({"MNIST": good, "x·y": bad})
    assert j.verdict is Verdict.REFUTED
    assert {r["setup"] for r in j.runs} == {"MNIST", "x·y"}
    with pytest.raises(ValueError, match="no setup"):
        grokfast_speedup({})


def test_the_four_arms_differ_only_in_what_they_name():
    from grokcore import setups

    for scale in ("quick", "full"):
        mn = {a: setups.grokfast_mnist(arm=a, seed=0, scale=scale, data_dir="d")
              for a in setups.GROKFAST_ARMS}  # fmt: skip
        base = mn["readme"]
        factor = 1 if scale == "full" else setups.MNIST_QUICK_GAMMA_FACTOR
        assert base.optim.weight_decay == pytest.approx(0.01 * factor)
        assert base.dtype == "float32" and base.init_scale == 8.0 and base.loss == "mse"
        g = mn["grokfast"]
        assert g.optim.grokfast == (0.8, 0.1) and g.optim.weight_decay == pytest.approx(2 * factor)
        assert mn["same_decay"].replace(optim=g.optim) == g  # only the filter differs
        assert mn["lr_step"].optim.lr == pytest.approx(1.1 * g.optim.lr)
        assert mn["lr_step"].optim.grokfast is None
    assert setups.grokfast_mnist(arm="readme", seed=0, scale="full", data_dir="d").steps == 100_000
    mod = {a: setups.grokfast_modular(arm=a, seed=1) for a in setups.GROKFAST_ARMS}
    o = mod["grokfast"].optim
    assert (o.name, o.lr, o.betas, o.warmup_steps) == ("adam", 1e-3, (0.9, 0.98), 10)
    assert o.grokfast == (0.98, 2.0) and o.weight_decay == 0.005
    assert mod["readme"].optim.weight_decay == 0.0 and mod["readme"].optim.grokfast is None
    assert mod["lr_step"].optim.lr == pytest.approx(3e-3)
    c = mod["readme"]
    assert (c.task.op, c.task.p, c.task.train_frac, c.batch_size) == ("x*y (y>0)", 97, 0.5, 512)
    with pytest.raises(ValueError, match="arm"):
        setups.grokfast_mnist(arm="sgd", seed=0)  # type: ignore[arg-type]
