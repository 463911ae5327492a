"""pytest plugin: claims as tests, verdicts as outcomes, one report per session.

A claim test takes the `claim` fixture, trains through `claim.run(configs)`,
builds a `ClaimRecord` and calls `claim.conclude(record)`:
SUPPORTED passes; REFUTED fails with the evidence; INCONCLUSIVE fails unless the
test is marked `expect_inconclusive(scale=..., reason=...)`. Records travel from
xdist workers in `report.user_properties` (plain JSON) and, as a fallback for a
worker that dies, as one JSON file per test; the controller merges them and
writes `<rootdir>/reports/index.html` and `results.json`. Every selected claim is
in the report: one without a record (its worker died, the session was interrupted)
is an ERROR saying why, and the header says when the session ended early.
Options, the collector and the header live in `grokcore.session`.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest
import torch

from grokcore.cache import RunCache
from grokcore.device import configure_threads, describe_device
from grokcore.history import History
from grokcore.record import ClaimRecord, Verdict
from grokcore.runs import STATS, run
from grokcore.session import (
    OPTIONS,
    RECORD_KEY,
    TOKEN_ENV,
    Collector,
    Options,
    claim_meta,
    dumps,
    header,
    nonnegative_int,
    positive_float,
    positive_int,
    read_options,
    write_fallback,
    write_selection,
)

COLLECTOR = pytest.StashKey[Collector]()
REPORT = pytest.StashKey[str]()  # where the report went, or why it could not be written
T0 = pytest.StashKey[float]()
RECORD = pytest.StashKey[ClaimRecord]()
FAILING = pytest.StashKey[bool]()  # conclude() itself fails the test (REFUTED, ...)


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("grokcore", "grokking claims")
    g.addoption(
        "--scale",
        choices=["quick", "full", "auto"],
        default="auto",
        help="quick: CPU-sized claims; full: the papers' settings; "
        "auto (default): full when CUDA is available, else quick",
    )
    g.addoption(
        "--report", default=None, help="HTML verdict report path (default <rootdir>/reports/)"
    )
    g.addoption(
        "--run-cache", default=None, help="run cache dir (default <rootdir>/.grokcore/cache)"
    )
    g.addoption(
        "--seeds", type=positive_int, default=None, help="override every claim's seed count (>= 1)"
    )
    g.addoption(
        "--base-seed",
        type=nonnegative_int,
        default=0,
        help="first seed: claims use seeds N, N+1, ... (check that verdicts hold on other seeds)",
    )
    g.addoption(
        "--lock-timeout",
        type=positive_float,
        default=None,
        help="seconds to wait for a run another process is training (default: no limit)",
    )
    g.addoption(
        "--data-dir",
        default=os.environ.get("GROKCORE_DATA_DIR"),
        help="directory with full MNIST / IMDb / QM9 ($GROKCORE_DATA_DIR)",
    )


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "claim(id, title, paper, section): a published claim encoded as a test",
        "gpu: needs a CUDA device at this scale",
        "needs_data(name): needs a dataset under --data-dir",
        "expect_inconclusive(scale, reason): INCONCLUSIVE is the expected outcome at that scale",
        "expect_refuted(scale, reason): known not to replicate at that scale: REFUTED is "
        "xfailed, any other verdict fails (strict)",
    ):
        config.addinivalue_line("markers", line)
    config.stash[OPTIONS] = read_options(config)  # a usage error before anything runs
    if not hasattr(config, "workerinput"):  # controller: workers inherit the environment
        os.environ[TOKEN_ENV] = uuid.uuid4().hex[:12]
    config.stash[T0] = time.time()
    configure_threads()


def pytest_report_header(config: pytest.Config) -> list[str]:
    o = config.stash[OPTIONS]
    seeds = f"; seeds from {o.base_seed}" if o.base_seed else ""
    return [
        f"grokcore: scale={o.scale} ({o.scale_reason}); device: {describe_device(o.device)}{seeds}"
    ]


class ClaimContext:
    """What a claim test needs: scale, seeds, the cached batched trainer, figure paths."""

    def __init__(self, item: pytest.Item):
        self.item = item
        self.options: Options = item.config.stash[OPTIONS]
        self.scale: str = self.options.scale
        self.seed_override: int | None = self.options.seeds
        self.data_dir: str | None = self.options.data_dir
        self.device = self.options.device
        self.cache = RunCache(self.options.cache_dir)
        marker = item.get_closest_marker("claim")
        self.claim_id = marker.args[0] if marker else item.name
        self.fig_dir = self.options.report.parent / "figures" / self.claim_id
        self.trained = self.cached = 0
        self.t0 = time.time()

    def seeds(self, default: int) -> list[int]:
        """n seeds from --base-seed (0): n = --seeds if given, else the claim's default."""
        n = self.seed_override if self.seed_override is not None else default
        return list(range(self.options.base_seed, self.options.base_seed + n))

    def run(self, configs) -> list[History]:
        before = (STATS.trained, STATS.cached)
        try:
            return run(
                configs, self.cache, device=self.device, lock_timeout=self.options.lock_timeout
            )
        finally:  # runs finished before a failure were trained (and stored) all the same
            self.trained += STATS.trained - before[0]
            self.cached += STATS.cached - before[1]

    def figure(self, name: str) -> Path:
        self.fig_dir.mkdir(parents=True, exist_ok=True)
        return self.fig_dir / f"{name}.png"

    def finish(
        self,
        judgement,
        *,
        statement: str,
        settings: dict,
        deviations: list[str],
        figures: list,
        control_summary: str = "",
    ) -> None:
        """Build the claim's record from a `verdicts.Judgement` and conclude it."""
        meta = claim_meta(self.item)
        record = ClaimRecord(
            **meta,
            scale=self.scale,
            verdict=judgement.verdict,
            reason=judgement.reason,
            statement=statement,
            checks=judgement.checks,
            control=judgement.control,
            control_summary=control_summary,
            settings=settings,
            deviations=deviations,
            figures=figures,
            runs=judgement.runs,
        )
        self.conclude(record)

    def conclude(self, record: ClaimRecord) -> None:
        """Store the record, then pass, fail or accept as expected-inconclusive."""
        record.duration_s = time.time() - self.t0
        record.runs_trained, record.runs_cached = self.trained, self.cached
        record.nodeid = self.item.nodeid
        expect = self.item.get_closest_marker("expect_inconclusive")
        expected = expect is not None and expect.kwargs.get("scale") in (self.scale, None)
        if expected and not record.expectation:
            record.expectation = f"INCONCLUSIVE expected at {self.scale}: {expect.kwargs['reason']}"
        refuted = next(
            (
                m
                for m in self.item.iter_markers("expect_refuted")
                if m.kwargs.get("scale") in (self.scale, None)
            ),
            None,
        )
        if refuted is not None:
            record.expectation = (
                f"expected REFUTED at {self.scale} (strict): {refuted.kwargs['reason']}"
            )
        self.item.stash[RECORD] = record
        write_fallback(self.options, record)
        v = record.verdict
        # remember whether conclude() itself fails the test: a later failure is an ERROR
        self.item.stash[FAILING] = (
            v is not Verdict.REFUTED
            if refuted is not None
            else v is Verdict.REFUTED or (v is Verdict.INCONCLUSIVE and not expected)
        )
        checks = "; ".join(
            f"{c.name} = {c.value:.4g} {list(c.ci) if c.ci else ''} "
            f"vs {c.region}: {c.verdict.value}"
            for c in record.checks
        )
        if refuted is not None:  # strict: any other verdict means the expectation is stale
            if record.verdict is Verdict.REFUTED:
                pytest.xfail(f"{record.claim_id} REFUTED as expected: {record.reason} [{checks}]")
            pytest.fail(
                f"{record.claim_id} was expected REFUTED at {self.scale} but is "
                f"{record.verdict.value}: update its expect_refuted mark [{checks}]",
                pytrace=False,
            )
        if record.verdict is Verdict.REFUTED:
            pytest.fail(f"{record.claim_id} REFUTED: {record.reason} [{checks}]", pytrace=False)
        if record.verdict is Verdict.INCONCLUSIVE and not expected:
            pytest.fail(
                f"{record.claim_id} INCONCLUSIVE: {record.reason} [{checks}]", pytrace=False
            )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every claim test is parametrized by the session's scale: ids read `test_og_inv[quick]`."""
    if "claim" in metafunc.fixturenames:
        scale = metafunc.config.stash[OPTIONS].scale
        metafunc.parametrize("claim", [scale], indirect=True, ids=[scale])


