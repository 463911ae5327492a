"""pytest plugin: claims as tests, verdicts as outcomes, one report per session.

A claim test takes the `claim` fixture, trains through `claim.run(configs)`,
builds a `ClaimRecord` and calls `claim.conclude(record)`:
SUPPORTED passes; REFUTED fails with the evidence; INCONCLUSIVE fails unless the
test is marked `expect_inconclusive(scale=..., reason=...)`. The summary line counts an
unexpected INCONCLUSIVE with the failures and an expected one as "inconclusive". Records travel from
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
from contextlib import nullcontext
from pathlib import Path

import pytest
import torch

from grokcore import env, progress
from grokcore.argtypes import minutes, nonnegative_int, positive_float, positive_int
from grokcore.cache import RunCache
from grokcore.claim import FAILING, RECORD, ClaimContext, options_scope
from grokcore.device import configure_threads, describe_device
from grokcore.plan import build_plan
from grokcore.plan import train as plan_train
from grokcore.record import ClaimRecord, Verdict
from grokcore.session import (
    OPTIONS,
    RECORD_KEY,
    TOKEN_ENV,
    Collector,
    claim_meta,
    dumps,
    header,
    plan_counts,
    read_options,
    record_files,
    write_plan_count,
    write_selection,
)
from grokcore.spec import ClaimSpec

COLLECTOR = pytest.StashKey[Collector]()
REPORT = pytest.StashKey[str]()  # where the report went, or why it could not be written
T0 = pytest.StashKey[float]()
WATCHER = pytest.StashKey[progress.Watcher]()  # prints the workers' training progress
OUTER_PROGRESS = pytest.StashKey[progress.Target]()  # an enclosing session's, restored at exit


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
        "--train-limit",
        type=minutes,
        default=None,
        metavar="MINUTES",
        help="the most training time (estimated) any one claim may start; a claim whose "
        "uncached runs would take longer is NOT RUN (0: judge cached runs only; "
        "default: no limit)",
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
    if hasattr(config, "workerinput") and not os.environ.get("GROKCORE_DEVICE"):
        pinned = worker_device(config.workerinput["workerid"], torch.cuda.device_count())
        if pinned is not None:  # before any CUDA call: each worker keeps to its own GPU
            os.environ["GROKCORE_DEVICE"] = pinned
    config.stash[OPTIONS] = read_options(config)  # a usage error before anything runs
    if not hasattr(config, "workerinput"):  # controller: workers inherit the environment
        os.environ[TOKEN_ENV] = uuid.uuid4().hex[:12]
    config.stash[T0] = time.time()
    configure_threads()
    config.stash[OUTER_PROGRESS] = progress.swap(progress.Target())
    if hasattr(config, "workerinput"):  # training progress goes to the controller by file
        progress.configure(progress_dir(config), config.workerinput["workerid"])


def pytest_unconfigure(config: pytest.Config) -> None:
    if OUTER_PROGRESS in config.stash:
        progress.swap(config.stash[OUTER_PROGRESS])


def progress_dir(config: pytest.Config) -> Path:
    return config.stash[OPTIONS].records_dir.with_name(".progress")


def worker_device(workerid: str, n_gpus: int) -> str | None:
    """The GPU of xdist worker `gwN` on a runner with `n_gpus` visible: cuda:(N mod n_gpus)."""
    if n_gpus < 1:
        return None
    return f"cuda:{int(workerid.removeprefix('gw')) % n_gpus}"


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, which may not be installed
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto` on a GPU runner: one worker per visible GPU, each pinned to its own
    (`worker_device`); an ensemble already fills a GPU, so more workers only queue on it.
    Without CUDA, xdist's own choice (one per core) stands."""
    n = torch.cuda.device_count()
    return n if n > 0 else None


