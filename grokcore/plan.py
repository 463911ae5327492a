"""A tier as one plan: every run the selected claims need, merged into ensembles, costed,
sharded, trained into one cache, before any claim is judged.

    plan = build_plan(registry.select("OG-"), Scope("quick"))
    plan.describe(cache, device)        # runs, unique runs, cached, ensembles, FLOPs, time
    train(plan.shard(1, 2), cache, device)   # one of two processes sharing the cache

Continued runs (`config.Continuation`) come after their parents: the ensembles are listed
wave by wave (`runs.waves`), every shard keeps that order, and `runs.warm` trains or reads
a child's parent first even where the parent's ensemble is another shard's (on one shared
cache the lock makes that one training; on separate caches both hosts train it, alike).

Runs of different claims share an ensemble wherever their `ensemble_key` agrees (a
member's arithmetic does not depend on its companions, so a run trained beside another
claim's runs equals the same run trained alone: tests/test_plan.py). Shards are whole
ensembles, balanced by a deterministic cost (the FLOP formula at a fixed nominal rate,
`NOMINAL`), so every process that builds the same plan cuts the same shards: each run
belongs to exactly one shard, and shards sharing a cache never contend for a key.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from grokcore import estimate
from grokcore import progress as grokcore_progress
from grokcore.cache import RunCache
from grokcore.config import RunConfig, eval_schedule
from grokcore.cost import footprint, gib
from grokcore.runs import duration, load_cached, unique_by_key, warm, waves, with_parents
from grokcore.spec import ClaimSpec, NotRun, Scope

MAX_MEMBERS = 64  # members per ensemble: runs.run's default
# A fixed rate for cutting shards: any process gets the same shards (a measured
# calibration would differ from process to process). Only the ratios matter.
NOMINAL = estimate.Calibration(overhead_s=1e-3, flops_per_s=2.5e10)
# The time estimate on a CUDA device this host does not have: one H100 in fp32, from
# bench/sweep_cost.py's measured 17 TFLOP/s for a transformer ensemble and the 0.2 ms
# CUDA-graph step of teacher-student at K = 64 (reports/examples/2026-12-04-h200).
NOMINAL_H100 = estimate.Calibration(overhead_s=2e-4, flops_per_s=1.7e13)


@dataclass(frozen=True)
class ClaimPlan:
    """One claim's part of the plan: its arms, or why it cannot run in this scope."""

    claim_id: str
    arms: dict[str, list[RunConfig]] = field(default_factory=dict)
    not_run: str | None = None

    @property
    def configs(self) -> list[RunConfig]:
        return [c for cs in self.arms.values() for c in cs]


