"""Claim specs and the plan: selection as pytest's -k, runs merged across claims, shards that
cut the same way in every process, and runs trained beside other claims' equal to runs
trained alone, bit for bit."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from grokcore import cli, setups
from grokcore.cache import RunCache
from grokcore.plan import build_plan, parse_shard, train
from grokcore.runs import run
from grokcore.spec import Card, ClaimSpec, NotRun, Registry, Scope
from grokcore.verdicts.judgement import Judgement
from tests.test_engine import assert_identical

CPU = torch.device("cpu")


def _tiny(seed: int, **kw):
    return setups.modular(seed=seed, scale="quick", steps=120, **kw).replace(eval_points=12)


class FakeSpec(ClaimSpec):
    """A claim with two arms of tiny runs; `gamma` tells two claims' runs apart."""

    paper = "fake"
    section = "§1"
    title = "a fake claim"

    def __init__(self, claim_id: str, gammas: tuple[float, ...], seeds: int = 2):
        self.id, self.gammas, self.n = claim_id, gammas, seeds

    def arms(self, scope: Scope):
        return {f"γ = {g}": [_tiny(s, weight_decay=g) for s in scope.seeds(self.n)]
                for g in self.gammas}  # fmt: skip

    def judge(self, scope, arms, runs) -> Judgement:
        raise AssertionError("a plan judges nothing")

    def card(self, scope, arms, j) -> Card:
        return Card("fake")


class Unrunnable(FakeSpec):
    def arms(self, scope: Scope):
        raise NotRun("needs data that is not here")


def registry() -> Registry:
    return Registry([FakeSpec("F-A", (1.0, 0.5)), FakeSpec("F-B", (0.5, 0.0)),
                     Unrunnable("F-NO", ())])  # fmt: skip


def test_selection_reads_like_pytest_k():
    r = registry()
    assert [s.id for s in r.select("F-A")] == ["F-A"]
    assert [s.id for s in r.select("not F-A")] == ["F-B", "F-NO"]
    assert [s.id for s in r.select("f-a or F-B")] == ["F-A", "F-B"]  # case-insensitive
    assert len(r.select("fake")) == 3  # the paper's name selects its claims
    assert len(r.select(None)) == 3
    with pytest.raises(ValueError, match="-k"):
        r.select("F-A and (")


def test_registry_refuses_a_claim_declared_twice():
    with pytest.raises(ValueError, match="declared twice"):
        Registry([FakeSpec("F-A", (1.0,)), FakeSpec("F-A", (0.5,))])


def test_plan_merges_runs_across_claims_and_notes_what_cannot_run():
    plan = build_plan(list(registry()), Scope("quick"))
    assert [cp.claim_id for cp in plan.claims] == ["F-A", "F-B", "F-NO"]
    assert plan.claims[2].not_run == "needs data that is not here"
    # F-A and F-B share their γ = 0.5 arm: 8 runs asked for, 6 unique
    d = plan.describe(None, CPU)
    assert (d["runs"], d["unique_runs"], d["cached"], d["to_train"]) == (8, 6, 0, 6)
    # γ is not in the ensemble key: all six runs form one ensemble, where claim by claim
    # each claim trained its own
    assert d["ensembles"] == 1 and d["ensembles_claim_by_claim"] == 2
    assert d["member_steps"] == 6 * 120 and d["flop"] > 0 and d["peak_memory_bytes"] > 0


def test_shards_cover_the_plan_once_and_cut_the_same_way_every_time():
    specs = [FakeSpec(f"F-{i}", (1.0,), seeds=1) for i in range(5)]
    # different step budgets: different ensemble keys, so five ensembles to shard
    for spec, steps in zip(specs, (60, 90, 120, 150, 180), strict=True):
        spec.arms = (lambda n: lambda scope: {"a": [_tiny(0).replace(steps=n)]})(steps)  # type: ignore[method-assign]
    plan = build_plan(specs, Scope("quick"))
    assert len(plan.ensembles) == 5
    for n in (1, 2, 3, 7):
        keys = [c.key() for sh in plan.shards(n) for ch in sh for c in ch]
        assert sorted(keys) == sorted(plan.runs), f"{n} shards must hold every run once"
        again = build_plan(specs, Scope("quick")).shards(n)
        assert [[c.key() for ch in sh for c in ch] for sh in again] == [
            [c.key() for ch in sh for c in ch] for sh in plan.shards(n)
        ]
    with pytest.raises(ValueError):
        plan.shard(3, 2)
    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/2", "3/2", "x", "1/2/3"):
        with pytest.raises(ValueError, match="--shard"):
            parse_shard(bad)


