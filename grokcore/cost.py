"""What a run costs before it trains: its data's shape, its parameter count, the memory its
ensemble holds, and the chunks a sweep trains in.

Nothing here builds data or allocates a model (the model is built on the meta device), so
`grokcore.runs` can refuse a sweep that cannot fit before anything trains, and
`grokcore.estimate` and `grokcore.plan` can price one that will. It sits below all three.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from grokcore.config import (
    ImdbTask,
    MnistTask,
    ModularTask,
    PairSumTask,
    Qm9Task,
    RunConfig,
    TeacherStudentTask,
    Transformer,
)
from grokcore.device import available_memory

__all__ = ["Footprint", "RunTooLarge", "chunks", "data_shape", "footprint", "gib", "n_params"]


class RunTooLarge(MemoryError):
    """A run needs more memory than the device has available; nothing was trained."""


def gib(n: float) -> str:
    """A byte count for people: GiB from 128 MiB up, else MiB."""
    return f"{n / 2**30:,.1f} GiB" if n >= 2**27 else f"{n / 2**20:,.1f} MiB"


def _label(cfg: RunConfig) -> str:
    return f"{type(cfg.task).__name__}/{type(cfg.model).__name__}/{cfg.steps} steps"


@dataclass(frozen=True)
class Footprint:
    """A lower bound on the bytes an ensemble chunk holds: shared by all members, and each."""

    shared: int
    parts: dict[str, int] = field(default_factory=dict)  # per member, by what holds them

    @property
    def per_member(self) -> int:
        return max(sum(self.parts.values()), 1)

    def total(self, k: int) -> int:
        return self.shared + k * self.per_member

    def describe(self) -> str:
        return ", ".join(f"{name} {gib(n)}" for name, n in self.parts.items() if n >= 2**20)


def data_shape(cfg: RunConfig) -> tuple[int, int, int, int, int]:
    """(n_in, n_out, train samples, test samples, bytes per sample), without building data.
    A continued run's train samples are its D' (`Continuation.subset`)."""
    n_in, n_out, n_train, n_test, row = _task_shape(cfg)
    if cfg.start is not None and cfg.start.subset is not None:
        n_train = min(n_train, cfg.start.subset)
    return n_in, n_out, n_train, n_test, row


def _task_shape(cfg: RunConfig) -> tuple[int, int, int, int, int]:
    t = cfg.task
    if isinstance(t, ModularTask):
        n_train, n_test = t.split_sizes
        power = isinstance(cfg.model, Transformer) and cfg.model.tokens == "power"
        return t.p, t.p, n_train, n_test, 64 if power else 24  # int64 tokens and labels
    if isinstance(t, TeacherStudentTask):
        return t.d_in, t.d_out, t.n_train, t.n_test, 8 * (t.d_in + t.d_out)
    if isinstance(t, PairSumTask):  # int64 pairs and sums
        return t.p, t.n_out, t.n_train, t.n_pairs - t.n_train, 24 + 8 * t.targets
    if isinstance(t, ImdbTask):  # int64 tokens and label
        return t.vocab + 1, 1, t.n_train, t.n_test, 8 * (t.seq_len + 1)
    if isinstance(t, Qm9Task):  # packed float32 graphs (grokcore/data/qm9.py) and α
        from grokcore.data.qm9 import BOND_TYPES, MAX_ATOMS, NODE_FEATURES

        row = 4 * (MAX_ATOMS * (NODE_FEATURES + BOND_TYPES * MAX_ATOMS + 1) + 1)
        return NODE_FEATURES, 1, t.n_train, t.n_test, row
    assert isinstance(t, MnistTask)
    return t.n_in, 10, t.n_train, t.n_test or 10_000, 4 * (t.n_in + 1)


def n_params(cfg: RunConfig, n_in: int, n_out: int) -> int:
    """Parameters of one member's model, counted on the meta device (0 if it cannot build)."""
    from grokcore.models import build_model

    try:
        with torch.device("meta"):  # shapes only: nothing is allocated
            return sum(p.numel() for p in build_model(cfg.model, n_in, n_out, 0).parameters())
    except Exception:  # an estimate must never be what fails a run
        return 0


def footprint(cfg: RunConfig) -> Footprint:
    """What one member of `cfg`'s ensemble holds at least (activations beyond logits aside)."""
    item = 8 if getattr(cfg, "dtype", "float32") == "float64" else 4
    n_in, n_out, n_train, n_test, row = data_shape(cfg)
    batch = min(cfg.batch_size or n_train, n_train)
    copies = 3 if cfg.optim.name == "sgd" else 6  # rows, gradient, scratch (+ Adam m, v, denom)
    return Footprint(
        shared=(n_train + n_test) * row,  # the full table or dataset, before the split
        parts={
            "parameters and optimizer state": n_params(cfg, n_in, n_out) * item * copies,
            "per-step losses": cfg.steps * 16,  # on the device, then host copies
            "data split": 2 * (n_train + n_test) * row,  # the member's split, and its batch copy
            "logits and their gradients": 4 * batch * n_out * item,
        },
    )


def chunks(
    configs: Sequence[RunConfig], device: torch.device, max_members: int
) -> list[list[RunConfig]]:
    """The chunks to train: ensemble groups, split so that each chunk fits in memory.

    Raises RunTooLarge when even one member of a group cannot fit.
    """
    groups: dict[tuple, list[RunConfig]] = defaultdict(list)
    for c in configs:
        groups[c.ensemble_key()].append(c)
    free = available_memory(device) if groups else None
    out = []
    for members in groups.values():
        fp = footprint(members[0])
        k = max_members
        if free is not None:
            if fp.total(1) > free:
                raise RunTooLarge(
                    f"{_label(members[0])}: one run needs at least {gib(fp.total(1))} "
                    f"({fp.describe()}), but {device} has {gib(free)} available; "
                    "reduce the modulus, the model, the step budget or the data size"
                )
            k = max(1, min(max_members, int((free - fp.shared) // fp.per_member)))
        for a in range(0, len(members), k):
            out.append(members[a : a + k])
    return out