@dataclass
class Plan:
    """The runs of a selection of claims in one scope, as cross-claim ensembles."""

    scope: Scope
    claims: list[ClaimPlan]
    runs: dict[str, RunConfig]  # unique runs by key, in the claims' order
    ensembles: list[list[RunConfig]]  # each at most MAX_MEMBERS, one ensemble key each

    def cost(self, chunk: Sequence[RunConfig]) -> float:
        """The deterministic cost a shard is balanced by (seconds at NOMINAL)."""
        return estimate.seconds(chunk, NOMINAL)

    def shards(self, n: int) -> list[list[list[RunConfig]]]:
        """The ensembles cut into n shards of near-equal cost: longest first, each to the
        least loaded shard (the same cut in every process)."""
        if n < 1:
            raise ValueError(f"the number of shards must be >= 1, got {n}")
        order = sorted(range(len(self.ensembles)), key=lambda i: -self.cost(self.ensembles[i]))
        load = [0.0] * n
        out: list[list[list[RunConfig]]] = [[] for _ in range(n)]
        for i in order:
            s = min(range(n), key=lambda j: (load[j], j))
            out[s].append(self.ensembles[i])
            load[s] += self.cost(self.ensembles[i])
        # within a shard, parents' ensembles before their children's (stable otherwise); a
        # shard whose children's parents are in another shard trains or reads them first
        # (`runs.warm`), so no shard trains a child before its parent
        return [sorted(shard, key=_wave) for shard in out]

    def shard(self, i: int, n: int) -> list[list[RunConfig]]:
        """Shard i of n (1-based, as `--shard 1/2`)."""
        if not 1 <= i <= n:
            raise ValueError(f"shard {i}/{n}: i must be in 1..{n}")
        return self.shards(n)[i - 1]

    def claim_by_claim_ensembles(self) -> int:
        """How many ensembles the claims would train one claim at a time (before plans)."""
        return sum(len(_ensembles(unique_by_key(cp.configs))) for cp in self.claims)

    def describe(
        self, cache: RunCache | None, device: torch.device, *, probe: bool = False
    ) -> dict:
        """The plan's numbers as plain values: the `grokcore plan` table and its --json."""
        cached = {k for k, c in self.runs.items() if cache is not None and load_cached(cache, k, c)}
        todo = [[c for c in ch if c.key() not in cached] for ch in self.ensembles]
        todo = [ch for ch in todo if ch]
        seconds, basis = estimated_seconds(self.ensembles, device, probe)
        left, _ = estimated_seconds(todo, device, probe)
        per_claim = []
        for cp in self.claims:
            keys = set(unique_by_key(cp.configs))
            per_claim.append(
                {
                    "claim": cp.claim_id,
                    "runs": len(cp.configs),
                    "unique_runs": len(keys),
                    "cached": len(keys & cached),
                    "not_run": cp.not_run,
                }
            )
        return {
            "scale": self.scope.scale,
            "base_seed": self.scope.base_seed,
            "seeds": self.scope.seeds_override,
            "device": str(device),
            "claims": len(self.claims),
            "claims_not_run": sum(cp.not_run is not None for cp in self.claims),
            "runs": sum(len(cp.configs) for cp in self.claims),
            "unique_runs": len(self.runs),
            "cached": len(cached),
            "to_train": sum(map(len, todo)),
            "ensembles": len(self.ensembles),
            "ensembles_to_train": len(todo),
            "ensembles_claim_by_claim": self.claim_by_claim_ensembles(),
            "member_steps": sum(c.steps for c in self.runs.values()),
            # runs with a stopping rule (grokcore/stopping.py): the steps above are at most
            "runs_that_may_stop": sum(bool(c.stop) for c in self.runs.values()),
            # continued runs (config.Continuation) train after their parents: the waves
            "continued_runs": sum(c.start is not None for c in self.runs.values()),
            "waves": len(waves(self.runs)),
            "flop": sum(_flop(c) for c in self.runs.values()),
            "peak_memory_bytes": max(
                (footprint(ch[0]).total(len(ch)) for ch in self.ensembles), default=0
            ),
            "estimated_s": seconds,
            "estimated_left_s": left,
            "estimate": basis,
            "per_claim": per_claim,
        }


def _flop(cfg: RunConfig) -> float:
    step, ev = estimate.flops(cfg)
    return cfg.steps * step + len(eval_schedule(cfg.steps, cfg.eval_points, cfg.eval_every)) * ev


def estimated_seconds(
    chunks: list[list[RunConfig]], device: torch.device, probe: bool
) -> tuple[float, str]:
    if not chunks:
        return 0.0, "nothing to train"
    if device.type == "cuda" and not torch.cuda.is_available():
        total = sum(estimate.seconds(ch, NOMINAL_H100) for ch in chunks)
        return total, "FLOP formula at a nominal H100 (17 TFLOP/s, 0.2 ms a step): no CUDA here"
    by_dtype: dict[str, list[list[RunConfig]]] = defaultdict(list)
    for ch in chunks:
        by_dtype[ch[0].dtype].append(ch)
    total = sum(estimate.estimate(chs, device, probe) for chs in by_dtype.values())
    how = "probe" if probe and estimate.mode(device) == "probe" else "FLOP formula"
    return total, f"grokcore.estimate ({how}) on {device}"


def _ensembles(by_key: dict[str, RunConfig]) -> list[list[RunConfig]]:
    """Cross-claim ensembles in dependency order: continued runs after their parents' (a
    continued run's ensemble key holds its D' and step offset, so no ensemble mixes waves)."""
    groups: dict[tuple, list[RunConfig]] = defaultdict(list)
    for wave in waves(by_key):
        for c in wave.values():
            groups[c.ensemble_key()].append(c)
    return [g[a : a + MAX_MEMBERS] for g in groups.values() for a in range(0, len(g), MAX_MEMBERS)]


def _wave(chunk: Sequence[RunConfig]) -> int:
    return len(chunk[0].lineage())


def build_plan(specs: Sequence[ClaimSpec], scope: Scope) -> Plan:
    """Every run of `specs` in `scope`; a claim that cannot run there is noted, not planned."""
    claims = []
    for spec in specs:
        try:
            claims.append(ClaimPlan(spec.id, spec.prepare(scope)))
        except NotRun as exc:
            claims.append(ClaimPlan(spec.id, not_run=str(exc)))
    by_key = unique_by_key([c for cp in claims for c in cp.configs])
    by_key = with_parents(by_key, {}, None)  # every continued run's parents, kept weights
    return Plan(scope, claims, by_key, _ensembles(by_key))


