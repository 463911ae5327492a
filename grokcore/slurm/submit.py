"""Submitting: the shards as one submitit job array, the dependent judging job, one
resubmission of a failed shard, and --wait's watching and judging in place."""

from __future__ import annotations

import dataclasses
import math
import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import torch

from grokcore.cache import RunCache
from grokcore.plan import Plan
from grokcore.plan import estimated_seconds as plan_seconds
from grokcore.runs import duration
from grokcore.slurm.jobs import ShardRunner, ShardTask, enter_root, importable
from grokcore.slurm.state import State, load, locked, save
from grokcore.slurm.status import ACTIVE, job_states, statuses, table

ATTEMPTS = 2  # a shard's first try and its one automatic resubmission
JUDGE_MINUTES = 60  # the judging job's time limit: it reads the cache and draws the figures
POLL_S = 5.0  # --wait: how often the submitting process looks at the shards
Out = Callable[[str], None]


def _executor(state: State, minutes: int, name: str, dependency: str | None = None) -> Any:
    import submitit

    r = state.resources
    if r.executor == "local":
        local = submitit.LocalExecutor(folder=state.folder)
        local.update_parameters(timeout_min=minutes)
        return local
    ex = submitit.SlurmExecutor(folder=state.folder)
    params: dict[str, Any] = {
        "time": minutes,
        "cpus_per_task": r.cpus_per_task,
        "job_name": f"grokcore-{name}",
    }
    for key in ("partition", "account", "qos"):
        if getattr(r, key):
            params[key] = getattr(r, key)
    if r.gpus_per_task:  # sbatch wants an explicit task count with --gpus-per-task
        params.update(gpus_per_task=r.gpus_per_task, ntasks_per_node=1)
    if r.max_parallel:
        params["array_parallelism"] = r.max_parallel
    if dependency:  # the judging job submits jobs itself, which a job step (srun) may not
        params.update(dependency=dependency, use_srun=False)
    ex.update_parameters(**params, additional_parameters=dict(r.sbatch_args))
    return ex


def _submit_shards(state: State, plan: Plan, which: list[int], out: Out) -> list[str]:
    """One job array for the shards `which` (1-based); returns their job ids."""
    cache = RunCache(state.run_cache)
    shards = plan.shards(state.shards)
    device = torch.device(state.selection.device)
    guesses = {}
    for i in which:
        todo = [[c for c in ch if c.key() not in cache] for ch in shards[i - 1]]
        guesses[i] = plan_seconds([ch for ch in todo if ch], device, False)[0]
    r = state.resources
    minutes = max(r.min_minutes, math.ceil(max(guesses.values()) * r.time_margin / 60))
    tasks = [
        ShardTask(state.root, state.selection, i, state.shards, state.run_cache, r.cpus_per_task)
        for i in which
    ]
    ex = _executor(state, minutes, "shard")
    if r.executor == "local" and r.gpus_per_task:  # one process per GPU of this machine
        ngpu = max(1, torch.cuda.device_count())
        jobs = []
        for k, t in enumerate(tasks):
            ex.update_parameters(gpus_per_node=1, visible_gpus=(k % ngpu,))
            jobs.append(ex.submit(ShardRunner(), t))
    else:
        jobs = ex.map_array(ShardRunner(), tasks)
    ids = [j.job_id for j in jobs]
    for i, j in zip(which, ids, strict=True):
        state.attempts.setdefault(str(i), []).append(j)
        out(
            f"grokcore: shard {i}/{state.shards}: job {j}, estimated "
            f"{duration(guesses[i])} on {device}, time limit {minutes} min"
        )
    return ids


def _submit_judge(state: State, after: list[str], out: Out) -> str:
    arrays = sorted({j.split("_")[0] for j in after})
    dep = "afterany:" + ":".join(arrays) if arrays else None
    job = _executor(state, JUDGE_MINUTES, "judge", dependency=dep).submit(finish, str(state.path))
    state.judges.append(job.job_id)
    out(
        f"grokcore: judging: job {job.job_id}"
        + (f" ({dep})" if dep else "")
        + f", writes {state.report}"
    )
    return job.job_id


