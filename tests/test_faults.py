"""Faults and bad input found by trying grokcore as a user (issue 25): each test reproduces
one failure of the old code, and docs/reliability.md says what the user sees now.

As in test_reliability.py, faults are injected where they happen (a full disk at the write,
an allocator's error in training, a lock held by another file descriptor), so the tests are
fast and behave the same as root and as an ordinary user.
"""

from __future__ import annotations

import errno
import gzip
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
import torch

# Imported here so that pytester's sys.modules snapshot keeps them (see test_plugin.py).
import grokcore.plugin
import grokcore.verdicts
from grokcore import cache_tools, cli, env, progress, runs
from grokcore.cache import LockTimeout, RunCache, key_of
from grokcore.cli import main
from grokcore.config import MLP, MnistTask, RunConfig
from grokcore.device import available_memory, out_of_memory
from grokcore.history import History
from grokcore.record import Verdict
from tests.synthetic import synthetic
from tests.test_reliability import (  # the shared fault-test helpers
    CLI,
    SEEDS,
    no_training,
    one_line_error,
    results,
    session,
    tiny,
    write_claims,
)

pytest_plugins = ["pytester"]
LINUX = sys.platform.startswith("linux")


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester project with the grokcore plugin (as test_reliability.py's)."""
    for name in ("GROKCORE_SESSION", "GROKCORE_DEVICE", "GROKCORE_CACHE", "GROKCORE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makeconftest('pytest_plugins = ["grokcore.plugin"]\n')
    return pytester


def entry(cfg: RunConfig, t_test: float = 500.0) -> History:
    """A synthetic history that is `cfg`'s run as far as the cache can tell."""
    return replace(synthetic(50, t_test, budget=cfg.steps, seed=cfg.seed), config=cfg.to_dict())


def filled(root: Path, configs: list[RunConfig]) -> RunCache:
    cache = RunCache(root)
    for c in configs:
        cache.store(c.key(), entry(c))
    return cache


# -- 1. repeated sweep values ----------------------------------------------------------------


def test_cli_repeated_seeds_count_once_with_a_note(tmp_path, capsys):
    out = tmp_path / "out"
    assert main([*CLI, "--seeds", "0", "0", "1", "--out", str(out), "--no-cache"]) == 0
    rows = json.loads((out / "summary.json").read_text())
    assert [r["seed"] for r in rows] == [0, 1]  # old code: 3 rows, seed 0 twice in the curves
    assert "--seeds 0 0 1 repeats values; each counts once: 0 1" in capsys.readouterr().err


# -- 2, 3. archives that cannot be imported as they are ----------------------------------------


def _archive(tmp_path: Path, configs: list[RunConfig]) -> Path:
    archive = tmp_path / "runs.tar.gz"
    cache_tools.export(filled(tmp_path / "src", configs), archive)
    return archive


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_unreadable_archive_is_a_one_line_error(tmp_path, capsys, damage):
    archive = _archive(tmp_path, [tiny(s, steps=20_000) for s in range(3)])
    data = archive.read_bytes()
    archive.write_bytes(
        {"garbage": b"not a tar.gz at all" * 50, "truncated": data[: len(data) // 2],
         "empty": b""}[damage]
    )  # fmt: skip
    dest = tmp_path / "dst"
    assert main(["cache", "import", str(archive), "--cache", str(dest)]) == 2
    line = one_line_error(capsys)  # old code: a raw tarfile.ReadError or EOFError
    assert "not a readable .tar.gz export of a run cache" in line and str(archive) in line
    assert "nothing was imported" in line
    assert not list(dest.glob("??/*.npz"))


def test_archive_member_outside_the_cache_is_refused_by_name_and_the_rest_imported(
    tmp_path, capsys
):
    good, evil = tiny(0), tiny(1)
    archive = tmp_path / "mixed.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, cfg in ((f"{good.key()[:2]}/{good.key()}.npz", good),
                          (f"../{evil.key()}.npz", evil)):  # fmt: skip
            data = entry(cfg).to_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    dest = tmp_path / "sub" / "dst"
    assert main(["cache", "import", str(archive), "--cache", str(dest)]) == 0
    out = capsys.readouterr().out  # old code: a raw OutsideDestinationError, nothing imported
    assert "1 added" in out
    assert f"refused 1 archive member(s): ../{evil.key()}.npz (its path leads outside" in out
    assert good.key() in RunCache(dest) and evil.key() not in RunCache(dest)
    assert not list(tmp_path.rglob(f"{evil.key()}.npz"))


# -- 4. an entry must be its key's run on the way in ------------------------------------------


def test_merge_and_import_refuse_an_entry_that_is_not_its_keys_run(tmp_path, capsys):
    a, b, c = tiny(0, steps=20_000), tiny(1, steps=20_000), tiny(2, steps=20_000)
    src = filled(tmp_path / "src", [a])
    src.store(b.key(), entry(a))  # seed 0's run under seed 1's key
    src.store(c.key(), replace(entry(c), budget=5))  # a stale 5-step history
    dest = RunCache(tmp_path / "dst")
    report = cache_tools.merge(src.root, dest)
    assert report.added == [a.key()]  # old code: all three "added"
    assert sorted(report.mismatched) == sorted([b.key(), c.key()])
    assert b.key() not in dest and c.key() not in dest
    assert "2 not the run of their key (skipped" in report.summary()
    archive = tmp_path / "src.tar.gz"
    cache_tools.export(src, archive)
    report = cache_tools.import_archive(archive, RunCache(tmp_path / "dst2"))
    assert report.added == [a.key()] and len(report.mismatched) == 2


def test_trained_entries_pass_the_check_on_the_way_in(tmp_path):
    src = RunCache(tmp_path / "src")
    runs.run([tiny(0)], src, device="cpu", progress=False)
    archive = tmp_path / "runs.tar.gz"
    cache_tools.export(src, archive)
    report = cache_tools.import_archive(archive, RunCache(tmp_path / "dst"))
    assert report.added == [tiny(0).key()] and not report.mismatched


def test_key_of_a_stored_config_is_its_key():
    configs = [
        tiny(3),
        tiny(0, steps=7).replace(batch_size=8, data_seed=4, init_scale=2),
        RunConfig(MnistTask(n_train=100, source="full", data_dir="/somewhere"), MLP(), seed=5),
        RunConfig(MnistTask(n_train=100, pool=2), MLP(hidden=(10, 10)), dtype="float64"),
    ]
    for c in configs:  # through JSON, as an entry stores it
        assert key_of(json.loads(json.dumps(c.to_dict()))) == c.key()
    assert key_of({"seed": 0}) is None


# -- 5. export onto a full disk ----------------------------------------------------------------


def test_export_onto_a_full_disk_leaves_no_truncated_archive(tmp_path, monkeypatch, capsys):
    src = filled(tmp_path / "src", [tiny(s, steps=20_000) for s in range(3)])
    archive = tmp_path / "out" / "runs.tar.gz"
    archive.parent.mkdir()
    archive.write_bytes(b"the previous export")

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(gzip.GzipFile, "write", full)
    assert main(["cache", "export", str(archive), "--cache", str(src.root)]) == 1
    line = one_line_error(capsys)
    assert "No space left on device" in line and "nothing was written under that name" in line
    assert archive.read_bytes() == b"the previous export"  # old code: a truncated archive
    assert sorted(p.name for p in archive.parent.iterdir()) == ["runs.tar.gz"]  # no temp file


# -- 6, 7, 8. waiting for a lock: a limit, who holds it, shown under -n --------------------------


def test_cache_merge_takes_a_lock_timeout_and_names_the_holder(tmp_path, capsys):
    cfg = tiny(0, steps=20_000)
    src = filled(tmp_path / "src", [cfg])
    dest = RunCache(tmp_path / "dst")
    held = dest.try_lock(cfg.key())  # "another process" training it: another descriptor
    assert held is not None
    try:
        argv = ["cache", "merge", str(src.root), "--cache", str(dest.root), "--lock-timeout", "0.5"]
        assert main(argv) == 1  # old code: no --lock-timeout, and it waited without a word
    finally:
        held.release()
    err = capsys.readouterr().err
    assert f"run {cfg.key()} is being trained by pid {os.getpid()} on" in err
    assert "gave up after waiting" in err.strip().splitlines()[-1]
    assert main(["cache", "merge", str(src.root), "--cache", str(dest.root)]) == 0
    assert cfg.key() in dest


def test_a_wait_for_a_lock_is_published_to_the_controller(tmp_path, monkeypatch):
    monkeypatch.setattr(progress, "TARGET", progress.Target())
    progress.configure(tmp_path / ".progress", "gw1")
    progress.TARGET.claim = "T-WAIT"
    cache, key = RunCache(tmp_path / "cache"), tiny().key()
    held = cache.try_lock(key)
    assert held is not None
    try:
        with pytest.raises(LockTimeout):
            cache.wait(key, timeout=0.3, every=0.1, notify=lambda text: None)
    finally:
        held.release()
    lines = progress.Watcher(tmp_path / ".progress", print).poll()  # old code: nothing
    assert len(lines) == 1
    assert lines[0].startswith(f"[grokcore] gw1 T-WAIT: waiting for run {key} held by pid ")


@pytest.mark.skipif(not LINUX, reason="reads /proc/locks for the lock's real holder")
def test_a_stale_owner_note_does_not_name_the_wrong_holder(tmp_path):
    cache, key = RunCache(tmp_path / "cache"), tiny().key()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    lock = cache.lock(key)
    lock.acquire()  # a holder that left no note (as `wait` and `merge` used to)
    try:
        cache._owner_file(key).write_text(
            json.dumps({"pid": gone.pid, "host": os.uname().nodename, "since": 0.0})
        )
        who = cache.holder(key)  # old code: "pid <gone> on host, ... (that process is gone)"
        assert who.startswith(f"pid {os.getpid()} on ")
        assert f"its owner note names pid {gone.pid}, which is gone" in who
    finally:
        lock.release()
    got = cache.wait(key, timeout=5)  # a waiter that gets the lock leaves its own note
    try:
        assert json.loads(cache._owner_file(key).read_text())["pid"] == os.getpid()
    finally:
        got.release()


# -- 9. seeds torch cannot take ------------------------------------------------------------------


def test_base_seed_above_the_largest_seed_is_a_usage_error(project):
    write_claims(project, SEEDS)
    result = session(project, "--base-seed", str(2**64))
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # old code: accepted, every claim crashed
    result.stderr.fnmatch_lines(
        [f"*argument --base-seed: must be an integer in [[]0, 2**63), got '{2**64}'*"]
    )


def test_cli_seed_above_the_largest_seed_is_a_usage_error(tmp_path, monkeypatch, capsys):
    no_training(monkeypatch)
    with pytest.raises(SystemExit) as exit_:
        main([*CLI, "--seeds", str(2**64), "--out", str(tmp_path / "out"), "--no-cache"])
    assert exit_.value.code == 2
    assert "argument --seeds" in capsys.readouterr().err


# -- 10, 11. GROKCORE_* variables ---------------------------------------------------------------


@pytest.mark.parametrize("value", ["abc", "inf", "-1", "0", "nan"])
def test_bad_progress_interval_is_a_usage_error(project, monkeypatch, value):
    write_claims(project, SEEDS)
    monkeypatch.setenv("GROKCORE_PROGRESS_EVERY", value)
    result = session(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # old code: INTERNALERROR, a dead or
    result.stderr.fnmatch_lines(  # spinning progress thread
        [f"*GROKCORE_PROGRESS_EVERY='{value}': must be a positive, finite number of seconds*"]
    )


@pytest.mark.parametrize(
    ("value", "on"),
    [("0", False), ("off", False), ("False", False), (" no ", False),
     ("1", True), ("ON", True), ("true", True), ("yes", True), ("", True)],
)  # fmt: skip
def test_switches_take_the_usual_spellings(monkeypatch, value, on):
    from grokcore.config import Optimizer
    from grokcore.train.engine import step_mode
    from grokcore.train.optim import fused_adam_available

    for name in env.SWITCHES:
        monkeypatch.setenv(name, value)
    assert env.flag("GROKCORE_FUSED_ADAM", default=True) is on
    adam = Optimizer(name="adam")
    if hasattr(torch, "_fused_adam_"):  # old code: "off" and "false" kept the kernel
        assert fused_adam_available(adam, torch.device("cpu")) is on
    assert step_mode("auto", torch.device("cuda"), False) == ("graph" if on else "eager")


@pytest.mark.parametrize("name", env.SWITCHES)
def test_a_switch_that_means_nothing_is_an_error_naming_it(monkeypatch, name):
    from grokcore.config import Optimizer
    from grokcore.train.engine import _flush_denormal, step_mode
    from grokcore.train.optim import fused_adam_available

    monkeypatch.setenv(name, "maybe")
    with pytest.raises(env.EnvError, match=rf"{name}='maybe': not a switch; use one of 1/true"):
        env.check()
    with pytest.raises(env.EnvError, match=name):  # old code: "maybe" silently meant on
        if name == "GROKCORE_CUDA_GRAPH":
            step_mode("auto", torch.device("cuda"), False)
        elif name == "GROKCORE_FUSED_ADAM":
            fused_adam_available(Optimizer(name="adam"), torch.device("cpu"))
        else:
            with _flush_denormal(torch.device("cpu")):
                pass


def test_cli_and_pytest_refuse_a_bad_switch_before_training(project, monkeypatch, capsys):
    monkeypatch.setenv("GROKCORE_CUDA_GRAPH", "maybe")
    no_training(monkeypatch)
    assert main([*CLI, "--out", str(project.path / "out"), "--no-cache"]) == 2
    assert "GROKCORE_CUDA_GRAPH='maybe': not a switch" in one_line_error(capsys)
    write_claims(project, SEEDS)
    result = session(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*GROKCORE_CUDA_GRAPH='maybe': not a switch*"])


def test_estimate_mode_must_be_probe_or_flops(monkeypatch):
    from grokcore import estimate

    monkeypatch.setenv("GROKCORE_ESTIMATE", "guess")
    with pytest.raises(env.EnvError, match="GROKCORE_ESTIMATE='guess': use probe or flops"):
        estimate.mode(torch.device("cpu"))  # old code: silently the default


def test_every_grokcore_variable_is_parsed_here_and_documented():
    package = Path(grokcore.plugin.__file__).parent
    used = set()
    for path in package.rglob("*.py"):
        used |= set(re.findall(r"GROKCORE_[A-Z_]+", path.read_text()))
    assert used <= set(env.VARIABLES), used - set(env.VARIABLES)
    docs = (package.parent / "docs" / "reliability.md").read_text()
    for name in env.VARIABLES:
        assert f"`{name}`" in docs, name


# -- 12. out of memory: torch's allocator, and ulimit -v in the estimate ---------------------------

CPU_OOM = (
    "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: you "
    "tried to allocate 1073741824 bytes. Error code 12 (Cannot allocate memory)"
)


def test_cli_cpu_allocator_failure_is_out_of_memory(tmp_path, monkeypatch, capsys):
    class Failing(runs.Ensemble):
        def train(self, progress=None):
            raise RuntimeError(CPU_OOM)

    monkeypatch.setattr(runs, "Ensemble", Failing)
    assert main([*CLI, "--out", str(tmp_path / "out"), "--no-cache"]) == 1
    line = one_line_error(capsys)  # old code: a RuntimeError traceback
    assert line.startswith("grokcore: error: out of memory: ") and "can't allocate" in line
    assert out_of_memory(RuntimeError("DefaultCPUAllocator: not enough memory: you tried"))
    assert not out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))


TRAINS = """
@claim("T-OOM")
def test_oom(claim):
    from grokcore.config import EmbedMLP, ModularTask, Optimizer, RunConfig

    claim.run([RunConfig(ModularTask("x+y", 7, 0.5), EmbedMLP(d_embed=8, width=16, depth=1),
                         Optimizer(), steps=5, eval_points=2)])
    finish(claim, Verdict.SUPPORTED, "never gets here")
"""


def test_a_claim_out_of_memory_says_so(project, monkeypatch):
    class Failing(runs.Ensemble):
        def train(self, progress=None):
            raise RuntimeError(CPU_OOM)

    monkeypatch.setattr(runs, "Ensemble", Failing)
    write_claims(project, TRAINS)
    session(project, "--run-cache", str(project.path / "cache"))
    got, _ = results(project)
    assert got["T-OOM"].verdict is Verdict.ERROR
    assert "MemoryError: out of memory while training: [enforce fail" in got["T-OOM"].traceback


def _ulimit_v(monkeypatch, room: int) -> None:
    """getrlimit(RLIMIT_AS) as `ulimit -v` would give it: `room` bytes above what is mapped."""
    import resource

    status = Path("/proc/self/status").read_text()
    mapped = 1024 * int(re.search(r"VmSize:\s+(\d+)", status).group(1))
    monkeypatch.setattr(resource, "getrlimit", lambda what: (mapped + room, mapped + room))


@pytest.mark.skipif(not LINUX, reason="reads VmSize from /proc/self/status")
def test_the_memory_estimate_respects_ulimit_v(tmp_path, monkeypatch, capsys):
    _ulimit_v(monkeypatch, 64 * 2**20)
    free = available_memory(torch.device("cpu"))
    assert free is not None and free <= 64 * 2**20 + 2**24  # old code: all of MemAvailable
    _ulimit_v(monkeypatch, 0)
    no_training(monkeypatch)
    assert main([*CLI, "--out", str(tmp_path / "out"), "--no-cache"]) == 1
    line = one_line_error(capsys)
    assert "out of memory" in line and "ulimit -v caps this process's address space" in line


# -- 13. --out that fills up after training --------------------------------------------------------


def _full_out(monkeypatch, out: Path) -> None:
    original = cli._atomic

    def atomic(path: Path, data: bytes) -> None:
        if path.parent == out:
            raise OSError(errno.ENOSPC, "No space left on device")
        original(path, data)

    monkeypatch.setattr(cli, "_atomic", atomic)


def test_no_cache_and_a_full_out_keep_the_runs_elsewhere(tmp_path, monkeypatch, capsys):
    out, spare = tmp_path / "out", tmp_path / "spare"
    spare.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spare))
    _full_out(monkeypatch, out)
    assert main([*CLI, "--seeds", "0", "1", "--out", str(out), "--no-cache"]) == 1
    line = one_line_error(capsys)  # old code: "[Errno 28] No space left on device", runs lost
    assert f"could not write the outputs to --out {out} (No space left on device)" in line
    [kept] = spare.glob("grokcore-rescue-*")
    assert f"the 2 trained run(s) are kept in {kept}" in line
    assert len(json.loads((kept / "summary.json").read_text())) == 2
    assert sorted(History.from_bytes(p.read_bytes()).config["seed"]
                  for p in kept.glob("*.npz")) == [0, 1]  # fmt: skip


