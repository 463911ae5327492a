"""Nothing lost, nothing silently wrong (issue 10): the cache, the runner, the plugin and the
CLI under faults and bad input. Each test reproduces one failure of the old code.

Faults are injected where they happen (an interrupt inside `Ensemble.train`, a full disk
inside `RunCache.store`, a read-only file system at `mkstemp`), so the tests run fast and
the same as root (which ignores permission bits) and as an ordinary user.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
import torch

# Imported here so that pytester's sys.modules snapshot keeps them (see test_plugin.py).
import grokcore.plugin
import grokcore.verdicts  # noqa: F401
from grokcore import cost, runs
from grokcore.cache import (
    CacheWriteWarning,
    CorruptEntryWarning,
    LockTimeout,
    ReadOnlyCacheWarning,
    RunCache,
)
from grokcore.cli import main
from grokcore.config import (
    MLP,
    EmbedMLP,
    ModularTask,
    Optimizer,
    RunConfig,
    TeacherStudentTask,
    Transformer,
)
from grokcore.cost import RunTooLarge, chunks, footprint
from grokcore.history import History
from grokcore.record import Check, ClaimRecord, Verdict
from grokcore.report import load_results_json, render_report, write_results_json
from grokcore.runs import EtaPrinter, RunStats, run

pytest_plugins = ["pytester"]


def tiny(seed: int = 0, steps: int = 20, **kw) -> RunConfig:
    return RunConfig(
        task=ModularTask("x+y", 7, 0.5),
        model=EmbedMLP(d_embed=8, width=16, depth=1),
        optim=Optimizer(lr=3e-3, weight_decay=1.0),
        steps=steps,
        eval_points=5,
        seed=seed,
        **kw,
    )


@pytest.fixture
def cache(tmp_path: Path) -> RunCache:
    return RunCache(tmp_path / "cache")


def interrupt_after(monkeypatch: pytest.MonkeyPatch, chunks_ok: int, exc=KeyboardInterrupt):
    """Ensemble.train raises `exc` (Ctrl-C by default) in every chunk after the first few."""
    calls = []

    class Flaky(runs.Ensemble):
        def train(self, progress=None):
            calls.append(len(self.configs))
            if len(calls) > chunks_ok:
                raise exc()
            return super().train(progress)

    monkeypatch.setattr(runs, "Ensemble", Flaky)
    return calls


def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*a, **k):
        raise AssertionError("trained although the input was refused up front")

    monkeypatch.setattr(runs, "Ensemble", refuse)


def read_only_fs(monkeypatch: pytest.MonkeyPatch) -> None:
    """mkstemp fails as on a read-only mount (root ignores chmod, so permissions can't say)."""

    def refuse(*a, **k):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)


# -- 1. finished runs are kept --------------------------------------------------------------


def test_interrupt_in_the_second_ensemble_keeps_the_first(cache, monkeypatch):
    first, second = tiny(0, steps=20), tiny(0, steps=30)  # two ensemble groups
    calls = interrupt_after(monkeypatch, chunks_ok=1)
    with pytest.raises(KeyboardInterrupt):
        run([first, second], cache, device="cpu", progress=False)
    assert calls == [1, 1]
    assert cache.load(first.key(), expect=first) is not None  # old code: stored nothing
    assert second.key() not in cache
    lock = cache.try_lock(second.key())  # no lock left behind
    assert lock is not None
    lock.release()


def test_warm_trains_one_ensemble_and_leaves_locked_runs_to_their_owner(cache, monkeypatch):
    """runs.warm trains what the cache lacks as one batched program, skips what another
    worker holds (without waiting for it), and a later `run` of one of them is a cache hit."""
    configs = [tiny(s) for s in range(4)]
    held = cache.try_lock(configs[3].key())  # "another worker" is training seed 3
    assert held is not None
    calls = interrupt_after(monkeypatch, chunks_ok=99)  # records each chunk's size
    try:
        assert runs.warm(configs, cache, device="cpu", progress=False) == 3
    finally:
        held.release()
    assert calls == [3]  # one ensemble of the three it could lock
    assert [c.key() in cache for c in configs] == [True, True, True, False]
    stats = RunStats()
    (h,) = run([configs[1]], cache, device="cpu", progress=False, stats=stats)
    assert h.steps[-1] == configs[1].steps
    assert calls == [3] and stats.cached == 1
    assert runs.warm(configs[:3], cache, device="cpu", progress=False) == 0  # all cached


