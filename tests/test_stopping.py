"""Stopping rules (grokcore/stopping.py): where they stop, that a stopped run is the first part
of the full run bit for bit (eager and graph-ready step), that the members which stay are
untouched, and what the cache serves from a stopped entry."""

from __future__ import annotations

import numpy as np
import pytest

from claims import REGISTRY
from grokcore import stopping
from grokcore.cache import RunCache
from grokcore.config import EmbedMLP, ModularTask, Optimizer, RunConfig
from grokcore.history import History
from grokcore.runs import RunStats, load_cached, run, serve, unique_by_key
from grokcore.spec import Scope
from grokcore.stopping import StopRule
from grokcore.train import Ensemble

FAST = StopRule(factor=1.0, margin=0.05)  # stops these small runs well inside their budget
CURVES = ("steps", "train_loss", "train_acc", "test_loss", "test_acc", "norm", "batch_loss")


def grokking(seed: int, frac: float = 0.8, wd: float = 1.0, **kw) -> RunConfig:
    """x+y mod 23 that generalizes within 1,500 steps for seeds 0 and 2 (not at γ = 0)."""
    return RunConfig(
        task=ModularTask("x+y", 23, frac),
        model=EmbedMLP(d_embed=16, width=64, depth=1),
        optim=Optimizer(name="adamw", lr=3e-3, weight_decay=wd),
        steps=1500,
        eval_points=40,
        seed=seed,
        **kw,
    )


def assert_prefix(part: History, full: History) -> None:
    """`part` is `full` up to where `part` stopped (or all of it), bit for bit."""
    want = full if part.stopped_at is None else full.until(part.stopped_at, "")
    for name in CURVES:
        np.testing.assert_array_equal(getattr(part, name), getattr(want, name), err_msg=name)
    assert part.budget == full.budget and part.config == full.config


# -- the rule itself -------------------------------------------------------------------------
def curves(train: list[float], test: list[float], steps: list[int] | None = None):
    s = np.asarray(steps if steps is not None else [0, 10, 20, 40, 80, 160, 320, 640, 1000])
    return s, np.asarray(train, float), np.asarray(test, float)


def test_rule_stops_at_factor_times_the_step_both_reached_and_margin_past_it():
    s, tr, te = curves([0, 1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0.96, 1, 1, 1, 1, 1])
    # both ≥ 0.95 first at 40: stop at ≥ max(2·40, 40 + 0.1·1000) = 140 -> evaluated step 160
    assert StopRule().stop_step(s, tr, te, 1000) == 160
    assert StopRule(factor=5.0).stop_step(s, tr, te, 1000) == 320
    assert StopRule(margin=0.5).stop_step(s, tr, te, 1000) == 640


def test_rule_never_stops_a_run_that_does_not_generalize_or_dips_below():
    s, tr, te = curves([0, 1, 1, 1, 1, 1, 1, 1, 1], [0, 0.5, 0.6, 0.7, 0.9, 0.9, 0.9, 0.9, 0.9])
    assert StopRule().stop_step(s, tr, te, 1000) is None
    # reaches 0.95 at 40, then falls below: it must be ≥ τ again at the stop
    s, tr, te = curves([0, 1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0.96, 0.5, 0.5, 0.5, 0.97, 1])
    assert StopRule().stop_step(s, tr, te, 1000) == 640
    # NaN (a diverged run) never counts
    s, tr, te = curves([0, 1, 1, 1] + [np.nan] * 5, [0, 0, 0, 0.96] + [np.nan] * 5)
    assert StopRule().stop_step(s, tr, te, 1000) is None


def test_stopping_at_the_budget_is_not_stopping_and_separate_thresholds():
    s, tr, te = curves([0, 1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0.96, 1])
    assert StopRule().stop_step(s, tr, te, 1000) is None  # 2·640 > 1000
    s, tr, te = curves([0, 0.98, 0.98, 0.98, 1, 1, 1, 1, 1], [0, 0.9] + [0.9] * 7)
    assert StopRule(train=0.99, test=0.85).stop_step(s, tr, te, 1000) == 320  # both at 80
    assert StopRule(train=0.95, test=0.85).stop_step(s, tr, te, 1000) == 160  # both at 10
    with pytest.raises(ValueError, match=r"StopRule\.train"):
        StopRule(train=1.5)