def test_a_full_out_says_where_the_runs_are_or_that_they_are_lost(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    _full_out(monkeypatch, out)
    assert main([*CLI, "--out", str(out), "--cache", str(tmp_path / "cache")]) == 1
    assert "stored in the run cache" in one_line_error(capsys)

    def no_temp(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "mkdtemp", no_temp)
    assert main([*CLI, "--out", str(out), "--no-cache"]) == 1
    assert "the 1 trained run(s) are lost (--no-cache)" in one_line_error(capsys)


# -- 14. a full report directory -----------------------------------------------------------------


def test_full_report_dir_keeps_the_verdict_and_tells_where_the_records_are(project, monkeypatch):
    import grokcore.report

    write_claims(project, SEEDS)
    write_text = Path.write_text

    def full_under_records(self, *a, **k):
        if ".records" in self.parts:
            self.touch()  # what a full disk leaves: an empty file
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_text(self, *a, **k)

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full_under_records)
    monkeypatch.setattr(grokcore.report, "write_results_json", full)
    result = session(project)
    assert result.ret == pytest.ExitCode.OK  # old code: SUPPORTED became ERROR
    result.stdout.fnmatch_lines(["T-SEEDS*SUPPORTED*"])
    result.stdout.fnmatch_lines(
        ["*NOT written*no record file could be written either: the verdicts are only in the "
         "list above*"]
    )  # fmt: skip
    records = project.path / "out" / ".records"
    assert not [p for p in records.iterdir() if p.stat().st_size == 0]  # no 0-byte .tmp left


