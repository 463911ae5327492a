"""One pytest session of claims: its validated options, the claims it selected, their records.

`grokcore.plugin` holds the hooks; this module holds what they share. Options are
checked once in `pytest_configure`, so a bad `--report`, `--seeds` or
`GROKCORE_DEVICE` is a usage error before anything trains, not an INTERNALERROR
after. The collector knows which claims the session selected (workers note them in
a file at collection), so a claim whose worker died, or that never ran because the
session was interrupted, still gets a record (ERROR, saying why): the report never
silently loses a claim.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from grokcore import env as grokcore_env
from grokcore.cache import default_cache_dir, file_in_the_way
from grokcore.device import default_device, describe_device
from grokcore.record import ClaimRecord, Verdict

TOKEN_ENV = "GROKCORE_SESSION"  # names this session's files under the records directory
RECORD_KEY = "grokcore_record"  # a record travels in report.user_properties under this key


@dataclass(frozen=True)
class Options:
    """The session's grokcore options, resolved and checked."""

    scale: str
    scale_reason: str
    root: Path  # the pytest rootdir, which anchors the default paths
    report: Path  # the HTML file; results.json and .records/ sit beside it
    cache_dir: Path
    seeds: int | None  # None: each claim's own default
    base_seed: int
    data_dir: str | None
    device: torch.device
    lock_timeout: float | None
    train_limit_s: float | None  # --train-limit in seconds; None: no limit

    @property
    def records_dir(self) -> Path:
        return self.report.parent / ".records"


OPTIONS = pytest.StashKey[Options]()


def _scale(config: pytest.Config) -> tuple[str, str]:
    asked = config.getoption("--scale")
    if asked != "auto":
        return asked, f"--scale {asked} given"
    if torch.cuda.is_available():
        return "full", "auto: CUDA is available"
    return "quick", "auto: no CUDA device, so the CPU-sized tier"


def _writable_dir(path: Path, what: str) -> None:
    """Prove that `path` can be created (if missing) and written; UsageError if not.

    The probe writes in the nearest existing ancestor and creates nothing that stays.
    """
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise pytest.UsageError(f"{what}: {existing} is not a directory")
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".grokcore-probe.")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise pytest.UsageError(
            f"{what}: cannot write to {existing} ({exc.strerror or exc})"
        ) from None


def read_options(config: pytest.Config) -> Options:
    """The options of this session; pytest.UsageError naming the option if one is unusable.

    Default paths are anchored at the pytest rootdir, so running from another directory
    still uses the repository's cache and report; paths given on the command line are
    taken relative to where pytest was started.
    """
    here, root = config.invocation_params.dir, config.rootpath
    given = config.getoption("--report")
    report = here / given if given else root / "reports" / "index.html"
    if report.is_dir():
        raise pytest.UsageError(
            f"--report {given}: is a directory; give the HTML file's path, "
            f"e.g. {report / 'index.html'}"
        )
    if (report.parent / "results.json").is_dir():
        raise pytest.UsageError(f"--report {report}: {report.parent}/results.json is a directory")
    cache = config.getoption("--run-cache")
    cache_dir = here / cache if cache else default_cache_dir(root)
    if cache_dir.exists() and not cache_dir.is_dir():
        raise pytest.UsageError(f"--run-cache {cache_dir}: exists and is not a directory")
    if (blocker := file_in_the_way(cache_dir)) is not None:  # e.g. /etc/passwd/x
        raise pytest.UsageError(
            f"--run-cache {cache_dir}: {blocker} is a file, so no directory can be made there"
        )
    try:
        device = default_device()
        grokcore_env.check()  # GROKCORE_* switches and numbers: before anything trains
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    if not hasattr(config, "workerinput"):  # the controller writes the report
        _writable_dir(report.parent, f"--report {report}")
    scale, why = _scale(config)
    limit = config.getoption("--train-limit")
    return Options(
        scale=scale,
        scale_reason=why,
        root=root,
        report=report,
        cache_dir=cache_dir,
        seeds=config.getoption("--seeds"),
        base_seed=config.getoption("--base-seed"),
        data_dir=config.getoption("--data-dir"),
        device=device,
        lock_timeout=config.getoption("--lock-timeout"),
        train_limit_s=None if limit is None else 60.0 * limit,
    )