def test_full_disk_at_store_warns_and_still_returns_the_runs(cache, monkeypatch):
    def full(self, key, history):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(RunCache, "store", full)
    stats = RunStats()
    with pytest.warns(CacheWriteWarning, match="No space left on device"):
        hs = run([tiny(0), tiny(1)], cache, device="cpu", progress=False, stats=stats)
    assert [h.config["seed"] for h in hs] == [0, 1]
    assert (stats.unstored, stats.stored) == (2, 0)


def test_cli_writes_its_outputs_when_the_cache_is_full(tmp_path, monkeypatch, capsys):
    def full(self, key, history):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(RunCache, "store", full)
    code = main([*CLI, "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "c")])
    assert code == 0
    assert len(json.loads((tmp_path / "out" / "summary.json").read_text())) == 1
    assert "could not store run" in capsys.readouterr().err


# -- 2. the cache checks that an entry belongs to its key -------------------------------------


def test_entry_copied_from_another_seed_is_set_aside(cache):
    a, b = tiny(0), tiny(1)
    run([a, b], cache, device="cpu", progress=False)
    shutil.copy(cache.path(b.key()), cache.path(a.key()))
    stats = RunStats()
    with pytest.warns(CorruptEntryWarning, match=r"not the run of its key.*seed"):
        [h] = run([a], cache, device="cpu", progress=False, stats=stats)
    assert h.config["seed"] == 0  # old code: seed 1's history, served as seed 0's
    assert stats.trained == 1
    assert len(list(cache.path(a.key()).parent.glob(f"{a.key()}.*.corrupt"))) == 1
    assert cache.load(a.key(), expect=a).config["seed"] == 0


def test_entry_with_a_shorter_budget_is_set_aside(cache):
    short, long = tiny(0, steps=5), tiny(0, steps=50)
    [h5] = run([short], cache, device="cpu", progress=False)
    cache.store(long.key(), h5)  # a stale 5-step history under the 50-step key
    with pytest.warns(CorruptEntryWarning, match="budget is 5 steps, the config's 50"):
        [h] = run([long], cache, device="cpu", progress=False)
    assert h.budget == 50 and len(h.batch_loss) == 50


# -- 4. the report accounts for every selected claim ---------------------------------------

HELPERS = """
import os

import pytest

from grokcore.record import Check, Verdict
from grokcore.verdicts import Judgement


def finish(claim, verdict, reason, **settings):
    main = Check(name="slope", value=-0.97, ci=(-1.1, -0.8), region="CI contains -1",
                 verdict=verdict)
    claim.finish(Judgement(verdict, reason, [main], runs=[]), statement="fake",
                 settings=settings, deviations=[], figures=[])


def claim(cid):
    return pytest.mark.claim(cid, title=f"title of {cid}", paper="fake", section="§1")
"""

INTERRUPTED = """
@claim("T-A")
def test_a(claim):
    finish(claim, Verdict.SUPPORTED, "concluded before the interrupt")


@claim("T-B")
def test_b(claim):
    raise KeyboardInterrupt


@claim("T-C")
def test_c(claim):
    finish(claim, Verdict.SUPPORTED, "never gets here")
"""

CRASH = """
@claim("T-CRASH")
def test_crash(claim):
    os._exit(3)
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("GROKCORE_SESSION", raising=False)
    monkeypatch.delenv("GROKCORE_DEVICE", raising=False)
    monkeypatch.delenv("GROKCORE_CACHE", raising=False)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makeconftest('pytest_plugins = ["grokcore.plugin"]\n')
    return pytester


def write_claims(pytester: pytest.Pytester, body: str) -> None:
    pytester.makepyfile(test_claims=HELPERS + textwrap.dedent(body))


def session(pytester: pytest.Pytester, *args: str, **kw) -> pytest.RunResult:
    report = pytester.path / "out" / "index.html"
    return pytester.runpytest("-p", "no:cacheprovider", "--report", str(report), *args, **kw)


def results(pytester: pytest.Pytester) -> tuple[dict[str, ClaimRecord], dict]:
    records, header = load_results_json(pytester.path / "out" / "results.json")
    return {r.claim_id: r for r in records}, header


def test_interrupted_session_reports_every_selected_claim(project):
    write_claims(project, INTERRUPTED)
    old = project.path / "out" / "index.html"
    old.parent.mkdir()
    old.write_text("OLD REPORT")
    result = session(project, "--scale", "quick", no_reraise_ctrlc=True)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    got, header = results(project)
    assert got["T-A"].verdict is Verdict.SUPPORTED
    assert got["T-B"].verdict is Verdict.ERROR and "interrupted while it ran" in got["T-B"].reason
    assert got["T-C"].verdict is Verdict.ERROR and "never ran" in got["T-C"].reason
    assert header["interrupted"] is True and header["stopped"] == "interrupted by Ctrl-C"
    assert (header["claims_selected"], header["claims_reported"]) == (3, 1)
    html = old.read_text()
    assert "OLD REPORT" not in html
    assert "Partial report: the session was interrupted by Ctrl-C" in html
    assert "1 of 3 selected claims reached a verdict" in html


def test_claim_whose_worker_dies_is_an_error_in_a_fresh_report(project):
    write_claims(project, CRASH)
    old = project.path / "out" / "index.html"
    old.parent.mkdir()
    old.write_text("OLD REPORT")
    result = project.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "xdist", "-n", "2", "--scale", "quick",
        "--report", str(old),
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    got, header = results(project)  # old code: no record, and the old report stayed
    crash = got["T-CRASH"]
    assert crash.verdict is Verdict.ERROR and "crashed" in crash.reason
    assert "crashed while running" in crash.traceback
    assert (header["claims_selected"], header["claims_reported"]) == (1, 0)
    assert "OLD REPORT" not in old.read_text()
    result.stdout.fnmatch_lines(["*1 of 1 selected claims have no verdict*"])


# -- 5. --seeds and --base-seed ---------------------------------------------------------------

SEEDS = """
@claim("T-SEEDS")
def test_seeds(claim):
    finish(claim, Verdict.SUPPORTED, "ok", seeds=claim.seeds(3))
"""


@pytest.mark.parametrize("bad", ["0", "-1", "1.5"])
def test_seeds_below_one_is_a_usage_error(project, bad):
    write_claims(project, SEEDS)
    result = session(project, "--seeds", bad)
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # old code: 0 ignored, -1 accepted
    result.stderr.fnmatch_lines(["*--seeds*"])
    assert not (project.path / "out" / "results.json").exists()


def test_base_seed_shifts_every_claims_seeds(project):
    write_claims(project, SEEDS)
    result = session(project, "--seeds", "2", "--base-seed", "10")
    assert result.ret == pytest.ExitCode.OK
    got, header = results(project)
    assert got["T-SEEDS"].settings["seeds"] == [10, 11]
    assert (header["seeds"], header["base_seed"]) == (2, 10)
    assert "first seed" in (project.path / "out" / "index.html").read_text()


# -- 6. (config half) non-finite values are refused at construction ----------------------------

NON_FINITE = {
    "lr inf": (lambda: Optimizer(lr=math.inf), "Optimizer.lr=inf"),
    "wd inf": (lambda: Optimizer(weight_decay=math.inf), "Optimizer.weight_decay=inf"),
    "eps inf": (lambda: Optimizer(eps=math.inf), "Optimizer.eps=inf"),
    "momentum nan": (lambda: Optimizer(momentum=math.nan), "Optimizer.momentum=nan"),
    "alpha inf": (lambda: tiny(init_scale=math.inf), "RunConfig.init_scale=inf"),
    "frac nan": (lambda: ModularTask(train_frac=math.nan), "ModularTask.train_frac=nan"),
    "threshold inf": (
        lambda: TeacherStudentTask(threshold=math.inf),
        "TeacherStudentTask.threshold=inf",
    ),
    "noise inf": (lambda: Transformer(embed_noise=math.inf), "Transformer.embed_noise=inf"),
}


@pytest.mark.parametrize(("make", "names"), NON_FINITE.values(), ids=NON_FINITE.keys())
def test_non_finite_values_are_refused_naming_the_field(make, names):
    with pytest.raises(ValueError, match=names.replace(".", r"\.")):
        make()


@pytest.mark.parametrize("flag", ["--lr", "--weight-decay", "--init-scale"])
def test_cli_refuses_inf_before_training(tmp_path, monkeypatch, capsys, flag):
    no_training(monkeypatch)
    assert main([*CLI, flag, "inf", "--out", str(tmp_path / "out"), "--no-cache"]) == 2
    assert "=inf: must be finite" in capsys.readouterr().err


# -- 7. the CLI checks --out first and maps errors to one line ---------------------------------

CLI = ["train", "--p", "7", "--train-frac", "0.5", "--steps", "20", "--device", "cpu"]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("grokcore: error: "), err
    assert not any("Traceback" in line for line in err)
    return err[-1]


def test_cli_out_that_is_a_file_fails_before_training(tmp_path, monkeypatch, capsys):
    no_training(monkeypatch)
    target = tmp_path / "a-file"
    target.write_text("x")
    assert main([*CLI, "--out", str(target), "--no-cache"]) == 2
    assert "exists and is not a directory" in one_line_error(capsys)


def test_cli_unwritable_out_fails_before_training(tmp_path, monkeypatch, capsys):
    no_training(monkeypatch)
    read_only_fs(monkeypatch)
    assert main([*CLI, "--out", str(tmp_path / "out"), "--no-cache"]) == 2
    assert "cannot write there (Read-only file system)" in one_line_error(capsys)


def test_cli_bad_device_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    no_training(monkeypatch)
    args = [a if a != "cpu" else "bogus" for a in CLI]
    assert main([*args, "--out", str(tmp_path / "out"), "--no-cache"]) == 2
    assert "--device='bogus' is not a device" in one_line_error(capsys)


def test_cli_missing_data_is_a_one_line_error(tmp_path, capsys):
    argv = ["train", "--task", "mnist", "--model", "mlp", "--data-dir", str(tmp_path / "none"),
            "--steps", "5", "--device", "cpu", "--out", str(tmp_path / "out"),
            "--no-cache"]  # fmt: skip
    assert main(argv) == 1
    assert "MNIST" in one_line_error(capsys)


def test_cli_memory_error_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    interrupt_after(monkeypatch, chunks_ok=0, exc=MemoryError)
    assert main([*CLI, "--out", str(tmp_path / "out"), "--no-cache"]) == 1
    assert "out of memory" in one_line_error(capsys)


def test_cli_writes_outputs_atomically_and_survives_a_failed_plot(tmp_path, monkeypatch, capsys):
    import grokcore.plotting

    def cannot(*a, **k):
        raise ValueError("Data cannot be log-scaled")

    monkeypatch.setattr(grokcore.plotting, "plot_curves", cannot)
    out = tmp_path / "out"
    assert main([*CLI, "--out", str(out), "--no-cache"]) == 0
    assert "could not draw curves.png" in capsys.readouterr().err
    [npz] = out.glob("*.npz")
    assert History.from_bytes(npz.read_bytes()).budget == 20
    assert json.loads((out / "summary.json").read_text())[0]["key"] == npz.stem
    assert sorted(p.name for p in out.iterdir()) == sorted([npz.name, "summary.json"])


# -- 8. absurd sizes are refused up front; the progress line has an ETA ------------------------


@pytest.mark.parametrize(
    ("cfg", "what"),
    [
        (lambda: tiny().replace(task=ModularTask("x+y", 100003, 0.5)), "data split"),
        (lambda: tiny(steps=10**12), "per-step losses"),
    ],
    ids=["p=100003", "steps=1e12"],
)
def test_absurd_sizes_are_refused_before_training(monkeypatch, cfg, what):
    no_training(monkeypatch)
    with pytest.raises(RunTooLarge, match=rf"one run needs at least .*GiB.*{what}.*available"):
        run([cfg()], None, device="cpu", progress=False, use_cache=False)


def test_cli_refuses_an_absurd_modulus(tmp_path, monkeypatch, capsys):
    no_training(monkeypatch)
    argv = [a if a != "7" else "100003" for a in CLI]
    assert main([*argv, "--out", str(tmp_path / "out"), "--no-cache"]) == 1
    assert "out of memory" in one_line_error(capsys)


def test_chunks_shrink_to_what_fits(monkeypatch):
    configs = [tiny(s) for s in range(5)]
    fp = footprint(configs[0])
    monkeypatch.setattr(cost, "available_memory", lambda device: fp.total(2) + 1)
    assert [len(c) for c in chunks(configs, torch.device("cpu"), 64)] == [2, 2, 1]


def test_progress_line_shows_time_left():
    out = StringIO()
    printer = EtaPrinter("label", k=4, every=0.0, stream=out)
    rec = {"train_acc": np.array([1.0, 0.5]), "test_acc": np.array([0.2, np.nan])}
    printer(10, 100, rec)
    printer(100, 100, rec)
    first, last = out.getvalue().splitlines()
    assert "step 10/100" in first and "ETA " in first
    assert last.endswith("done)")


# -- 9. Ctrl-C in the CLI says what was kept and what was lost ----------------------------------


def test_cli_ctrl_c_says_what_was_kept_and_lost(tmp_path, monkeypatch, capsys):
    interrupt_after(monkeypatch, chunks_ok=1)
    argv = [*CLI, "--train-frac", "0.3", "0.6", "--batch-size", "8", "--out", str(tmp_path / "out")]
    assert main([*argv, "--cache", str(tmp_path / "cache")]) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "interrupted. 1 finished run(s) are stored in the run cache" in err
    assert "the 1 run(s) in training were lost" in err
    assert len(list((tmp_path / "cache").glob("??/*.npz"))) == 1


# -- 10. lock waits say who holds the lock, and can time out -----------------------------------

HOLDER = """
import sys, time
from grokcore.cache import RunCache
lock = RunCache(sys.argv[1]).try_lock(sys.argv[2])
print("locked" if lock else "busy", flush=True)
time.sleep(300)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for the state")
def test_lock_wait_names_a_stopped_holder_and_times_out(cache, capsys):
    cfg = tiny()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(cache.root), cfg.key()],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        os.kill(holder.pid, signal.SIGSTOP)  # the holder hangs: old code waited forever
        with pytest.raises(LockTimeout, match=rf"pid {holder.pid} on .*that process is stopped"):
            run([cfg], cache, device="cpu", progress=False, lock_timeout=1.0)
        assert f"is being trained by pid {holder.pid}" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()
    [h] = run([cfg], cache, device="cpu", progress=False, lock_timeout=60)  # freed by the kill
    assert h.config["seed"] == 0


# -- 11. a bad --report or device is a usage error before anything runs --------------------------


def test_report_that_is_a_directory_is_a_usage_error(project):
    write_claims(project, SEEDS)
    target = project.path / "reports"
    target.mkdir()
    result = project.runpytest("-p", "no:cacheprovider", "--report", str(target))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--report*is a directory*"])
    assert not (project.path / "results.json").exists()  # old code wrote it beside the dir


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs an unwritable /proc")
def test_unwritable_report_is_a_usage_error(project):
    write_claims(project, SEEDS)
    result = project.runpytest("-p", "no:cacheprovider", "--report", "/proc/grokcore/index.html")
    assert result.ret == pytest.ExitCode.USAGE_ERROR  # old code: INTERNALERROR after training
    result.stderr.fnmatch_lines(["*--report*cannot write to /proc*"])


def test_bogus_device_is_a_usage_error(project, monkeypatch):
    write_claims(project, SEEDS)
    monkeypatch.setenv("GROKCORE_DEVICE", "bogus")
    result = session(project)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*GROKCORE_DEVICE='bogus' is not a device*"])


# -- 12. shared and read-only caches ------------------------------------------------------------


def test_entries_and_reports_are_readable_by_others(tmp_path, cache):
    old = os.umask(0o022)
    try:
        run([tiny()], cache, device="cpu", progress=False)
        report = render_report([], {}, tmp_path / "r" / "index.html")
        results_json = write_results_json([], {}, tmp_path / "r" / "results.json")
    finally:
        os.umask(old)
    for path in (cache.path(tiny().key()), report, results_json):
        assert path.stat().st_mode & 0o777 == 0o644, path  # old code: 0600 from mkstemp


def test_read_only_cache_is_read_and_misses_train_unstored(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    have, lack = tiny(0), tiny(1)
    run([have], RunCache(root), device="cpu", progress=False)
    read_only_fs(monkeypatch)
    with pytest.warns(ReadOnlyCacheWarning, match="not writable"):
        ro = RunCache(root)
    assert not ro.writable
    stats = RunStats()
    hs = run([have, lack], ro, device="cpu", progress=False, stats=stats)  # old: crashed on lock
    assert [h.config["seed"] for h in hs] == [0, 1]
    assert (stats.cached, stats.unstored) == (1, 1)
    assert lack.key() not in ro


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_chmod_read_only_cache_is_read(tmp_path):
    root = tmp_path / "cache"
    run([tiny(0)], RunCache(root), device="cpu", progress=False)
    for d in (root, *[p for p in root.rglob("*") if p.is_dir()]):
        d.chmod(0o555)
    try:
        with pytest.warns(ReadOnlyCacheWarning):
            hs = run([tiny(0), tiny(1)], RunCache(root), device="cpu", progress=False)
        assert [h.config["seed"] for h in hs] == [0, 1]
    finally:
        for d in (root, *[p for p in root.rglob("*") if p.is_dir()]):
            d.chmod(0o755)


# -- 13. configs refuse wrong types and values, naming the field ---------------------------------

BAD_CONFIGS = {
    "string lr": (lambda: Optimizer(lr="3e-3"), "Optimizer.lr='3e-3'"),
    "string frac": (lambda: ModularTask(train_frac="0.5"), "ModularTask.train_frac='0.5'"),
    "fractional seed": (lambda: tiny(seed=1.9), "RunConfig.seed=1.9"),
    "negative seed": (lambda: tiny(seed=-1), "RunConfig.seed=-1"),
    "bool steps": (lambda: tiny(steps=True), "RunConfig.steps=True"),
    "fractional width": (lambda: EmbedMLP(width=16.5), "EmbedMLP.width=16.5"),
    "fractional batch": (lambda: tiny(batch_size=7.5), "RunConfig.batch_size=7.5"),
    "hidden list": (lambda: MLP(hidden=[100, 100]), "MLP.hidden=[100, 100]"),
    "optim None": (lambda: RunConfig(ModularTask(), EmbedMLP(), None), "RunConfig.optim=None"),
    "string constrain": (lambda: tiny(constrain_norm="no"), "RunConfig.constrain_norm='no'"),
    "wd window empty": (
        lambda: Optimizer(weight_decay=1.0, wd_on_at=50, wd_off_at=50),
        "Optimizer.wd_off_at=50",
    ),
}


@pytest.mark.parametrize(("make", "names"), BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys())
def test_bad_config_types_are_refused_naming_the_field(make, names):
    with pytest.raises(ValueError) as caught:
        make()
    assert str(caught.value).startswith(names)


def test_integral_values_are_normalized_not_truncated():
    assert tiny(seed=2.0).seed == 2 and tiny(seed=np.int64(2)).key() == tiny(seed=2).key()
    assert (
        Optimizer(lr=np.float32(0.5)).lr == 0.5 and type(Optimizer(lr=np.float32(0.5)).lr) is float
    )


def test_cli_negative_tau_is_refused(tmp_path, monkeypatch, capsys):
    no_training(monkeypatch)
    assert main([*CLI, "--tau", "-1", "--out", str(tmp_path / "out"), "--no-cache"]) == 2
    assert "--tau -1.0" in one_line_error(capsys)


# -- 14. default cache and report live at the rootdir, wherever pytest starts ---------------------

WHERE = """
@claim("T-WHERE")
def test_where(claim):
    finish(claim, Verdict.SUPPORTED, "ok", cache=str(claim.cache.root))
"""


def test_defaults_are_anchored_at_the_rootdir(project, monkeypatch):
    project.makeini("[pytest]\n")
    write_claims(project, WHERE)
    elsewhere = project.mkdir("elsewhere")
    monkeypatch.chdir(elsewhere)
    result = project.runpytest("-p", "no:cacheprovider", str(project.path / "test_claims.py"))
    assert result.ret == pytest.ExitCode.OK
    records, _ = load_results_json(project.path / "reports" / "results.json")
    assert records[0].settings["cache"] == str(project.path / ".grokcore" / "cache")
    assert not (elsewhere / "reports").exists() and not (elsewhere / ".grokcore").exists()


# -- 15. results.json: versioned, numbers as numbers, strict JSON --------------------------------


def test_results_json_is_strict_and_versioned(tmp_path):
    rec = ClaimRecord(
        "X", "t", "p", "s", "quick", Verdict.SUPPORTED,
        checks=[Check("m", math.nan, (-math.inf, 1.0), "r", Verdict.SUPPORTED)],
        runs=[{"t_test": math.inf}],
    )  # fmt: skip
    path = write_results_json([rec], {"wall_time_s": 1.5, "runs_trained": 3}, tmp_path / "r.json")

    def strict(name):
        raise ValueError(f"not strict JSON: {name}")

    payload = json.loads(path.read_text(), parse_constant=strict)  # old code: wrote NaN
    assert payload["schema_version"] == 2
    assert payload["claims"][0]["checks"][0]["value"] is None
    assert payload["nonfinite"] == {
        "/claims/0/checks/0/value": "NaN",
        "/claims/0/checks/0/ci/0": "-Infinity",
        "/claims/0/runs/0/t_test": "Infinity",
    }
    [back], header = load_results_json(path)
    assert math.isnan(back.checks[0].value) and back.checks[0].ci == (-math.inf, 1.0)
    assert back.runs == [{"t_test": math.inf}]
    assert header == {"wall_time_s": 1.5, "runs_trained": 3}


def test_session_header_holds_numbers(project):
    write_claims(project, SEEDS)
    session(project)
    _, header = results(project)
    assert isinstance(header["wall_time_s"], float)
    assert isinstance(header["runs_trained"], int) and isinstance(header["runs_cached"], int)
    assert header["seeds"] is None and header["base_seed"] == 0
    assert header["verdicts"]["SUPPORTED"] == 1


def test_report_that_cannot_be_written_keeps_the_records(project, monkeypatch):
    import grokcore.report

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(grokcore.report, "write_results_json", full)
    write_claims(project, SEEDS)
    result = session(project)
    assert result.ret == pytest.ExitCode.OK  # old code: INTERNALERROR
    result.stdout.fnmatch_lines(["*grokcore verdict report: NOT written*No space left*"])
    assert len(list((project.path / "out" / ".records").glob("*.json"))) == 1


# -- what already held up, kept that way ---------------------------------------------------------


def test_same_config_gives_byte_identical_entries(tmp_path):
    a, b = RunCache(tmp_path / "a"), RunCache(tmp_path / "b")
    run([tiny(0)], a, device="cpu", progress=False)
    run([tiny(0), tiny(1)], b, device="cpu", progress=False)  # in an ensemble of two
    key = tiny(0).key()
    assert a.path(key).read_bytes() == b.path(key).read_bytes()


def test_stale_lock_file_does_not_block(cache):
    cfg = tiny()
    (cache.root / "locks").mkdir()
    (cache.root / "locks" / f"{cfg.key()}.lock").write_text("left by a process killed with -9")
    [h] = run([cfg], cache, device="cpu", progress=False, lock_timeout=30)
    assert h.budget == cfg.steps and cfg.key() in cache


def test_cpu_training_flushes_subnormals_and_restores_the_default(monkeypatch):
    """Subnormal floats (weight decay's tiny weights) are flushed during a CPU ensemble's
    training, where x86 computes on them up to ~100× slower, and kept again afterwards."""
    from grokcore.train.engine import FLUSH_DENORMAL_ENV, _flush_denormal

    tiny_value = torch.tensor([1e-39])  # subnormal in float32
    assert (tiny_value * 1.0).item() != 0.0
    with _flush_denormal(torch.device("cpu")):
        if torch.set_flush_denormal(True):  # the CPU supports it (x86 with SSE3)
            assert (tiny_value * 1.0).item() == 0.0
    assert (tiny_value * 1.0).item() != 0.0  # torch's default is back
    monkeypatch.setenv(FLUSH_DENORMAL_ENV, "0")
    with _flush_denormal(torch.device("cpu")):
        assert (tiny_value * 1.0).item() != 0.0