def test_several_rules_stop_at_the_latest_and_no_rule_wins_a_merge():
    s, tr, te = curves([0, 1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 0.96, 1, 1, 1, 1, 1])
    a, b = StopRule(), StopRule(factor=5.0)
    assert stopping.stop_step((a, b), s, tr, te, 1000) == 320
    assert stopping.stop_step((), s, tr, te, 1000) is None
    assert stopping.merge((a,), (b,)) == (a, b)
    assert stopping.merge((a,), ()) == ()


# -- configs and histories --------------------------------------------------------------------
def test_the_rule_is_outside_the_key_and_refused_with_kept_weights():
    c = grokking(0)
    assert c.replace(stop=(FAST,)).key() == c.key()
    with pytest.raises(ValueError, match=r"RunConfig\.stop"):
        c.replace(stop=(FAST,), keep_params=True)
    with pytest.raises(ValueError, match=r"RunConfig\.stop"):
        c.replace(stop=FAST)  # type: ignore[arg-type]
    merged = unique_by_key([c.replace(stop=(FAST,)), c.replace(stop=(StopRule(),))])
    assert merged[c.key()].stop == tuple(sorted({FAST, StopRule()}))


def test_a_run_kept_with_weights_for_one_claim_is_served_cut_and_weightless_to_another(tmp_path):
    """BX-FOURIER keeps the weights of runs that ruled claims also read (OG-NORM's)."""
    c = grokking(2)
    kept, ruled = run([c.replace(keep_params=True), c.replace(stop=(FAST,))], RunCache(tmp_path),
                      progress=False)  # fmt: skip
    assert kept.final_params is not None and kept.stopped_at is None
    assert ruled.stopped_at is not None and ruled.final_params is None
    assert_prefix(ruled, kept)


def test_a_stopped_history_round_trips_through_bytes():
    (h,) = Ensemble([grokking(2, stop=(FAST,))]).train()
    assert h.stopped_at is not None and h.stopped_at < h.budget
    assert h.steps[-1] == h.stopped_at and len(h.batch_loss) == h.stopped_at
    assert h.trained_steps == h.stopped_at and "0.95" in h.stop_rule
    back = History.from_bytes(h.to_bytes())
    assert back.stopped_at == h.stopped_at and back.stop_rule == h.stop_rule
    assert_prefix(back, h)


# -- the engine: members leave -------------------------------------------------------------------
@pytest.mark.parametrize("step", ["eager", "static"])
def test_stopped_members_are_the_first_part_of_their_full_run_and_the_rest_unchanged(step):
    base = [grokking(s) for s in range(3)] + [grokking(3, data_seed=5), grokking(1, wd=0.0)]
    full = Ensemble(base, step=step).train()
    ruled = [c.replace(stop=(FAST,)) if i < 4 else c for i, c in enumerate(base)]
    part = Ensemble(ruled, step=step).train()
    stopped = [h.stopped_at for h in part]
    assert sum(s is not None for s in stopped) >= 2, stopped  # seeds 0 and 2 generalize early
    assert stopped[4] is None  # no rule: its whole budget
    for p, f in zip(part, full, strict=True):
        assert_prefix(p, f)
        assert (p.stopped_at is None) == (p.steps[-1] == p.budget)


def test_an_ensemble_whose_members_all_stop_ends_early():
    hs = Ensemble([grokking(2, stop=(FAST,)), grokking(0, stop=(FAST,))]).train()
    assert all(h.stopped_at is not None for h in hs)


