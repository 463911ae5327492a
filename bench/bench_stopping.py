"""Issue 23's counts: the quick tier's member-steps with and without the claims' stopping rules,
and its wall time old against new.

    python bench/bench_stopping.py --cache FULL_CACHE [--stopped-cache DIR]
        [--old OLD/results.json --new NEW/results.json]

Member-steps are deterministic. From a cache of the quick tier trained to every run's whole
budget (any commit whose keys match this one's, or this commit with stopping switched off),
it counts, over the plan's unique runs, the budget against the step where each run's merged
rules stop it (`grokcore.runs.unique_by_key` merges the requests of all claims, and a claim
without a rule keeps the whole budget). It also judges every claim that has a rule twice,
from the full runs and from the runs as its rule would have left them (`grokcore.runs.serve`),
and says whether the checks are identical. With --new CACHE_OF_A_STOPPING_RUN it counts the
steps that a tier trained with the rules actually took (`History.trained_steps`).

Wall times come from two reports' `results.json` headers (run them side by side: the machine
drifts by ~20% within the hour). Writes bench/results/stopping-HOST.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _results import write_results

from grokcore import stopping
from grokcore.cache import RunCache
from grokcore.runs import serve, unique_by_key
from grokcore.spec import NotRun, Scope, load_registry


def _plain(x):
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x


def _checks(j) -> dict:
    return _plain(
        {
            "verdict": j.verdict.value,
            "checks": [dataclasses.asdict(c) for c in j.checks],
            "control": [dataclasses.asdict(c) for c in j.control],
        }
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cache", required=True, help="a quick-tier cache trained to full budgets")
    ap.add_argument("--stopped-cache", help="the cache of a quick tier trained with the rules")
    ap.add_argument("--old", help="results.json of the old tier (wall time)")
    ap.add_argument("--new", help="results.json of the new tier (wall time)")
    ap.add_argument(
        "--core-version",
        help="read --cache as written by this CORE_VERSION (e.g. 3: the commits before the "
        "transformer-positions bump, whose runs these rules cut the same way)",
    )
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    from grokcore import config

    core = config.CORE_VERSION
    if a.core_version:
        config.CORE_VERSION = a.core_version
    scope, cache = Scope("quick"), RunCache(a.cache)
    configs, claims = [], []
    for spec in load_registry():
        try:
            arms = spec.prepare(scope)
        except NotRun as exc:
            claims.append({"claim": spec.id, "not_run": str(exc)})
            continue
        runs = {arm: [cache.load(c.key(), expect=c) for c in cs] for arm, cs in arms.items()}
        if any(h is None for hs in runs.values() for h in hs):
            claims.append({"claim": spec.id, "missing": "runs not in --cache"})
            continue
        configs += [c for cs in arms.values() for c in cs]
        row: dict = {"claim": spec.id, "rule": None}
        if (rule := spec.stopping(scope)) is not None:
            served = {arm: [serve(h, c) for h, c in zip(runs[arm], arms[arm], strict=True)]
                      for arm in arms}  # fmt: skip
            same = _checks(spec.judge(scope, arms, runs)) == _checks(
                spec.judge(scope, arms, served)
            )
            row |= {"rule": rule.rule.describe(), "checks_identical": same}
        claims.append(row)
    full = stopped = 0
    for key, c in unique_by_key(configs).items():
        h = cache.load(key, expect=c)
        assert h is not None
        at = stopping.stop_step(c.stop, h.steps, h.train_acc, h.test_acc, h.budget)
        full += c.steps
        stopped += at or c.steps
    result: dict = {
        "unique_runs": len(unique_by_key(configs)),
        "member_steps_full": full,
        "member_steps_with_rules": stopped,
        "ratio": round(stopped / full, 4),
        "claims": claims,
    }
    if a.stopped_cache:
        config.CORE_VERSION = core  # a cache this commit trained
        sc = RunCache(a.stopped_cache)
        trained = 0
        for key in unique_by_key(configs):
            h = sc.load(key)
            trained += h.trained_steps if h is not None else 0
        result["member_steps_trained_in_stopped_cache"] = trained
    for name in ("old", "new"):
        if getattr(a, name):
            header = json.loads(Path(getattr(a, name)).read_text())["header"]
            result[f"{name}_wall_s"] = header["wall_time_s"]
            result[f"{name}_commit"] = header.get("git_commit")
    if "old_wall_s" in result and "new_wall_s" in result:
        result["wall_ratio"] = round(result["new_wall_s"] / result["old_wall_s"], 3)
    same = [r["checks_identical"] for r in claims if "checks_identical" in r]
    print(
        f"{result['unique_runs']} unique runs: member-steps {full:,} -> {stopped:,} "
        f"({result['ratio']:.3f}x); {sum(same)}/{len(same)} claims with a rule judge identically"
    )
    write_results("stopping", a.out, [result])


if __name__ == "__main__":
    main()
