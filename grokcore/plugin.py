"""pytest plugin: claims as tests, verdicts as outcomes, one report per session.

A claim test takes the `claim` fixture, trains through `claim.run(configs)`,
builds a `ClaimRecord` and calls `claim.conclude(record)`:
SUPPORTED passes; REFUTED fails with the evidence; INCONCLUSIVE fails unless the
test is marked `expect_inconclusive(scale=..., reason=...)`. Records travel from
xdist workers in `report.user_properties` (plain JSON) and, as a fallback for a
worker that dies, as one JSON file per test; the controller merges them and
writes `reports/index.html` and `reports/results.json`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import torch

from grokcore.cache import RunCache
from grokcore.device import configure_threads, default_device, describe_device
from grokcore.history import History
from grokcore.record import ClaimRecord, Verdict
from grokcore.runs import STATS, run

RECORD_KEY = "grokcore_record"


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("grokcore", "grokking claims")
    g.addoption(
        "--scale",
        choices=["quick", "full", "auto"],
        default="auto",
        help="quick: CPU-sized claims; full: the papers' settings; "
        "auto (default): full when CUDA is available, else quick",
    )
    g.addoption("--report", default="reports/index.html", help="HTML verdict report path")
    g.addoption("--run-cache", default=None, help="run cache dir (default .grokcore/cache)")
    g.addoption("--seeds", type=int, default=None, help="override every claim's seed count")
    g.addoption(
        "--data-dir",
        default=os.environ.get("GROKCORE_DATA_DIR"),
        help="directory with full MNIST / IMDb / QM9 ($GROKCORE_DATA_DIR)",
    )


def _scale(config: pytest.Config) -> tuple[str, str]:
    asked = config.getoption("--scale")
    if asked != "auto":
        return asked, f"--scale {asked} given"
    if torch.cuda.is_available():
        return "full", "auto: CUDA is available"
    return "quick", "auto: no CUDA device, so the CPU-sized tier"


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
    if not hasattr(config, "workerinput"):  # controller: workers inherit the environment
        os.environ["GROKCORE_SESSION"] = uuid.uuid4().hex[:12]
    config._grokcore_scale = _scale(config)  # type: ignore[attr-defined]
    config._grokcore_records = {}  # type: ignore[attr-defined]
    config._grokcore_t0 = time.time()  # type: ignore[attr-defined]
    configure_threads()


def pytest_report_header(config: pytest.Config) -> list[str]:
    scale, why = config._grokcore_scale  # type: ignore[attr-defined]
    return [f"grokcore: scale={scale} ({why}); device: {describe_device(default_device())}"]


def _records_dir(config: pytest.Config) -> Path:
    return Path(config.getoption("--report")).parent / ".records"


class ClaimContext:
    """What a claim test needs: scale, seeds, the cached batched trainer, figure paths."""

    def __init__(self, item: pytest.Item):
        self.item = item
        cfg = item.config
        self.scale: str = cfg._grokcore_scale[0]  # type: ignore[attr-defined]
        self.seed_override: int | None = cfg.getoption("--seeds")
        self.data_dir: str | None = cfg.getoption("--data-dir")
        self.device = default_device()
        self.cache = RunCache(cfg.getoption("--run-cache"))
        marker = item.get_closest_marker("claim")
        self.claim_id = marker.args[0] if marker else item.name
        self.fig_dir = Path(cfg.getoption("--report")).parent / "figures" / self.claim_id
        self.trained = self.cached = 0
        self.t0 = time.time()

    def seeds(self, default: int) -> list[int]:
        """Seeds 0..n-1, n = --seeds if given else the claim's default."""
        return list(range(self.seed_override or default))

    def run(self, configs) -> list[History]:
        before = (STATS.trained, STATS.cached)
        out = run(configs, self.cache, device=self.device)
        self.trained += STATS.trained - before[0]
        self.cached += STATS.cached - before[1]
        return out

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
        meta = _meta(self.item)
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
            deviations=deviations if self.scale == "quick" else [],
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
        self.item._grokcore_record = record  # type: ignore[attr-defined]
        _write_fallback(self.item.config, record)
        v = record.verdict
        # remember whether conclude() itself fails the test: a later failure is an ERROR
        self.item._grokcore_failing = (  # type: ignore[attr-defined]
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


def _dumps(record: ClaimRecord) -> str:
    """JSON of a record; numpy scalars and arrays in settings or runs become plain values."""

    def plain(o):
        if hasattr(o, "tolist"):
            return o.tolist()
        raise TypeError(f"{type(o).__name__} is not JSON-serializable")

    return json.dumps(record.to_dict(), default=plain)


def _write_fallback(config: pytest.Config, record: ClaimRecord) -> None:
    d = _records_dir(config)
    d.mkdir(parents=True, exist_ok=True)
    token = os.environ.get("GROKCORE_SESSION", "nosession")
    name = f"{token}-{hashlib.sha1(record.nodeid.encode()).hexdigest()[:16]}.json"
    tmp = d / f".{name}.tmp{os.getpid()}"
    tmp.write_text(_dumps(record))
    os.replace(tmp, d / name)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every claim test is parametrized by the session's scale: ids read `test_og_inv[quick]`."""
    if "claim" in metafunc.fixturenames:
        scale = metafunc.config._grokcore_scale[0]  # type: ignore[attr-defined]
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


def _meta(item: pytest.Item) -> dict:
    m = item.get_closest_marker("claim")
    if m is None:
        return {}
    return {
        "claim_id": m.args[0],
        "title": m.kwargs.get("title", ""),
        "paper": m.kwargs.get("paper", ""),
        "section": m.kwargs.get("section", ""),
    }


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    meta = _meta(item)
    if not meta or report.when not in ("setup", "call"):
        return
    record: ClaimRecord | None = getattr(item, "_grokcore_record", None)
    scale = item.config._grokcore_scale[0]  # type: ignore[attr-defined]
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
    elif record is not None and report.failed and not getattr(item, "_grokcore_failing", False):
        # the test raised after concluding: the verdict no longer stands for what happened
        record.verdict = Verdict.ERROR
        record.reason = f"the claim test raised after concluding ({record.reason})"
        record.traceback = report.longreprtext
    elif record is not None and report.when == "call" and hasattr(report, "wasxfail"):
        record.expectation = record.expectation or f"xfail (strict): {report.wasxfail}"
    if record is not None and (report.when == "call" or report.outcome != "passed"):
        report.user_properties.append((RECORD_KEY, _dumps(record)))


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


class _Collector:
    """Controller-side gathering of records (works with and without xdist)."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.records: dict[str, ClaimRecord] = {}
        self.seen: set[str] = set()

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seen.add(report.nodeid)
        rec = dict(getattr(report, "user_properties", ())).get(RECORD_KEY)
        if rec is not None:
            self.records[report.nodeid] = ClaimRecord.from_dict(json.loads(rec))

    def gather(self) -> list[ClaimRecord]:
        d = _records_dir(self.config)
        token = os.environ.get("GROKCORE_SESSION", "nosession")
        if d.exists():  # a worker that died still left the claims it concluded
            for f in d.glob(f"{token}-*.json"):
                try:
                    r = ClaimRecord.from_dict(json.loads(f.read_text()))
                except (ValueError, KeyError, TypeError):
                    continue
                if r.nodeid in self.seen:
                    self.records.setdefault(r.nodeid, r)
                f.unlink(missing_ok=True)
        return sorted(self.records.values(), key=lambda r: r.claim_id)


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput"):
        return
    config._grokcore_collector = _Collector(config)  # type: ignore[attr-defined]
    config.pluginmanager.register(config._grokcore_collector, "grokcore-collector")


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    collector: _Collector | None = getattr(config, "_grokcore_collector", None)
    if collector is None:
        return
    records = collector.gather()
    if not records:
        return
    from grokcore.report import render_report, write_results_json

    scale, why = config._grokcore_scale  # type: ignore[attr-defined]
    header = {
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "git commit": _git_commit(),
        "scale": f"{scale} ({why})",
        "device": describe_device(default_device()),
        "torch": torch.__version__,
        "seeds": config.getoption("--seeds") or "per-claim defaults",
        "wall time": f"{time.time() - config._grokcore_t0:.0f} s",  # type: ignore[attr-defined]
        "runs trained / from cache": f"{sum(r.runs_trained for r in records)} / "
        f"{sum(r.runs_cached for r in records)}",
        "verdicts": ", ".join(
            f"{v.value}: {n}" for v in Verdict if (n := sum(r.verdict is v for r in records))
        ),
    }
    path = Path(config.getoption("--report"))
    write_results_json(records, header, path.with_name("results.json"))
    render_report(records, header, path)
    config._grokcore_report_path = path  # type: ignore[attr-defined]


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    collector: _Collector | None = getattr(config, "_grokcore_collector", None)
    if collector is not None and collector.records:
        terminalreporter.write_sep("=", "grokcore verdicts")
        for r in sorted(collector.records.values(), key=lambda r: r.claim_id):
            main = r.checks[0] if r.checks else None
            stat = f" | {main.name} = {main.value:.3g}" if main else ""
            if main and main.ci:
                stat += f" [{main.ci[0]:.3g}, {main.ci[1]:.3g}] vs {main.region}"
            terminalreporter.write_line(f"{r.claim_id:12s} {r.verdict.value:12s} {r.reason}{stat}")
    path = getattr(config, "_grokcore_report_path", None)
    if path is not None:
        terminalreporter.write_sep("-", f"grokcore verdict report: {path}")
