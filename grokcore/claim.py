"""The `claim` fixture's object: what a claim test needs, and how it concludes.

A claim test reads like the paper's sentence:

    arms = claim.run({"free": free, "constrained": constrained})   # histories by arm
    j = delay_ratio(arms["constrained"], arms["free"], ...)        # statistic -> Judgement
    plotting.plot_curves(arms, claim.figure("curves", "caption"))  # one call per figure
    claim.finish(j, statement="...")                               # verdict -> outcome

The settings table (ours | paper | why) comes from the configs the claim ran and the
notes `grokcore.setups` attached to them; the figures from `claim.figure`; the outcome
from `grokcore.outcome` and the claim spec's `expected`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import pytest
import torch

from grokcore import progress
from grokcore.cache import RunCache
from grokcore.config import RunConfig
from grokcore.data.mnist import DataUnavailable
from grokcore.device import out_of_memory
from grokcore.history import History
from grokcore.outcome import Expectation, Outcome, outcome
from grokcore.record import ClaimRecord, Figure, Verdict, ruled_reason, ruling
from grokcore.report.settings import settings_table
from grokcore.runs import (
    RunStats,
    RunTooLarge,
    duration,
    estimates,
    load_cached,
    plan,
    run,
    unique_by_key,
)
from grokcore.runs import warm as warm_cache
from grokcore.session import Options, claim_meta, write_fallback
from grokcore.spec import ClaimSpec, NotRun, Scope

RECORD = pytest.StashKey[ClaimRecord]()
FAILING = pytest.StashKey[bool]()  # conclude() itself fails the test (REFUTED, ...)


def expectation(item: pytest.Item, scale: str) -> Expectation | None:
    """The claim's known outcome at `scale`, from its expect_refuted/expect_inconclusive marks."""
    for name, verdict in (
        ("expect_refuted", Verdict.REFUTED),
        ("expect_inconclusive", Verdict.INCONCLUSIVE),
    ):
        for m in item.iter_markers(name):
            if m.kwargs.get("scale") in (scale, None):
                return Expectation(verdict, m.kwargs["reason"])
    return None


@dataclass
class TrainLimit:
    """`--train-limit` for one claim: the most training time its `claim.run` calls may start.

    Each call's missing runs are found as `runs.run` finds them (one per key; a run that
    keeps its parameters is missing where its entry has none) and their training time is
    estimated by `grokcore.estimate` on the claim's device. A limit of 0 refuses any
    missing run; a larger one refuses a call whose estimate, added to what the claim's
    earlier calls started, is above it. Without an estimate (or where one run cannot fit
    the device, which `run` then reports), a limit above 0 lets the runs train.
    """

    limit_s: float
    started_s: float = 0.0  # the estimated seconds of training this claim has started

    def refusal(
        self, configs: Sequence[RunConfig], cache: RunCache, device: torch.device
    ) -> str | None:
        """Why `configs` may not train (a NOT RUN reason), or None: then count them as started."""
        by_key = unique_by_key(configs)
        missing = [c for key, c in by_key.items() if load_cached(cache, key, c) is None]
        if not missing:
            return None
        chunks: list[list[RunConfig]] = []
        try:
            # at --train-limit 0 nothing trains, not even an estimate's probe
            chunks = plan(missing, device, 64)
            times = estimates(chunks, device, probe=self.limit_s > 0)
        except RunTooLarge as exc:
            times = f"{type(exc).__name__}: {exc}"
        if isinstance(times, str):
            if self.limit_s > 0:
                return None
            estimated = f"no time estimate: {times}"
        else:
            if self.started_s + sum(times) <= self.limit_s:
                self.started_s += sum(times)
                return None
            estimated = (
                f"estimated {duration(sum(times))} on {device} by grokcore.estimate, every arm "
                f"summed: {breakdown(chunks, times)}"
            )
        what = f"{len(missing)} of {len(by_key)} runs are not in the run cache ({estimated})"
        rule = "--train-limit 0 judges only cached runs"
        if self.limit_s > 0:
            earlier = f" with the {duration(self.started_s)} started before" * (self.started_s > 0)
            rule = f"that{earlier} is over --train-limit {self.limit_s / 60:g} min"
        return (
            f"not trained in this session: {what}; {rule}. Train them with a larger "
            "--train-limit, or import a cache (grokcore cache import)"
        )


