"""`grokcore submit` and `grokcore status` (grokcore.slurm): the state, the job states, the
local executor, and a real one-node SLURM (.ci/slurm.sh starts one; without it those tests
are skipped with the reason).

The SLURM test trains a tiny plan (RP-FRAC and RP-RNN at one seed: 7 runs in 4 ensembles,
2 per shard) as a 2-task job array, cancels one task with scancel once its first ensemble
is stored, and lets the dependent job resubmit it and judge. It then checks that every
run is cached exactly once, that the entries equal local training bit for bit, and that
the report judged every claim from the cache. About 2-3 minutes on 2 cores.
"""

from __future__ import annotations

import json
import pickle
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from grokcore import slurm
from grokcore.cache import RunCache, key_of
from grokcore.cli import main
from grokcore.history import History
from grokcore.runs import run
from grokcore.slurm import status as slurm_status

ROOT = Path(__file__).resolve().parents[1]


def _no_slurm() -> str | None:
    """Why no SLURM can be used here, or None."""
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return "no SLURM here: sinfo/sbatch are not on PATH (.ci/slurm.sh installs and starts one)"
    try:
        r = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "SLURM does not answer: sinfo timed out after 20 s"
    if r.returncode != 0 or not re.search(r"idle|mix", r.stdout):
        why = (r.stderr or r.stdout).strip() or "no idle node"
        return f"SLURM does not answer: sinfo: {why}"
    return None


NO_SLURM = _no_slurm()
needs_slurm = pytest.mark.skipif(NO_SLURM is not None, reason=NO_SLURM or "")


def _check_cache(root: Path, plan) -> None:
    """Every run of the plan is cached exactly once, loads, and is the run of its key; no
    entry was set aside, no write was left half done, and no lock is held."""
    cache = RunCache(root)
    entries = sorted(p.stem for p in root.glob("*/*.npz"))
    assert entries == sorted(plan.runs), "the cache holds other entries than the plan's runs"
    for key, cfg in plan.runs.items():
        h = cache.load(key, expect=cfg)
        assert h is not None and key_of(h.config) == key, key
    assert not list(root.rglob("*.corrupt")), "an entry was set aside as damaged"
    assert not list(root.rglob(".*.tmp")), "a write was left half done"
    for lock_file in (root / "locks").glob("*.lock"):
        lock = cache.try_lock(lock_file.stem)
        assert lock is not None, f"{lock_file} is still held"
        lock.release()


def _same(a: History, b: History) -> bool:
    arrays = ["steps", "train_loss", "train_acc", "test_loss", "test_acc", "norm", "batch_loss"]
    same = all(np.array_equal(getattr(a, n), getattr(b, n), equal_nan=True) for n in arrays)
    same &= a.budget == b.budget and a.diverged_at == b.diverged_at
    same &= a.group_norms.keys() == b.group_norms.keys() and all(
        np.array_equal(a.group_norms[k], b.group_norms[k], equal_nan=True) for k in a.group_norms
    )
    return same


# -- without a cluster ------------------------------------------------------------------
def test_selection_gives_the_same_shards_in_every_process() -> None:
    sel = slurm.Selection("RP-FRAC or RP-RNN", seeds=1)
    one, two = sel.plan().shards(2), sel.plan().shards(2)
    keys = [[[c.key() for c in ch] for ch in sh] for sh in one]
    assert keys == [[[c.key() for c in ch] for ch in sh] for sh in two]
    assert sel.args() == [
        "-k",
        "RP-FRAC or RP-RNN",
        "--scale",
        "quick",
        "--base-seed",
        "0",
        "--seeds",
        "1",
    ]