def pytest_report_header(config: pytest.Config) -> list[str]:
    o = config.stash[OPTIONS]
    seeds = f"; seeds from {o.base_seed}" if o.base_seed else ""
    return [
        f"grokcore: scale={o.scale} ({o.scale_reason}); device: {describe_device(o.device)}{seeds}"
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every claim test is parametrized by the session's scale: ids read `test_og_inv[quick]`."""
    if "claim" in metafunc.fixturenames:
        scale = metafunc.config.stash[OPTIONS].scale
        metafunc.parametrize("claim", [scale], indirect=True, ids=[scale])


@pytest.fixture
def claim(request: pytest.FixtureRequest) -> ClaimContext:
    """The claim context; skips (NOT RUN) when the claim's hardware or data is missing."""
    ctx = ClaimContext(request.node, request.config.stash[OPTIONS])
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
    if verdict == Verdict.INCONCLUSIVE.value and report.failed:
        # not expected: it fails the run, so the summary counts it with the failures (a
        # separate "inconclusive" count would hide that the run failed)
        return "failed", "I", ("INCONCLUSIVE", {"red": True})
    if verdict == Verdict.INCONCLUSIVE.value:  # expected at this scale: it passes
        return "inconclusive", "i", ("INCONCLUSIVE (expected)", {"yellow": True})
    if verdict == Verdict.REFUTED.value and report.failed:
        return "failed", "R", ("REFUTED", {"red": True})
    return None


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note the selected claims: every one of them ends in the report, with a verdict or ERROR.
    Then train the selected claims' plan (`train_plan`), before any claim is judged."""
    config = session.config
    train_plan(session)
    selected = {item.nodeid: meta for item in session.items if (meta := claim_meta(item))}
    if hasattr(config, "workerinput"):
        if selected:
            write_selection(config.stash[OPTIONS], config.workerinput["workerid"], selected)
    elif COLLECTOR in config.stash:
        config.stash[COLLECTOR].selected.update(selected)


def train_plan(session: pytest.Session) -> None:
    """Train every run of the selected claims as cross-claim ensembles (`grokcore.plan`).

    Under xdist, worker gwN of W trains shard N+1 of W (shards are whole ensembles,
    balanced by cost; the controller schedules no test before every worker has collected,
    so all shards start together), then whatever of the other shards nobody has started,
    from their ends: a worker that finishes early takes work off the others, and a run
    another process is training is never trained twice (the cache's locks). Judging then
    reads the cache. Under --train-limit nothing trains here: the limit is about each
    claim's own training, which the claims then do themselves.
    """
    config = session.config
    options = config.stash[OPTIONS]
    specs = [s for item in session.items if isinstance(s := _spec_of(item), ClaimSpec)]
    if not specs or config.option.collectonly or options.train_limit_s is not None:
        return
    cache = RunCache(options.cache_dir)
    if not cache.writable:
        return
    worker = getattr(config, "workerinput", None)
    i, n = (int(worker["workerid"].removeprefix("gw")) + 1, worker["workercount"]) if worker \
        else (1, 1)  # fmt: skip
    plan = build_plan(specs, options_scope(options))
    shards = plan.shards(n)
    others = [ch for j, shard in enumerate(shards) if j != i - 1 for ch in reversed(shard)]
    capture = config.pluginmanager.getplugin("capturemanager")
    # without xdist the progress lines go straight to the terminal (pytest captures
    # collection's output); a worker's reach the controller's through progress files
    shown = capture.global_and_fixture_disabled() if capture and not worker else nullcontext()
    with shown:
        trained = plan_train(shards[i - 1], cache, options.device, label=f"plan shard {i}/{n}")
        if others:
            stolen = plan_train(others, cache, options.device, label=f"plan after shard {i}/{n}")
            trained.runs += stolen.runs
            trained.seconds += stolen.seconds
    write_plan_count(options, worker["workerid"] if worker else "main", trained.runs,
                     trained.seconds)  # fmt: skip


def _spec_of(item: pytest.Item) -> object:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("spec") if callspec is not None else None


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput"):
        return
    collector = Collector(config.stash[OPTIONS])
    config.stash[COLLECTOR] = collector
    config.pluginmanager.register(collector, "grokcore-collector")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if config.pluginmanager.has_plugin("dsession") and reporter is not None:  # xdist workers
        every = env.positive_number("GROKCORE_PROGRESS_EVERY", 30.0)  # checked in configure
        watcher = progress.Watcher(progress_dir(config), reporter.write_line, every=every)
        config.stash[WATCHER] = watcher.start()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the report whenever claims were selected: also after a crash or an interrupt."""
    config = session.config
    if (watcher := config.stash.get(WATCHER, None)) is not None:
        watcher.stop()
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
    runs, seconds = plan_counts(options)  # what the plan trained before the claims ran
    head["runs_trained"] += runs
    head["runs_trained_by_plan"], head["plan_training_s"] = runs, round(seconds, 1)
    path = options.report
    try:
        write_results_json(records, head, path.with_name("results.json"))
        render_report(records, head, path)
    except OSError as exc:  # keep the record files: the next look can still find them
        config.stash[REPORT] = f"NOT written, {exc} ({_where_records_are(options, collector)})"
        return
    collector.cleanup()
    config.stash[REPORT] = str(path)


def _where_records_are(options, collector: Collector) -> str:
    """Where the verdicts are when the report could not be written, as it is: the record
    files may not have been written either (the same full disk)."""
    kept, n = record_files(options), collector.reported
    if n and kept >= n:
        return f"the records stay in {options.records_dir}"
    if kept:
        return (
            f"only {kept} of {n} record files stay in {options.records_dir}; every verdict is "
            "listed above"
        )
    return "no record file could be written either: the verdicts are only in the list above"


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