@pytest.fixture
def claim(request: pytest.FixtureRequest) -> ClaimContext:
    """The claim context; skips (NOT RUN) when the claim's hardware or data is missing."""
    ctx = ClaimContext(request.node)
    if (
        request.node.get_closest_marker("gpu")
        and ctx.scale == "full"
        and not torch.cuda.is_available()
    ):
        pytest.skip("full scale needs a CUDA device")
    return ctx


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    meta = claim_meta(item)
    if not meta or report.when not in ("setup", "call"):
        return
    record: ClaimRecord | None = item.stash.get(RECORD, None)
    scale = item.config.stash[OPTIONS].scale
    if record is None and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        record = ClaimRecord(
            **meta,
            scale=scale,
            verdict=Verdict.NOT_RUN,
            reason=reason.removeprefix("Skipped: "),
            nodeid=item.nodeid,
        )
    elif record is None and report.failed:
        record = ClaimRecord(
            **meta,
            scale=scale,
            verdict=Verdict.ERROR,
            reason=f"the claim test crashed in {report.when}",
            traceback=report.longreprtext,
            nodeid=item.nodeid,
        )
    elif record is not None and report.failed and not item.stash.get(FAILING, False):
        # the test raised after concluding: the verdict no longer stands for what happened
        record.verdict = Verdict.ERROR
        record.reason = f"the claim test raised after concluding ({record.reason})"
        record.traceback = report.longreprtext
    elif record is not None and report.when == "call" and hasattr(report, "wasxfail"):
        record.expectation = record.expectation or f"xfail (strict): {report.wasxfail}"
    if record is not None and (report.when == "call" or report.outcome != "passed"):
        report.user_properties.append((RECORD_KEY, dumps(record)))


