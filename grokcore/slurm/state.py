"""The submission's state: the selection, the resources, and the job ids, in a small
JSON file under the log dir (`STATE_FILE`) that `grokcore status` and `--resume` read."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock

from grokcore.plan import Plan, build_plan
from grokcore.spec import Scope, load_registry

STATE_FILE = "grokcore-submit.json"


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


def locked(state: State) -> FileLock:
    """The state file's lock: the judging job and a user's submit may both update it."""
    return FileLock(str(state.path) + ".lock")