def claim_meta(item: pytest.Item) -> dict:
    """The claim marker's id, title, paper and section; {} for a test that is not a claim."""
    m = item.get_closest_marker("claim")
    if m is None:
        return {}
    return {
        "claim_id": m.args[0],
        "title": m.kwargs.get("title", ""),
        "paper": m.kwargs.get("paper", ""),
        "section": m.kwargs.get("section", ""),
        "paper_value": m.kwargs.get("paper_value", ""),
    }


def token() -> str:
    return os.environ.get(TOKEN_ENV, "nosession")


def dumps(record: ClaimRecord) -> str:
    """JSON of a record; numpy scalars and arrays in settings or runs become plain values."""

    def plain(o):
        if hasattr(o, "tolist"):
            return o.tolist()
        raise TypeError(f"{type(o).__name__} is not JSON-serializable")

    return json.dumps(record.to_dict(), default=plain)


def _atomic_text(path: Path, text: str) -> None:
    """Write via a temp file and rename; on failure (a full disk) no temp file is left."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_fallback(options: Options, record: ClaimRecord) -> bool:
    """The record as a file: it survives the worker that wrote it dying right after.

    Returns whether it was written. A full disk must not change the verdict: the record
    still travels in the test report, so a failed fallback costs only the crash insurance.
    """
    name = f"{token()}-{hashlib.sha1(record.nodeid.encode()).hexdigest()[:16]}.json"
    try:
        _atomic_text(options.records_dir / name, dumps(record))
    except OSError:
        return False
    return True


def record_files(options: Options) -> int:
    """How many of this session's record files are in the records directory, complete."""
    try:
        files = list(options.records_dir.glob(f"{token()}-*.json"))
        return sum(1 for f in files if f.stat().st_size > 0)
    except OSError:
        return 0


def write_plan_count(options: Options, worker: str, runs: int, seconds: float) -> None:
    """Note how many runs this process's part of the plan trained (the header adds them up)."""
    path = options.records_dir / f"{token()}.plan.{worker}.json"
    try:
        options.records_dir.mkdir(parents=True, exist_ok=True)
        _atomic_text(path, json.dumps({"runs": runs, "seconds": seconds}))
    except OSError:  # a count for the header: never what fails a session
        pass