@pytest.hookimpl(tryfirst=True)
def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config):
    rec = dict(getattr(report, "user_properties", ())).get(RECORD_KEY)
    if rec is None or report.when != "call" or hasattr(report, "wasxfail"):
        return None
    verdict = json.loads(rec)["verdict"]
    if verdict == Verdict.INCONCLUSIVE.value:
        return "inconclusive", "I", ("INCONCLUSIVE", {"yellow": True})
    if verdict == Verdict.REFUTED.value and report.failed:
        return "failed", "R", ("REFUTED", {"red": True})
    return None


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note the selected claims: every one of them ends in the report, with a verdict or ERROR."""
    config = session.config
    selected = {item.nodeid: meta for item in session.items if (meta := claim_meta(item))}
    if hasattr(config, "workerinput"):
        if selected:
            write_selection(config.stash[OPTIONS], config.workerinput["workerid"], selected)
    elif COLLECTOR in config.stash:
        config.stash[COLLECTOR].selected.update(selected)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput"):
        return
    collector = Collector(config.stash[OPTIONS])
    config.stash[COLLECTOR] = collector
    config.pluginmanager.register(collector, "grokcore-collector")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the report whenever claims were selected: also after a crash or an interrupt."""
    config = session.config
    collector = config.stash.get(COLLECTOR, None)
    if collector is None or config.option.collectonly:  # nothing ran: keep the last report
        return
    stopped = collector.why_stopped(session, exitstatus)
    records = collector.gather(stopped)
    if not records:
        return
    from grokcore.report import render_report, write_results_json

    options = config.stash[OPTIONS]
    head = header(options, records, collector, stopped, time.time() - config.stash[T0])
    path = options.report
    try:
        write_results_json(records, head, path.with_name("results.json"))
        render_report(records, head, path)
    except OSError as exc:  # keep the record files: the next look can still find them
        config.stash[REPORT] = f"NOT written, {exc} (the records stay in {options.records_dir})"
        return
    collector.cleanup()
    config.stash[REPORT] = str(path)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    collector = config.stash.get(COLLECTOR, None)
    if collector is not None and collector.records:
        terminalreporter.write_sep("=", "grokcore verdicts")
        for r in sorted(collector.records.values(), key=lambda r: r.claim_id):
            main = r.checks[0] if r.checks else None
            stat = f" | {main.name} = {main.value:.3g}" if main else ""
            if main and main.ci:
                stat += f" [{main.ci[0]:.3g}, {main.ci[1]:.3g}] vs {main.region}"
            terminalreporter.write_line(f"{r.claim_id:12s} {r.verdict.value:12s} {r.reason}{stat}")
        missing = len(collector.records) - collector.reported
        if missing:
            terminalreporter.write_line(
                f"{missing} of {len(collector.records)} selected claims have no verdict "
                "(marked ERROR in the report)",
                red=True,
            )
    where = config.stash.get(REPORT, None)
    if where is not None:
        terminalreporter.write_sep("-", f"grokcore verdict report: {where}")