def test_scontrol_array_records(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (
        "JobId=12 ArrayJobId=12 ArrayTaskId=2-3%1 JobState=PENDING Reason=JobArrayTaskLimit\n"
        "JobId=13 ArrayJobId=12 ArrayTaskId=1 JobState=RUNNING\n"
        "JobId=14 ArrayJobId=12 ArrayTaskId=0 JobState=CANCELLED\n"
    )
    done = subprocess.CompletedProcess([], 0, stdout=text, stderr="")
    monkeypatch.setattr(slurm_status.subprocess, "run", lambda *a, **k: done)
    assert slurm_status._scontrol("12") == {
        "12_0": "CANCELLED",
        "12_1": "RUNNING",
        "12_2": "PENDING",
        "12_3": "PENDING",
    }


def test_state_round_trip_and_another_submission_is_refused(tmp_path: Path) -> None:
    state = slurm.State(
        str(ROOT),
        slurm.Selection("RP-NOWD", seeds=1),
        2,
        str(tmp_path / "c"),
        str(tmp_path / "logs"),
        str(tmp_path / "r.html"),
        slurm.Resources(sbatch_args={"constraint": "a100"}),
    )
    slurm.save(state)
    assert slurm.load(tmp_path / "logs") == state
    other = slurm.State(**{**state.__dict__, "shards": 3})
    with pytest.raises(ValueError, match="holds another submission"):
        slurm.submit(other, wait=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shards", "2", "--log-dir", "L"], "--run-cache and --log-dir are needed"),
        (["--run-cache", "C", "--log-dir", "L"], "--shards N"),
        (
            ["--shards", "2", "--run-cache", "C", "--log-dir", "L", "--sbatch-arg", "x"],
            "expected KEY=VALUE",
        ),
    ],
)
def test_submit_flags(args, message, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(ROOT)
    args = [str(tmp_path / a) if a in ("C", "L") else a for a in args]
    assert main(["submit", "-k", "RP-NOWD", *args]) == 2
    assert message in capsys.readouterr().err


def test_status_of_nothing(tmp_path: Path, capsys) -> None:
    assert main(["status", str(tmp_path)]) == 2
    assert "no grokcore submission here" in capsys.readouterr().err


def test_local_executor_two_processes_one_cache(tmp_path: Path, monkeypatch) -> None:
    """--executor local: two processes train RP-FRAC's two ensembles into one cache at the
    same time; every entry is whole and is its key's run; then the report judges them."""
    monkeypatch.chdir(ROOT)
    cache, logs = tmp_path / "cache", tmp_path / "logs"
    rc = main(
        [
            "submit",
            "-k",
            "RP-FRAC",
            "--seeds",
            "1",
            "--shards",
            "2",
            "--executor",
            "local",
            "--run-cache",
            str(cache),
            "--log-dir",
            str(logs),
        ]
    )
    state = slurm.load(logs)
    rows = slurm.statuses(state)
    assert [r.state for r in rows] == ["done", "done"] and all(r.attempts == 1 for r in rows)
    for ids in state.attempts.values():  # both processes trained: they ran side by side
        with open(state.folder / f"{ids[0]}_0_result.pkl", "rb") as f:
            outcome, result = pickle.load(f)
        assert outcome == "success" and result["trained"] >= 1, result
    _check_cache(cache, state.selection.plan())
    results = json.loads((logs / "report" / "results.json").read_text())
    assert results["header"]["runs_trained"] == 0
    assert [c["claim_id"] for c in results["claims"]] == ["RP-FRAC"]
    assert results["claims"][0]["verdict"] in ("SUPPORTED", "REFUTED", "INCONCLUSIVE")
    assert state.judged is not None and state.judged["rc"] == rc


# -- a real SLURM -----------------------------------------------------------------------
def _wait(what: str, ok, deadline: float, state_dir: Path, every: float = 0.5):
    while time.monotonic() < deadline:
        got = ok()
        if got:
            return got
        time.sleep(every)
    state = slurm.load(state_dir)
    logs = "\n".join(p.name + ":\n" + p.read_text()[-2000:] for p in state.folder.glob("*log*"))
    pytest.fail(
        f"timed out waiting for {what}\n{slurm.table(state, slurm.statuses(state))}\n{logs}"
    )


@needs_slurm
def test_slurm_array_scancel_resubmit_bit_identical(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    cache_dir, logs = tmp_path / "cache", tmp_path / "logs"
    deadline = time.monotonic() + 600
    sel = ["-k", "RP-FRAC or RP-RNN", "--seeds", "1"]
    assert (
        main(
            [
                "submit",
                *sel,
                "--shards",
                "2",
                "--run-cache",
                str(cache_dir),
                "--log-dir",
                str(logs),
                "--min-time",
                "5",
            ]
        )
        == 0
    )
    state = slurm.load(logs)
    plan = state.selection.plan()
    shards = plan.shards(2)
    assert len(plan.ensembles) >= 3 and all(len(sh) >= 2 for sh in shards)
    print(f"[test] submitted: shards {state.attempts}, judging job {state.judges}")
    keys = [[c.key() for ch in sh for c in ch] for sh in shards]
    cache = RunCache(cache_dir)

    def partly_done() -> int | None:  # a shard running with some, not all, of its runs stored
        for i, ks in enumerate(keys, 1):
            n = sum(k in cache for k in ks)
            if 0 < n < len(ks):
                return i
        return None

    victim = _wait("a shard with its first ensemble stored", partly_done, deadline, logs)
    job = state.attempts[str(victim)][0]
    before = slurm.job_states(state, [job])[job]
    subprocess.run(["scancel", job], check=True)
    print(
        f"[test] shard {victim}/2 (job {job}, {before}) cancelled with "
        f"{sum(k in cache for k in keys[victim - 1])} of {len(keys[victim - 1])} runs cached"
    )

    def judged() -> slurm.State | None:
        s = slurm.load(logs)
        return s if s.judged is not None else None

    final = _wait("the judging", judged, deadline, logs, every=2.0)
    rows = slurm.statuses(final)
    print("[test] " + slurm.table(final, rows).replace("\n", "\n[test] "))
    assert [r.state for r in rows] == ["done", "done"]
    tries = {r.shard: r.attempts for r in rows}
    assert tries[victim] == 2 and tries[3 - victim] == 1, tries
    assert slurm.job_states(final, [job])[job] == "CANCELLED"
    first_judge = final.folder / f"{final.judges[0]}_0_log.out"
    assert (
        "resubmitted once" in first_judge.read_text() and "its log ends" in first_judge.read_text()
    )
    # the resubmitted task trained exactly what the cancelled one had not stored
    stored = int(re.search(r"with (\d+) of", final.events[-1]).group(1))  # type: ignore[union-attr]
    retry = final.attempts[str(victim)][1]
    with open(final.folder / f"{retry}_0_result.pkl", "rb") as f:
        outcome, result = pickle.load(f)
    assert outcome == "success" and result["trained"] == len(keys[victim - 1]) - stored, result
    print(
        f"[test] resubmitted as {retry}: trained {result['trained']} "
        f"(the cancelled task had stored {stored})"
    )
    _check_cache(cache_dir, plan)

    # bit for bit: the same configs trained here, alone, into another cache
    local = run(
        list(plan.runs.values()), RunCache(tmp_path / "local"), device="cpu", progress=False
    )
    differ = [k for k, h in zip(plan.runs, local, strict=True) if not _same(cache.load(k), h)]
    assert not differ, f"runs that differ from local training: {differ}"
    print(f"[test] {len(local)} cached runs equal local training bit for bit")

    # the report: judged from the cache, nothing trained
    results = json.loads((logs / "report" / "results.json").read_text())
    head = results["header"]
    assert head["runs_trained"] == 0 and head["train_limit_min"] == 0
    verdicts = {c["claim_id"]: c["verdict"] for c in results["claims"]}
    assert set(verdicts) == {"RP-FRAC", "RP-RNN"}
    assert all(v in ("SUPPORTED", "REFUTED", "INCONCLUSIVE") for v in verdicts.values()), verdicts
    assert all(c["runs_trained"] == 0 for c in results["claims"])
    print(f"[test] report {logs / 'report'}: {verdicts}, {head['runs_cached']} runs from the cache")

    # submitting again trains nothing: every shard is done, only the judging is queued
    again = slurm.submit(final, wait=True, out=lambda s: None)
    assert again.attempts == {} and again.judged is not None
    assert sys.executable  # the jobs ran this interpreter (submitit's default)