def breakdown(chunks: Sequence[Sequence[RunConfig]], times: Sequence[float]) -> str:
    """The estimate's parts, one per model and budget: "18 MLP runs × 100,000 steps 17 min;
    18 Transformer runs × 80,000 steps 3.2 h", so that a reader sees every stage counted."""
    parts: dict[tuple[str, int], list[float]] = {}
    for ch, t in zip(chunks, times, strict=True):
        n_t = parts.setdefault((type(ch[0].model).__name__, ch[0].steps), [0, 0.0])
        n_t[0] += len(ch)
        n_t[1] += t
    return "; ".join(
        f"{int(n)} {model} run{'s' * (n != 1)} × {steps:,} steps {duration(t)}"
        for (model, steps), (n, t) in parts.items()
    )


def options_scope(o: Options) -> Scope:
    """The claims' scope of a session's options."""
    return Scope(o.scale, o.seeds, o.base_seed, o.data_dir, o.device)  # type: ignore[arg-type]


class ClaimContext:
    """Scale, seeds, the cached batched trainer, figures, and the way to a verdict."""

    def __init__(self, item: pytest.Item, options: Options):
        self.item = item
        self.options = options
        self.scale: str = options.scale
        self.data_dir: str | None = options.data_dir
        self.device = options.device
        self.cache = RunCache(options.cache_dir)
        marker = item.get_closest_marker("claim")
        self.claim_id = marker.args[0] if marker else item.name
        self.fig_dir = options.report.parent / "figures" / self.claim_id
        self.arms: dict[str, list[RunConfig]] = {}
        self.paper_arms: dict[str, list[RunConfig]] | None = None  # set by `execute`
        self.figures: list[Figure] = []
        self.trained = self.cached = 0
        self.t0 = time.time()
        limit = options.train_limit_s
        self.train_limit = TrainLimit(limit) if limit is not None else None

    @property
    def scope(self) -> Scope:
        """What the claim's runs depend on, from the session's options."""
        return options_scope(self.options)

    def seeds(self, default: int) -> list[int]:
        """n seeds from --base-seed (0): n = --seeds if given, else the claim's default."""
        return self.scope.seeds(default)

    def execute(self, spec: ClaimSpec) -> None:
        """Run one claim spec: its runs (from the cache the plan trained), its statistic, its
        figures and its card; NOT RUN (a skip) with the reason where the scope cannot hold it."""
        scope = self.scope
        try:
            arms = spec.prepare(scope)
        except NotRun as exc:
            pytest.skip(str(exc))
        self.paper_arms = spec.paper_arms(scope)  # the settings table's paper column
        runs = self.run(arms)
        j = spec.judge(scope, arms, runs)
        spec.draw(scope, arms, runs, j, self.figure)
        card = spec.card(scope, arms, j)
        self.finish(
            j,
            statement=card.statement,
            settings=card.settings,
            deviations=card.deviations,
            control_summary=card.control_summary,
        )

    @overload
    def run(self, configs: Mapping[str, Sequence[RunConfig]]) -> dict[str, list[History]]: ...
    @overload
    def run(self, configs: Sequence[RunConfig]) -> list[History]: ...

    def run(self, configs):
        """Histories by arm for {arm: configs} (or a list for a list), trained as few batched
        ensembles as the arms allow and cached. The arms' configs feed the settings table."""
        if not isinstance(configs, Mapping):
            return self._run(list(configs), "runs")
        arms = {name: list(cs) for name, cs in configs.items()}
        flat = [c for cs in arms.values() for c in cs]
        histories = iter(self._run(flat, None))
        for name, cs in arms.items():
            self.arms[name] = cs
        return {name: [next(histories) for _ in cs] for name, cs in arms.items()}

    def _run(self, configs: list[RunConfig], arm: str | None) -> list[History]:
        if arm is not None:
            self.arms.setdefault(arm, []).extend(configs)
        limit = self.train_limit
        if limit is not None and (why := limit.refusal(configs, self.cache, self.device)):
            pytest.skip(why)
        stats = RunStats()
        progress.TARGET.claim = self.claim_id  # names the claim on the controller's progress line
        try:
            return run(
                configs,
                self.cache,
                device=self.device,
                lock_timeout=self.options.lock_timeout,
                stats=stats,
            )
        except DataUnavailable as exc:  # a run to train needs data this machine lacks
            pytest.skip(str(exc))
        except RuntimeError as exc:  # torch's CPU allocator under `ulimit -v`, say
            if out_of_memory(exc):
                raise MemoryError(f"out of memory while training: {exc}") from exc
            raise
        finally:  # runs finished before a failure were trained (and stored) all the same
            progress.TARGET.claim = ""
            self.trained += stats.trained
            self.cached += stats.cached

    def warm(self, configs: Sequence[RunConfig]) -> None:
        """Train into the cache now, as few batched ensembles as they allow, runs that other
        claims will ask for one by one (`runs.warm`): e.g. the LS-MNIST rows that share an
        ensemble key train as one program, not one per row. Nothing joins this card's arms;
        what trains counts in its `runs_trained`. Keys another worker is training are left
        to it, not waited for. Under --train-limit nothing is warmed: the limit is about
        each claim's own runs."""
        if self.train_limit is not None:
            return
        progress.TARGET.claim = self.claim_id
        try:
            self.trained += warm_cache(configs, self.cache, device=self.device)
        except DataUnavailable as exc:
            pytest.skip(str(exc))
        finally:
            progress.TARGET.claim = ""

    def figure(self, name: str, caption: str | None = None) -> Path:
        """The path to draw figure `name` to; with a caption, the figure joins the card."""
        self.fig_dir.mkdir(parents=True, exist_ok=True)
        path = self.fig_dir / f"{name}.png"
        if caption is not None:
            self.figures.append(Figure(str(path), caption))
        return path

    def finish(
        self,
        judgement,
        *,
        statement: str,
        settings: dict[str, Any] | None = None,
        deviations: Sequence[str] = (),
        figures: Sequence[Figure] = (),
        control_summary: str = "",
    ) -> None:
        """Build the claim's record from a `verdicts.Judgement` and conclude it.

        deviations: claim-level departures from the paper that no config holds (a
        threshold, an arm left out); the configs' own are in the settings table, from the
        notes `grokcore.setups` attached to them.
        """
        lowered = sorted({c.precision for cs in self.arms.values() for c in cs} - {"fp32"})
        stated = any("precision" in n.name for cs in self.arms.values() for c in cs
                     for n in c.notes) or any("precision" in d for d in deviations)  # fmt: skip
        if lowered and not stated:
            raise ValueError(
                f"{self.claim_id} trains at precision {', '.join(lowered)} without stating it: "
                "a lower precision must be a deviation (a setup note or `deviations`)"
            )
        # the one verdict rule's control part (record.VERDICT_RULE), for every claim alike
        ruled = ruling(judgement.verdict, judgement.checks, judgement.control)
        record = ClaimRecord(
            **claim_meta(self.item),
            scale=self.scale,
            verdict=ruled.verdict,
            reason=ruled_reason(judgement.reason, ruled, judgement.verdict),
            statement=statement,
            checks=judgement.checks,
            control=judgement.control,
            control_summary=control_summary,
            settings=dict(settings or {}),
            deviations=list(deviations),
            table=settings_table(self.arms, self.paper_arms) if self.arms else [],
            figures=[*self.figures, *figures],
            runs=judgement.runs,
        )
        self.conclude(record)

    def conclude(self, record: ClaimRecord) -> None:
        """Store the record, then pass, fail or xfail as `grokcore.outcome` says."""
        record.duration_s = time.time() - self.t0
        record.runs_trained, record.runs_cached = self.trained, self.cached
        record.nodeid = self.item.nodeid
        expected = expectation(self.item, self.scale)
        if expected is not None:
            record.expectation = (
                f"{expected.verdict.value} expected at {self.scale} (strict): {expected.why}"
            )
        self.item.stash[RECORD] = record
        write_fallback(self.options, record)
        result, message = outcome(record.verdict, expected)
        # remember whether conclude() itself fails the test: a later failure is an ERROR
        self.item.stash[FAILING] = result is not Outcome.PASS
        checks = "; ".join(
            f"{c.name} = {c.value:.4g} {list(c.ci) if c.ci else ''} "
            f"vs {c.region}: {c.verdict.value}"
            for c in record.checks
        )
        detail = f"{record.claim_id} {message}: {record.reason} [{checks}]"
        if result is Outcome.XFAIL:
            pytest.xfail(detail)
        if result is Outcome.FAIL:
            pytest.fail(detail, pytrace=False)
