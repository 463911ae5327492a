"""Job states from scontrol and submitit's result files (never sacct: a cluster without
accounting has none), and the per-shard table of `grokcore status`."""

from __future__ import annotations

import pickle
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grokcore.cache import RunCache
from grokcore.plan import Plan
from grokcore.slurm.jobs import importable
from grokcore.slurm.state import State

ACTIVE = {
    "PENDING",
    "CONFIGURING",
    "RUNNING",
    "COMPLETING",
    "REQUEUED",
    "REQUEUE_HOLD",
    "REQUEUE_FED",
    "RESIZING",
    "SUSPENDED",
    "STAGE_OUT",
    "SIGNALING",
}


def job_states(state: State, ids: Sequence[str]) -> dict[str, str]:
    """Each job's state: SLURM's (scontrol, which keeps finished jobs for MinJobAge), else
    submitit's result file (COMPLETED or FAILED), else UNKNOWN; local jobs by their pid."""
    out: dict[str, str] = {}
    if state.resources.executor == "slurm":
        for array in sorted({j.split("_")[0] for j in ids}):
            out.update(_scontrol(array))
    for j in ids:
        if j in out:
            continue
        result = state.folder / f"{j}_0_result.pkl"
        if result.exists():
            try:
                with open(result, "rb") as f:
                    out[j] = "COMPLETED" if pickle.load(f)[0] == "success" else "FAILED"
            except Exception:
                out[j] = "FAILED"
        elif state.resources.executor == "local" and _submitit_alive(j):
            out[j] = "RUNNING"
        else:
            out[j] = "UNKNOWN"  # purged from SLURM with no result: it did not finish
    return out


def _scontrol(job: str) -> dict[str, str]:
    try:
        text = subprocess.run(
            ["scontrol", "show", "job", "-o", job], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    out = {}
    for line in text.splitlines():
        f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
        s = f.get("JobState", "UNKNOWN")
        if "ArrayTaskId" not in f:
            out[f.get("JobId", job)] = s
            continue
        for part in f["ArrayTaskId"].split("%")[0].split(","):  # pending tasks: "0-3%2"
            a, _, b = part.partition("-")
            for t in range(int(a), int(b or a) + 1):
                out[f"{f['ArrayJobId']}_{t}"] = s
    return out


def _submitit_alive(pid: str) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X") and b"submitit" in cmd


@dataclass
class ShardStatus:
    shard: int
    state: str  # done | pending | running | failed | missing (never submitted, runs missing)
    runs: int
    cached: int
    job: str | None = None
    job_state: str | None = None
    attempts: int = 0


def statuses(state: State, plan: Plan | None = None) -> list[ShardStatus]:
    """Each shard's state, from its latest job's state and the cache."""
    importable(state.root)
    shards = (plan or state.selection.plan()).shards(state.shards)
    cache = RunCache(state.run_cache)
    latest = {i: ids[-1] for i, ids in state.attempts.items() if ids}
    js = job_states(state, list(latest.values()))
    out = []
    for i, chunks in enumerate(shards, 1):
        keys = [c.key() for ch in chunks for c in ch]
        cached = sum(k in cache for k in keys)
        job = latest.get(str(i))
        s = js.get(job, "") if job else ""
        if cached == len(keys):
            word = "done"
        elif s in ("PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD"):
            word = "pending"
        elif s in ACTIVE:
            word = "running"
        else:
            word = "failed" if job else "missing"
        out.append(
            ShardStatus(
                i, word, len(keys), cached, job, s or None, len(state.attempts.get(str(i), []))
            )
        )
    return out


def table(state: State, rows: list[ShardStatus]) -> str:
    sel = shlex.join(state.selection.args())
    lines = [
        f"grokcore submit {sel} --shards {state.shards} (round {state.round}, "
        f"{state.resources.executor}), cache {state.run_cache}",
        f"{'shard':>7s}  {'state':8s} {'job':>12s}  {'job state':11s} {'tries':>5s} "
        f"{'runs':>6s} {'cached':>7s}",
    ]
    for r in rows:
        lines.append(
            f"{r.shard:>3d}/{state.shards:<3d}  {r.state:8s} {r.job or '-':>12s}  "
            f"{r.job_state or '-':11s} {r.attempts:5d} {r.runs:6d} {r.cached:7d}"
        )
    lines.append(f"runs cached: {sum(r.cached for r in rows)} of {sum(r.runs for r in rows)}")
    if state.judged:
        j = state.judged
        lines.append(f"judged: pytest exit {j['rc']} at {j['at']} on {j['host']}: {j['report']}")
    elif state.judges:
        s = job_states(state, state.judges[-1:]).get(state.judges[-1], "?")
        lines.append(f"judging: job {state.judges[-1]} {s}, will write {state.report}")
    lines += [f"note: {e}" for e in state.events]
    return "\n".join(lines)