def plan_counts(options: Options) -> tuple[int, float]:
    """Runs the session's plan trained, and the training seconds, over all its processes."""
    runs, seconds = 0, 0.0
    for f in options.records_dir.glob(f"{token()}.plan.*.json"):
        try:
            d = json.loads(f.read_text())
            runs, seconds = runs + int(d["runs"]), seconds + float(d["seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return runs, seconds


def write_selection(options: Options, worker: str, selected: dict[str, dict]) -> None:
    """What a worker collected: the controller learns of claims that never report back."""
    try:
        _atomic_text(
            options.records_dir / f"{token()}.selection.{worker}.json", json.dumps(selected)
        )
    except OSError:  # a full disk: only a claim whose worker dies goes unaccounted for
        pass


class Collector:
    """Controller-side gathering of records (works with and without xdist).

    Besides the records it keeps what is needed to account for every selected claim:
    which tests reported at all, and the failure text of reports that carried no record
    (a worker that crashed), so that `gather` can write an ERROR record for each gap.
    """

    def __init__(self, options: Options):
        self.options = options
        self.records: dict[str, ClaimRecord] = {}
        self.seen: set[str] = set()
        self.failures: dict[str, str] = {}
        self.selected: dict[str, dict] = {}
        self.keyboard_interrupt = False
        self.collection_errors = 0
        self.reported = 0  # records the claims wrote themselves (not filled in by gather)

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.seen.add(report.nodeid)
        rec = dict(getattr(report, "user_properties", ())).get(RECORD_KEY)
        if rec is not None:
            self.records[report.nodeid] = ClaimRecord.from_dict(json.loads(rec))
        elif report.failed:
            self.failures[report.nodeid] = report.longreprtext

    @pytest.hookimpl
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self.collection_errors += report.failed

    @pytest.hookimpl
    def pytest_keyboard_interrupt(self) -> None:
        self.keyboard_interrupt = True

    def why_stopped(self, session: pytest.Session, exitstatus: int) -> str:
        """Why the session ended before running everything it selected, or ""."""
        if self.keyboard_interrupt:
            return "interrupted by Ctrl-C"
        if self.collection_errors:
            return f"interrupted: {self.collection_errors} error(s) during collection"
        if session.shouldstop:
            return f"stopped early: {session.shouldstop}"
        if session.shouldfail:
            return f"stopped: {session.shouldfail}"
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            return "interrupted"
        return ""

    def _files(self, pattern: str) -> list[Path]:
        d = self.options.records_dir
        return sorted(d.glob(pattern)) if d.exists() else []

    def gather(self, stopped: str) -> list[ClaimRecord]:
        """Every selected claim's record, sorted by id; `stopped` says why the session ended
        early ("" if it did not), for the claims that never ran."""
        for f in self._files(f"{token()}-*.json"):  # a worker that died left its claims here
            try:
                r = ClaimRecord.from_dict(json.loads(f.read_text()))
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if r.nodeid in self.seen:
                self.records.setdefault(r.nodeid, r)
        for f in self._files(f"{token()}.selection.*.json"):
            try:
                self.selected.update(json.loads(f.read_text()))
            except (OSError, ValueError):
                continue
        self.reported = len(self.records)
        for nodeid, meta in self.selected.items():
            if nodeid not in self.records:
                self.records[nodeid] = self._missing(nodeid, meta, stopped)
        return sorted(self.records.values(), key=lambda r: (r.claim_id, r.nodeid))

    def _missing(self, nodeid: str, meta: dict, stopped: str) -> ClaimRecord:
        traceback = self.failures.get(nodeid, "")
        if "crashed" in traceback:
            reason = "no verdict: the worker process running this claim crashed"
        elif traceback:
            reason = "no verdict: the claim test failed without concluding"
        elif nodeid in self.seen:
            reason = f"no verdict: the claim was interrupted while it ran ({stopped or 'unknown'})"
        else:
            reason = f"no verdict: the claim never ran ({stopped or 'no report reached pytest'})"
        return ClaimRecord(
            **meta,
            scale=self.options.scale,
            verdict=Verdict.ERROR,
            reason=reason,
            traceback=traceback,
            nodeid=nodeid,
        )

    def cleanup(self) -> None:
        """Remove this session's record files, once the report that holds them is written."""
        for f in self._files(f"{token()}[-.]*.json"):
            f.unlink(missing_ok=True)


def header(
    options: Options, records: list[ClaimRecord], collector: Collector, stopped: str, wall_s: float
) -> dict:
    """The report header as plain values (results.json keeps numbers as numbers)."""
    return {
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "git_commit": _git_commit(options.root),
        "scale": options.scale,
        "scale_reason": options.scale_reason,
        "device": describe_device(options.device),
        "torch": torch.__version__,
        "seeds": options.seeds,
        "base_seed": options.base_seed,
        "train_limit_min": None if options.train_limit_s is None else options.train_limit_s / 60,
        "wall_time_s": round(wall_s, 1),
        "runs_trained": sum(r.runs_trained for r in records),
        "runs_cached": sum(r.runs_cached for r in records),
        "claims_selected": len(collector.selected.keys() | collector.records.keys()),
        "claims_reported": collector.reported,
        "interrupted": bool(stopped),
        "stopped": stopped or None,
        "verdicts": {v.value: sum(r.verdict is v for r in records) for v in Verdict},
        "precision": precisions(records),
    }


def precisions(records: list[ClaimRecord]) -> dict[str, list[str]]:
    """Each arithmetic precision the claims trained in -> the claims that used it.

    Read from the settings tables, so a claim that lowered its precision (which
    `ClaimContext.finish` only allows with a stated deviation) shows in the header.
    """
    out: dict[str, list[str]] = {}
    for r in records:
        for row in r.table:
            if row.name == "precision" and r.claim_id not in out.get(row.ours, []):
                out.setdefault(row.ours, []).append(r.claim_id)
    return out


def _git_commit(root: Path) -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
