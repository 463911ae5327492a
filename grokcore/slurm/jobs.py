"""What a job array task runs: one shard of the plan, trained into the shared cache."""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass
from typing import Any

import torch

from grokcore.cache import RunCache
from grokcore.device import parse_device
from grokcore.plan import train
from grokcore.slurm.state import Selection


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
        enter_root(self.root)
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


def enter_root(root: str) -> None:
    """In a job: work in the repository root (the judging's pytest, relative paths)."""
    os.chdir(root)
    importable(root)


def importable(root: str) -> None:
    """`claims` is imported from the repository root, wherever this process runs."""
    if root not in sys.path:
        sys.path.insert(0, root)
