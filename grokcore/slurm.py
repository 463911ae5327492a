"""Train a plan on SLURM (or in N local processes) through submitit, then judge it.

    grokcore submit -k OG- --scale full --shards 8 --gpus-per-task 1 \\
        --run-cache /shared/cache --log-dir /shared/logs/og
    grokcore status /shared/logs/og

The plan's shards (`grokcore.plan`: whole ensembles balanced by cost, the same cut in every
process) are the tasks of one submitit job array (`map_array`). Each task rebuilds the plan
from the selection and trains its shard into the shared cache. A dependent job (afterany on
the array) then looks at the shards: one that failed, was cancelled or lost its node and
still lacks runs is resubmitted once, with the tail of its log; otherwise it runs the judging,
`pytest claims/ --train-limit 0`, which writes the report from the cache. With --wait (and
always with the local executor) the submitting process does that instead.

The cache is the state. A shard trains only the runs the cache lacks, the per-key locks of
`grokcore.cache` keep two processes from training one run, and submitting again trains only
what is missing. A small state file under the log dir (`STATE_FILE`: the selection, the job
ids, the shard count) is what `grokcore status` and `--resume` read.

Job states come from scontrol and submitit's result files, never from submitit's own state
calls: those ask sacct, and a cluster without accounting (CI's one-node SLURM) has none.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pickle
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock

from grokcore.cache import RunCache
from grokcore.device import parse_device
from grokcore.plan import Plan, build_plan, train
from grokcore.plan import estimated_seconds as plan_seconds
from grokcore.runs import duration
from grokcore.spec import Scope, load_registry

STATE_FILE = "grokcore-submit.json"
ATTEMPTS = 2  # a shard's first try and its one automatic resubmission
JUDGE_MINUTES = 60  # the judging job's time limit: it reads the cache and draws the figures
POLL_S = 5.0  # --wait: how often the submitting process looks at the shards
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
Out = Callable[[str], None]


@dataclass(frozen=True)
class Selection:
    """Which claims, in which scope: the same selection gives the same plan and shards."""

    keyword: str | None = None
    scale: str = "quick"
    seeds: int | None = None
    base_seed: int = 0
    data_dir: str | None = None
    device: str = "cpu"  # what the plan is made for, the shards train on and the judging uses

    def plan(self) -> Plan:
        specs = load_registry().select(self.keyword)
        if not specs:
            raise ValueError(f"-k {self.keyword!r} selects no claim")
        device = torch.device(self.device)  # a plan for GPU nodes can be made where none is
        scope = Scope(self.scale, self.seeds, self.base_seed, self.data_dir, device)  # type: ignore[arg-type]
        return build_plan(specs, scope)

    def args(self) -> list[str]:
        """The selection as pytest's (and grokcore plan's) options."""
        out = ["-k", self.keyword] if self.keyword else []
        out += ["--scale", self.scale, "--base-seed", str(self.base_seed)]
        out += ["--seeds", str(self.seeds)] if self.seeds is not None else []
        return out + (["--data-dir", self.data_dir] if self.data_dir else [])


@dataclass(frozen=True)
class Resources:
    """What each task asks the scheduler for."""

    executor: str = "slurm"  # or "local": submitit's LocalExecutor, N processes here
    partition: str | None = None
    gpus_per_task: int = 0
    cpus_per_task: int = 1
    time_margin: float = 3.0  # time limit = the shard's estimate x margin ...
    min_minutes: int = 10  # ... and never less than this
    account: str | None = None
    qos: str | None = None
    sbatch_args: dict[str, str] = field(default_factory=dict)
    max_parallel: int | None = None

    def __post_init__(self) -> None:
        if self.executor not in ("slurm", "local"):
            raise ValueError(f"--executor {self.executor!r}: 'slurm' or 'local'")
        if self.time_margin < 1 or self.min_minutes < 1 or self.cpus_per_task < 1:
            raise ValueError("--time-margin must be >= 1, --min-time and --cpus-per-task >= 1")


@dataclass
class State:
    """One submission, as the state file holds it."""

    root: str
    selection: Selection
    shards: int
    run_cache: str
    log_dir: str
    report: str
    resources: Resources
    round: int = 0  # each submit (or --resume) is a round; attempts count within it
    attempts: dict[str, list[str]] = field(default_factory=dict)  # shard "i" -> job ids
    judges: list[str] = field(default_factory=list)  # the dependent judging jobs, in order
    judged: dict[str, Any] | None = None  # the judging's outcome: rc, report, when, where
    events: list[str] = field(default_factory=list)  # resubmissions, with their reasons

    @property
    def path(self) -> Path:
        return Path(self.log_dir) / STATE_FILE

    @property
    def folder(self) -> Path:
        return Path(self.log_dir) / "jobs"

    def same_submission(self, other: State) -> bool:
        keep = ("selection", "shards", "run_cache")
        return all(getattr(self, k) == getattr(other, k) for k in keep)


def state_path(where: str | Path) -> Path:
    """The state file of a log dir, or the file itself."""
    p = Path(where)
    return p / STATE_FILE if p.is_dir() else p


def load(where: str | Path) -> State:
    p = state_path(where)
    try:
        d = json.loads(p.read_text())
    except FileNotFoundError:
        raise ValueError(f"{p}: no grokcore submission here (no {STATE_FILE})") from None
    d["selection"] = Selection(**d["selection"])
    d["resources"] = Resources(**d["resources"])
    return State(**d)


def save(state: State) -> None:
    """Write atomically: `grokcore status` never reads half a file."""
    state.path.parent.mkdir(parents=True, exist_ok=True)
    tmp = state.path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(dataclasses.asdict(state), indent=1) + "\n")
    os.replace(tmp, state.path)


def _locked(state: State) -> FileLock:
    """The state file's lock: the judging job and a user's submit may both update it."""
    return FileLock(str(state.path) + ".lock")


# -- the job functions ------------------------------------------------------------------
@dataclass(frozen=True)
class ShardTask:
    """One shard of a plan, trained into the shared cache: what a job array task runs."""

    root: str
    selection: Selection
    i: int
    n: int
    run_cache: str
    threads: int = 1

    def __call__(self) -> dict[str, Any]:
        _enter(self.root)
        device = parse_device(self.selection.device, "the submission's device")
        if device.type == "cpu":
            torch.set_num_threads(self.threads)  # the CPUs SLURM gave this task, not the node's
        chunks = self.selection.plan().shard(self.i, self.n)
        cache = RunCache(self.run_cache)
        host = socket.gethostname()
        print(
            f"[grokcore] shard {self.i}/{self.n} on {host} ({device}, {torch.get_num_threads()} "
            f"threads) into {cache.root}",
            flush=True,
        )
        done = train(chunks, cache, device, label=f"shard {self.i}/{self.n}", stream=sys.stdout)
        missing = sum(c.key() not in cache for ch in chunks for c in ch)
        return {
            "shard": self.i,
            "of": self.n,
            "trained": done.runs,
            "seconds": done.seconds,
            "missing": missing,
            "host": host,
        }


class ShardRunner:
    """The function of the job array: runs a ShardTask. On a time-out or preemption submitit
    calls `checkpoint` and requeues the same task, which goes on from the cache."""

    def __call__(self, task: ShardTask) -> dict[str, Any]:
        return task()

    def checkpoint(self, task: ShardTask) -> Any:
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self, task)


def finish(where: str) -> int | str:
    """The dependent job: resubmit each failed shard once, or, when every shard is over, judge."""
    state = load(where)
    _enter(state.root)
    print(table(state, statuses(state)), flush=True)
    if step(state, print, judge_job=True):
        return "resubmitted"
    return judge(state, print)


def _enter(root: str) -> None:
    """In a job: work in the repository root (the judging's pytest, relative paths)."""
    os.chdir(root)
    _importable(root)


def _importable(root: str) -> None:
    """`claims` is imported from the repository root, wherever this process runs."""
    if root not in sys.path:
        sys.path.insert(0, root)


# -- job states -------------------------------------------------------------------------
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
    _importable(state.root)
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


# -- submitting -------------------------------------------------------------------------
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
    _importable(new.root)
    plan = new.selection.plan()
    lock = _locked(new)
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
    with _locked(state):
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
    with _locked(state):
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


# -- the command line (grokcore submit, grokcore status) --------------------------------
def add_parsers(sub: Any, selection: Callable[[Any], None]) -> None:
    """`grokcore submit` and `grokcore status`; `selection` adds -k, --scale, --seeds, ..."""
    s = sub.add_parser(
        "submit",
        help="train the selected claims' plan as a SLURM job array, then judge it",
        description="Split the plan into --shards shards balanced by estimated time, train each "
        "as one task of a submitit job array into the shared --run-cache, then judge every claim "
        "from it (a dependent job, or here with --wait) and write the report. Submitting again "
        "trains only what the cache lacks.",
    )
    selection(s)
    s.add_argument("--shards", type=int, default=None, help="number of shards (array tasks)")
    s.add_argument(
        "--log-dir",
        type=Path,
        default=None,
        help="submitit's logs and the state file: on the shared filesystem",
    )
    s.add_argument(
        "--resume",
        type=Path,
        default=None,
        metavar="STATE",
        help="submit again what a submission's state file (or log dir) describes",
    )
    s.add_argument(
        "--executor",
        choices=["slurm", "local"],
        default="slurm",
        help="local: one process per shard here (per GPU with --gpus-per-task)",
    )
    s.add_argument("--partition", default=None)
    s.add_argument("--gpus-per-task", type=int, default=0)
    s.add_argument("--cpus-per-task", type=int, default=1)
    s.add_argument(
        "--time-margin",
        type=float,
        default=3.0,
        help="time limit = the shard's estimated time x this (default 3)",
    )
    s.add_argument("--min-time", type=int, default=10, help="least time limit, minutes")
    s.add_argument("--account", default=None)
    s.add_argument("--qos", default=None)
    s.add_argument(
        "--sbatch-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an extra sbatch option, e.g. constraint=a100 (repeatable)",
    )
    s.add_argument("--max-parallel", type=int, default=None, help="array tasks at once")
    s.add_argument(
        "--report",
        type=Path,
        default=None,
        help="the HTML report (default: LOG_DIR/report/index.html)",
    )
    s.add_argument(
        "--wait",
        action="store_true",
        help="wait here for the shards, resubmit a failed one once, then judge",
    )
    t = sub.add_parser("status", help="the shards of a submission: state, job, runs cached")
    t.add_argument("where", type=Path, metavar="STATE_OR_LOG_DIR")
    t.add_argument("--json", action="store_true", help="print JSON instead of the table")


def command(a: Any) -> int:
    if a.command == "status":
        state = load(a.where)
        rows = statuses(state)
        if a.json:
            print(
                json.dumps(
                    {
                        "shards": [dataclasses.asdict(r) for r in rows],
                        "judged": state.judged,
                        "judges": state.judges,
                    },
                    indent=1,
                )
            )
        else:
            print(table(state, rows))
        return 0
    if a.resume is not None:
        state = load(a.resume)
    else:
        state = _from_args(a)
    state = submit(state, wait=a.wait)
    if state.judged is not None:
        return int(state.judged["rc"] != 0)
    return 0


def _from_args(a: Any) -> State:
    if a.shards is None or a.shards < 1:
        raise ValueError("--shards N (N >= 1) is needed, or --resume STATE")
    if a.run_cache is None or a.log_dir is None:
        raise ValueError(
            "--run-cache and --log-dir are needed: both on the filesystem the nodes share"
        )
    root = Path.cwd().resolve()
    if not (root / "claims").is_dir():
        raise ValueError(f"{root} has no claims/: run grokcore submit from the repository root")
    extra = {}
    for kv in a.sbatch_arg:
        key, eq, value = kv.partition("=")
        if not eq or not key:
            raise ValueError(f"--sbatch-arg {kv!r}: expected KEY=VALUE")
        extra[key.lstrip("-")] = value
    device = a.device or ("cuda" if a.gpus_per_task else "cpu")
    log_dir = a.log_dir.resolve()
    report = (a.report or log_dir / "report" / "index.html").resolve()
    resources = Resources(
        a.executor,
        a.partition,
        a.gpus_per_task,
        a.cpus_per_task,
        a.time_margin,
        a.min_time,
        a.account,
        a.qos,
        extra,
        a.max_parallel,
    )
    selection = Selection(a.keyword, a.scale, a.seeds, a.base_seed, a.data_dir, device)
    RunCache(a.run_cache)  # made now, and its writability checked, before anything is queued
    return State(
        str(root),
        selection,
        a.shards,
        str(a.run_cache.resolve()),
        str(log_dir),
        str(report),
        resources,
    )


__all__ = [
    "STATE_FILE",
    "Resources",
    "Selection",
    "ShardTask",
    "State",
    "finish",
    "judge",
    "load",
    "statuses",
    "submit",
    "table",
    "wait_and_judge",
]
