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
    assert "on cpu by grokcore.estimate); --train-limit 0 judges only cached runs" in why


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