# -- the cache ---------------------------------------------------------------------------------
def test_a_stopped_entry_serves_rules_that_stop_by_then_and_no_other(tmp_path):
    cache = RunCache(tmp_path)
    late = StopRule(factor=1.5, margin=0.05)
    c = grokking(2)
    (h,) = run([c.replace(stop=(late,))], cache, progress=False)
    assert h.stopped_at is not None
    stored = cache.load(c.key())
    assert stored is not None and stored.stopped_at == h.stopped_at
    # an earlier rule is served from it: the first part of it, as if trained under that rule
    assert load_cached(cache, c.key(), c.replace(stop=(FAST,))) is not None
    (early,) = run([c.replace(stop=(FAST,))], cache, progress=False)
    assert early.stopped_at is not None and early.stopped_at <= h.stopped_at
    (alone,) = Ensemble([c.replace(stop=(FAST,))]).train()
    assert_prefix(early, alone) and early.stopped_at == alone.stopped_at
    # no rule (the whole budget), or a later rule: trained again, and the entry replaced
    assert load_cached(cache, c.key(), c) is None
    assert load_cached(cache, c.key(), c.replace(stop=(StopRule(factor=3.0),))) is None
    stats = RunStats()
    (whole,) = run([c], cache, progress=False, stats=stats)
    assert stats.trained == 1 and whole.stopped_at is None
    assert_prefix(h, whole)
    # a full entry serves every rule, cut where that rule stops
    assert serve(whole, c.replace(stop=(late,))).stopped_at == h.stopped_at
    stats = RunStats()
    run([c.replace(stop=(late,))], cache, progress=False, stats=stats)
    assert (stats.trained, stats.cached) == (0, 1)


# -- which claims stop ----------------------------------------------------------------------------
READS_THE_END = {
    "OG-LU": "final train and test losses",
    "OG-MNIST": "final test acc − test acc at the fit",
    "OG-NORM": "final norm against the initial one",
    "OG-IMDB": "timings against the final accuracy",
    "OG-QM9": "timings against the final loss",
    "OG-REPR": "final RQI",
    "LS-LAND": "the landscape around the final weights",
    "LS-ATTN": "the step of the global peak of ‖W_QKV‖",
    "AR-NOUNGROK": "test accuracy for the rest of training",
    "AR-SPIKE": "loss spikes after the fit, to the budget",
}


@pytest.mark.parametrize("scale", ["quick", "full"])
def test_claims_that_read_the_end_of_training_have_no_rule_and_the_others_say_why(scale):
    scope = Scope(scale)
    for spec in REGISTRY:
        s = spec.stopping(scope)
        if spec.id in READS_THE_END or spec.id.startswith("LS-MNIST"):
            assert s is None, (spec.id, READS_THE_END.get(spec.id, "final test acc − at fit"))
        elif s is not None:
            assert s.why.startswith(stopping.STOP_WHY) and len(s.why) > len(stopping.STOP_WHY)


@pytest.mark.parametrize("step", ["eager", "static"])
def test_members_with_gradient_filters_leave_and_the_rest_train_on_unchanged(step):
    """Grokfast's EMA and ⊥Grad keep per-member state and columns: they leave with it."""
    filtered = Optimizer(name="adamw", lr=3e-3, weight_decay=1.0, grokfast=(0.8, 0.1))
    ortho = Optimizer(name="adamw", lr=3e-3, weight_decay=1.0, orthograd=True)
    base = [
        grokking(2).replace(optim=filtered),
        grokking(0).replace(optim=filtered),
        grokking(2).replace(optim=ortho),
        grokking(1),
    ]
    full = Ensemble(base, step=step).train()
    part = Ensemble([c.replace(stop=(FAST,)) for c in base[:2]] + base[2:], step=step).train()
    assert part[0].stopped_at is not None
    for p, f in zip(part, full, strict=True):
        assert_prefix(p, f)


def test_after_training_an_ensemble_holds_the_members_still_active_and_trains_no_more():
    """Its configs, K and rows agree (the members that stopped left with their rows)."""
    ens = Ensemble([grokking(2, stop=(FAST,)), grokking(1, wd=0.0)])
    hs = ens.train()
    assert hs[0].stopped_at is not None and hs[1].stopped_at is None
    assert ens.k == len(ens.configs) == ens.flat.shape[0] == 1 and ens.configs[0].seed == 1
    with pytest.raises(RuntimeError, match="trained already"):
        ens.train()