def submit(new: State, *, wait: bool, out: Out = print) -> State:
    """Start a round: a job array for every shard whose runs the cache lacks, then the
    judging (a dependent job, or here with `wait`). The same submission again, or --resume,
    is a new round: nothing the cache holds trains again."""
    importable(new.root)
    plan = new.selection.plan()
    lock = locked(new)
    with lock:
        state = new
        if new.path.exists():
            old = load(new.path)
            if not old.same_submission(new):
                raise ValueError(
                    f"{new.path} holds another submission ({shlex.join(old.selection.args())} "
                    f"--shards {old.shards}, cache {old.run_cache}): use another --log-dir"
                )
            busy = [s.job for s in statuses(old, plan) if s.state in ("pending", "running")]
            judges = job_states(old, old.judges[-1:]) if old.judges else {}
            busy += [j for j, s in judges.items() if s in ACTIVE]
            if busy:
                raise ValueError(
                    f"{new.path}: jobs {', '.join(map(str, busy))} of this submission "
                    "are still queued or running: wait for them, or scancel them first"
                )
            state = dataclasses.replace(new, round=old.round, events=old.events)
        state.round += 1
        state.attempts, state.judges, state.judged = {}, [], None
        rows = statuses(state, plan)
        todo = [r.shard for r in rows if r.state != "done"]
        out(
            f"grokcore: {len(plan.runs)} unique runs in {len(plan.ensembles)} ensembles, "
            f"{state.shards} shards; {sum(r.cached for r in rows)} runs cached, "
            f"{len(todo)} shard(s) to train"
        )
        ids = _submit_shards(state, plan, todo, out) if todo else []
        if not (wait or state.resources.executor == "local"):
            _submit_judge(state, ids, out)
        save(state)
    out(f"grokcore: state {state.path}; `grokcore status {state.log_dir}` shows the shards")
    if wait or state.resources.executor == "local":
        return wait_and_judge(state, out)
    return state


def step(state: State, out: Out, *, judge_job: bool = False) -> bool:
    """Resubmit, once each, the shards that ended without all their runs (with their logs'
    tails). True if something was (re)submitted or is still going, so judging must wait."""
    with locked(state):
        fresh = load(state.path)
        rows = statuses(fresh)
        active = [r.job for r in rows if r.state in ("pending", "running") and r.job]
        retry = [r for r in rows if r.state in ("failed", "missing") and r.attempts < ATTEMPTS]
        if not active and not retry:
            return False
        ids = list(active)
        if retry:
            for r in retry:
                why = (
                    f"shard {r.shard}/{fresh.shards}: job {r.job} ended {r.job_state or 'UNKNOWN'} "
                    f"with {r.cached} of {r.runs} runs cached; resubmitted once"
                )
                out(f"grokcore: {why}; its log ends:\n{log_tail(fresh, r.job)}")
                fresh.events.append(why)
            ids += _submit_shards(fresh, fresh.selection.plan(), [r.shard for r in retry], out)
        if judge_job:  # still going: judge again after those
            _submit_judge(fresh, ids, out)
        save(fresh)
        state.__dict__.update(fresh.__dict__)
    return True


def log_tail(state: State, job: str | None, lines: int = 15) -> str:
    if job is None:
        return "    (never submitted)"
    tails = []
    for suffix in ("out", "err"):
        p = state.folder / f"{job}_0_log.{suffix}"
        try:
            text = p.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            text = ["(no log)"]
        tails.append(f"  {p}:\n" + "\n".join(f"    {t}" for t in text))
    return "\n".join(tails)


def wait_and_judge(state: State, out: Out = print, poll: float = POLL_S) -> State:
    """--wait: watch the shards, resubmit a failed one once, then judge here."""
    seen = ""
    while True:
        text = table(state, statuses(state))
        if text != seen:
            out(text)
            seen = text
        if not step(state, out):
            break
        time.sleep(poll)
    judge(state, out)
    return load(state.path)


def judge(state: State, out: Out) -> int:
    """`pytest claims/ --train-limit 0` from the repository root: the report from the cache."""
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "claims/",
        "-p",
        "no:cacheprovider",
        *state.selection.args(),
        "--train-limit",
        "0",
        "--run-cache",
        state.run_cache,
        "--report",
        state.report,
    ]
    out("grokcore: judging: " + shlex.join(cmd))
    env = {**os.environ, "GROKCORE_DEVICE": state.selection.device}
    rc = subprocess.run(cmd, cwd=state.root, env=env).returncode
    with locked(state):
        fresh = load(state.path)
        fresh.judged = {
            "rc": rc,
            "report": state.report,
            "host": socket.gethostname(),
            "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        save(fresh)
    out(f"grokcore: judged (pytest exit {rc}): {state.report}")
    return rc


def finish(where: str) -> int | str:
    """The dependent job: resubmit each failed shard once, or, when every shard is over, judge."""
    state = load(where)
    enter_root(state.root)
    print(table(state, statuses(state)), flush=True)
    if step(state, print, judge_job=True):
        return "resubmitted"
    return judge(state, print)