@dataclass
class Trained:
    """What a `train` call did: runs trained (others were cached or another process's)."""

    runs: int = 0
    seconds: float = 0.0


def train(
    chunks: Sequence[Sequence[RunConfig]],
    cache: RunCache,
    device: torch.device,
    *,
    label: str = "plan",
    stream=None,
) -> Trained:
    """Train into `cache` the runs of `chunks` it lacks, ensemble after ensemble, with one
    progress line for the whole plan (runs done, elapsed, ETA). Runs that another process
    is training are left to it."""
    stream = stream or sys.stderr
    chunks = [list(ch) for ch in chunks if ch]
    total = sum(map(len, chunks))
    try:
        guesses = [estimate.estimate([ch], device, probe=False) for ch in chunks]
    except Exception:  # an estimate must never be what fails a run
        guesses = [estimate.seconds(ch, NOMINAL) for ch in chunks]
    done = Trained()
    t0, runs_done, guessed_done = time.perf_counter(), 0, 0.0
    previous = grokcore_progress.TARGET.claim
    grokcore_progress.TARGET.claim = label
    try:
        print(
            f"[grokcore] {label}: {total} run(s) in {len(chunks)} ensemble(s) on {device}, "
            f"estimated {duration(sum(guesses))}",
            file=stream,
            flush=True,
        )
        for ch, guess in zip(chunks, guesses, strict=True):
            done.runs += warm(ch, cache, device=device)
            runs_done += len(ch)
            guessed_done += guess
            elapsed = time.perf_counter() - t0
            rest = sum(guesses) - guessed_done
            eta = duration(elapsed * rest / guessed_done) if guessed_done > 0 else "?"
            print(
                f"[grokcore] {label}: {runs_done}/{total} runs ({done.runs} trained here), "
                f"{duration(elapsed)} elapsed, ETA {eta if rest > 0 else 'done'}",
                file=stream,
                flush=True,
            )
    finally:
        grokcore_progress.TARGET.claim = previous
        done.seconds = time.perf_counter() - t0
    return done


def parse_shard(text: str) -> tuple[int, int]:
    """'i/n' -> (i, n), with 1 <= i <= n."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard {text!r}: expected i/n, e.g. 1/2") from None
    if not 1 <= i <= n:
        raise ValueError(f"--shard {text!r}: i must be in 1..n")
    return i, n


def table(d: dict) -> str:
    """The plan as a terminal table."""
    lines = [f"{'claim':18s} {'runs':>6s} {'unique':>7s} {'cached':>7s}  note"]
    for row in d["per_claim"]:
        note = f"NOT RUN: {row['not_run']}" if row["not_run"] else ""
        lines.append(
            f"{row['claim']:18s} {row['runs']:6d} {row['unique_runs']:7d} {row['cached']:7d}  "
            f"{note[:100]}"
        )
    lines += [
        "",
        f"scale {d['scale']}, {d['claims']} claims ({d['claims_not_run']} NOT RUN here), "
        f"{d['runs']:,} runs, {d['unique_runs']:,} unique "
        f"({d['runs'] - d['unique_runs']:,} shared across claims)",
        f"cached {d['cached']:,}, to train {d['to_train']:,}",
        f"ensembles {d['ensembles']} across claims ({d['ensembles_to_train']} to train), "
        f"against {d['ensembles_claim_by_claim']} claim by claim",
        f"{d['member_steps']:,} member-steps at most ({d['runs_that_may_stop']} runs may stop "
        "early by their claim's rule), "
        f"{d['flop']:.3g} FLOP, "
        f"largest ensemble needs >= {gib(d['peak_memory_bytes'])}",
        *(
            [
                f"{d['continued_runs']} continued run(s) in {d['waves']} waves: each wave's "
                "ensembles train after the last's (parents before children; a shard trains "
                "or reads its children's parents first)"
            ]
            if d.get("continued_runs")
            else []
        ),
        f"estimated time on {d['device']}: {duration(d['estimated_s'])} in all, "
        f"{duration(d['estimated_left_s'])} left to train ({d['estimate']})",
    ]
    return "\n".join(lines)


__all__ = ["NOMINAL", "ClaimPlan", "Plan", "Trained", "build_plan", "parse_shard", "table", "train"]