# -- 15. a cache path under a file ----------------------------------------------------------------


def test_cache_under_a_file_is_refused_up_front(project, monkeypatch, capsys):
    blocker = project.path / "a-file"
    blocker.write_text("x")
    write_claims(project, SEEDS)
    result = session(project, "--run-cache", str(blocker / "cache"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # old code: a warning, then per-claim errors
    result.stderr.fnmatch_lines([f"*--run-cache {blocker / 'cache'}: {blocker} is a file*"])
    no_training(monkeypatch)
    assert main([*CLI, "--out", str(project.path / "o"), "--cache", str(blocker / "c")]) == 1
    assert f"{blocker} is a file, so no directory can be made there" in one_line_error(capsys)


# -- 16. missing data at full scale ----------------------------------------------------------------

NEEDS_MNIST = """
@claim("T-DATA")
def test_data(claim):
    from grokcore.config import MLP, MnistTask, RunConfig

    task = MnistTask(n_train=100, source="full", data_dir=claim.data_dir)
    claim.run([RunConfig(task, MLP(hidden=(8,)), steps=5, eval_points=2)])
    finish(claim, Verdict.SUPPORTED, "never gets here")
"""


def test_missing_data_at_full_scale_is_not_run_naming_the_files(project):
    write_claims(project, NEEDS_MNIST)
    empty = project.mkdir("data")
    result = session(project, "--scale", "full", "--data-dir", str(empty),
                     "--run-cache", str(project.path / "cache"))  # fmt: skip
    assert result.ret == pytest.ExitCode.OK
    got, _ = results(project)
    rec = got["T-DATA"]
    assert rec.verdict is Verdict.NOT_RUN, rec.reason  # old code: ERROR
    assert f"no MNIST found in data dir {empty}" in rec.reason
    assert "train-images-idx3-ubyte" in rec.reason


def test_a_claim_spec_without_its_data_is_not_run(tmp_path, monkeypatch):
    from grokcore.spec import ClaimSpec, NotRun, Scope

    monkeypatch.setattr("grokcore.data.qm9.pack_dir", lambda: None)  # qm9pack not installed

    class NeedsQm9(ClaimSpec):
        id, paper, section, title = "T-QM9", "fake", "§1", "needs QM9"

        def arms(self, scope):
            from grokcore import setups

            return {"a": [setups.qm9(init_scale=3.0, seed=0, scale="full", data_dir=str(tmp_path))]}

    with pytest.raises(NotRun, match=rf"no QM9 found in data dir {tmp_path}: expected .*gdb9"):
        NeedsQm9().prepare(Scope("full"))
