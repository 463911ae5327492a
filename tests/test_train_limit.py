"""`--train-limit` (`grokcore.claim.TrainLimit`): which runs a claim may start training.

The plugin-level behaviour (NOT RUN records, usage errors) is in test_plugin.py; these
check the accounting on tiny configs without a pytest session.
"""

from __future__ import annotations

import pytest
import torch

from grokcore.cache import RunCache
from grokcore.claim import TrainLimit
from grokcore.config import EmbedMLP, ModularTask, RunConfig
from grokcore.cost import chunks
from grokcore.runs import estimates, run

CPU = torch.device("cpu")


def tiny(seed: int, keep_params: bool = False) -> RunConfig:
    return RunConfig(
        task=ModularTask("x+y", 7, 0.5),
        model=EmbedMLP(d_embed=8, width=16, depth=1),
        steps=20,
        eval_points=5,
        seed=seed,
        keep_params=keep_params,
    )


def estimated(configs: list[RunConfig]) -> float:
    times = estimates(chunks(configs, CPU, 64), CPU)
    assert not isinstance(times, str), times
    return sum(times)


@pytest.fixture
def cache(tmp_path) -> RunCache:
    return RunCache(tmp_path / "cache")


def test_cached_runs_pass_a_zero_limit(cache: RunCache):
    run([tiny(0), tiny(1)], cache, device=CPU, progress=False)
    assert TrainLimit(0.0).refusal([tiny(0), tiny(1), tiny(0)], cache, CPU) is None


def test_zero_limit_counts_missing_runs_once_per_key(cache: RunCache):
    run([tiny(0)], cache, device=CPU, progress=False)
    why = TrainLimit(0.0).refusal([tiny(0), tiny(1), tiny(1), tiny(2)], cache, CPU)
    assert why is not None
    assert why.startswith("not trained in this session: 2 of 3 runs are not in the run cache")
    assert "on cpu by grokcore.estimate, every arm summed: 2 EmbedMLP runs × 20 steps" in why
    assert "); --train-limit 0 judges only cached runs" in why


def test_a_run_that_must_keep_parameters_is_missing_without_them(cache: RunCache):
    run([tiny(0)], cache, device=CPU, progress=False)  # stored without final_params
    why = TrainLimit(0.0).refusal([tiny(0, keep_params=True)], cache, CPU)
    assert why is not None and "1 of 1 runs are not in the run cache" in why


def test_the_limit_holds_for_all_of_a_claims_calls(cache: RunCache):
    first, second = [tiny(0), tiny(1)], [tiny(2), tiny(3)]
    limit = TrainLimit(1.5 * estimated(first))
    assert limit.refusal(first, cache, CPU) is None  # within the limit: counted as started
    assert limit.started_s == pytest.approx(estimated(first))
    why = limit.refusal(second, cache, CPU)  # alone within the limit, not with the first
    assert why is not None and "started before is over --train-limit" in why
    assert TrainLimit(10 * estimated(first)).refusal(second, cache, CPU) is None


def test_a_not_run_estimate_sums_every_arm_of_the_claim(cache: RunCache, monkeypatch):
    """OG-INV at the paper tier: its NOT RUN estimate counts the transformer γ sweep as well as
    the teacher-student one (the H200 report said 9 s for the 18 teacher-student runs; the
    transformer sweep alone took about 23 min)."""
    from claims import REGISTRY
    from grokcore import estimate
    from grokcore.spec import Scope

    # a fixed device, so the test measures nothing (the formula, not a probe, at limit 0)
    fixed = estimate.Calibration(overhead_s=2e-4, flops_per_s=1.7e13)
    monkeypatch.setattr(estimate, "calibrate", lambda *a, **k: fixed)
    arms = REGISTRY["OG-INV"].prepare(Scope("full"))
    assert set(arms) == {"γ sweep", "γ = 0 (control)", "transformer γ sweep", "transformer γ = 0"}
    every = [c for cs in arms.values() for c in cs]
    why = TrainLimit(0).refusal(every, cache, CPU)
    assert why is not None and f"{len(every)} of {len(every)} runs" in why

    def secs(configs: list[RunConfig]) -> float:
        return sum(estimate.seconds(ch, fixed) for ch in chunks(configs, CPU, 64))

    teacher = arms["γ sweep"] + arms["γ = 0 (control)"]
    transformer = arms["transformer γ sweep"] + arms["transformer γ = 0"]
    assert secs(every) == pytest.approx(secs(teacher) + secs(transformer))
    assert secs(transformer) > 20 * secs(teacher)  # the stage the old estimate left out
    assert "every arm summed" in why
    assert f"{len(teacher)} MLP runs × 100,000 steps" in why
    assert f"{len(transformer)} Transformer runs × 80,000 steps" in why
    from grokcore.runs import duration

    assert f"estimated {duration(secs(every))} on cpu" in why


def test_a_not_run_row_keeps_the_papers_value(tmp_path):
    """The summary's paper column of a NOT RUN claim (no checks of its own) is its spec's
    paper value, carried by the claim's marker into the record the plugin makes."""
    from claims import REGISTRY
    from claims.test_claims import _param
    from grokcore.record import ClaimRecord, Verdict
    from grokcore.report import load_results_json, render_report, write_results_json
    from grokcore.report.render import SUMMARY_CSV
    from grokcore.session import claim_meta

    spec = REGISTRY["OG-INV"]
    mark = next(m for m in _param(spec).marks if m.name == "claim")

    class Item:  # what claim_meta reads of a pytest item
        def get_closest_marker(self, name):
            return mark.mark if name == "claim" else None

    meta = claim_meta(Item())  # type: ignore[arg-type]
    assert meta["paper_value"] == spec.paper_value == "−1 (t ≈ ln(w0/wc)/γ)"
    record = ClaimRecord(**meta, scale="full", verdict=Verdict.NOT_RUN, reason="not trained")
    write_results_json([record], {"scale": "full"}, tmp_path / "results.json")
    [back], _ = load_results_json(tmp_path / "results.json")
    html = render_report([back], {"scale": "full"}, tmp_path / "index.html").read_text()
    row = html.split('href="#claim-OG-INV"', 1)[1].split("</tr>", 1)[0]
    assert "NOT RUN" in row and spec.paper_value in row
    assert spec.paper_value in (tmp_path / SUMMARY_CSV).read_text(encoding="utf-8")
    # a claim whose paper gives no number keeps "—"
    assert REGISTRY["OG-CE"].paper_value == ""