def test_run_trained_in_a_cross_claim_ensemble_equals_the_run_trained_alone(tmp_path):
    plan = build_plan(list(registry()), Scope("quick"))
    cache = RunCache(tmp_path / "plan")
    done = train(plan.ensembles, cache, CPU)
    assert done.runs == 6
    assert train(plan.ensembles, cache, CPU).runs == 0  # the cache is the state
    for key, cfg in plan.runs.items():
        alone = run([cfg], RunCache(tmp_path / f"alone-{key[:8]}"), device=CPU, progress=False)[0]
        planned = cache.load(key, expect=cfg)
        assert planned is not None
        assert_identical(planned, alone)
        assert np.array_equal(planned.test_acc, alone.test_acc)


class FracSpec(FakeSpec):
    """Full-batch runs at several training fractions (RP-FRAC's kind of sweep)."""

    def arms(self, scope: Scope):
        return {f"frac {f}": [_tiny(s, train_frac=f).replace(batch_size=None)
                              for s in scope.seeds(self.n)] for f in self.gammas}  # fmt: skip


def test_full_batch_runs_of_other_sizes_train_apart_and_equal_the_runs_alone(tmp_path):
    """Issue 21's padding defect: RP-FRAC's run at one fraction was padded to another claim's
    larger split, and its t_test moved 1104 → 1080. Sizes now never share an ensemble."""
    plan = build_plan([FracSpec("F-S", (0.3, 0.35)), FracSpec("F-T", (0.4,), seeds=1)],
                      Scope("quick"))  # fmt: skip
    assert sorted(sorted({c.task.train_frac for c in e}) for e in plan.ensembles) == [
        [0.3], [0.35], [0.4]]  # fmt: skip
    cache = RunCache(tmp_path / "plan")
    train(plan.ensembles, cache, CPU)
    for key, cfg in plan.runs.items():
        alone = run([cfg], RunCache(tmp_path / f"alone-{key[:8]}"), device=CPU, progress=False)[0]
        planned = cache.load(key, expect=cfg)
        assert planned is not None
        assert_identical(planned, alone)


def test_two_shards_train_the_plan_into_one_cache(tmp_path):
    specs = list(registry())[:2]
    plan = build_plan(specs, Scope("quick"))
    cache = RunCache(tmp_path / "c")
    trained = sum(train(plan.shard(i, 2), cache, CPU).runs for i in (1, 2))
    assert trained == len(plan.runs)
    assert all(cache.load(k, expect=c) is not None for k, c in plan.runs.items())


def test_cli_plan_writes_json_and_trains_a_shard(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("grokcore.spec.load_registry", lambda package="claims": registry())
    cache = tmp_path / "cache"
    out = tmp_path / "plan.json"
    assert cli.main(["plan", "--run-cache", str(cache), "--json", str(out), "-k", "F-",
                     "--shards", "2"]) == 0  # fmt: skip
    d = json.loads(out.read_text())
    assert d["unique_runs"] == 6 and d["claims_not_run"] == 1 and len(d["shards"]) == 2
    assert "NOT RUN: needs data" in capsys.readouterr().out
    assert cli.main(["train-plan", "--run-cache", str(cache), "--shard", "1/1", "-k", "F-"]) == 0
    assert "trained 6" in capsys.readouterr().out
    assert cli.main(["plan", "--run-cache", str(cache), "--json", "-", "-k", "F-"]) == 0
    assert json.loads(capsys.readouterr().out)["cached"] == 6
    assert cli.main(["plan", "-k", "nothing-like-this"]) == 2


def test_scope_seeds_and_checks():
    assert Scope("quick").seeds(3) == [0, 1, 2]
    assert Scope("quick", seeds_override=2, base_seed=100).seeds(6) == [100, 101]
    for bad in ({"scale": "medium"}, {"scale": "quick", "seeds_override": 0},
                {"scale": "quick", "base_seed": 2**64}):  # fmt: skip
        with pytest.raises(ValueError):
            Scope(**bad)  # type: ignore[arg-type]


def test_a_gpu_claim_is_not_run_at_full_scale_without_cuda():
    class Gpu(FakeSpec):
        gpu = True

    spec = Gpu("F-GPU", (1.0,))
    with pytest.raises(NotRun, match="CUDA"):
        spec.prepare(Scope("full"))
    assert spec.prepare(Scope("quick"))  # the quick tier runs on the CPU
