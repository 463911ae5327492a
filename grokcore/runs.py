"""`run(configs)`: histories for many run configs, from the cache or trained as batched ensembles.

This is the one entry point claims use. Configs are deduplicated by key, cached
entries are read, and the rest are grouped by `ensemble_key` and trained K at a
time. Under pytest-xdist, a key being trained by another worker is waited for,
not trained twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from grokcore.cache import RunCache
from grokcore.config import RunConfig
from grokcore.device import default_device
from grokcore.history import History
from grokcore.train.engine import Ensemble, ProgressPrinter


@dataclass
class RunStats:
    """Counts for the report header: runs trained here vs read from the cache."""

    trained: int = 0
    cached: int = 0


STATS = RunStats()


def _label(cfg: RunConfig) -> str:
    return f"{type(cfg.task).__name__}/{type(cfg.model).__name__}/{cfg.steps} steps"


def _train(
    configs: list[RunConfig], device: torch.device, max_members: int, progress: bool
) -> dict[str, History]:
    out: dict[str, History] = {}
    groups: dict[tuple, list[RunConfig]] = defaultdict(list)
    for c in configs:
        groups[c.ensemble_key()].append(c)
    for members in groups.values():
        for a in range(0, len(members), max_members):
            chunk = members[a : a + max_members]
            printer = ProgressPrinter(_label(chunk[0]), len(chunk)) if progress else None
            for c, h in zip(chunk, Ensemble(chunk, device).train(printer), strict=True):
                out[c.key()] = h
    return out


def run(
    configs: Sequence[RunConfig],
    cache: RunCache | None = None,
    *,
    device: torch.device | str | None = None,
    max_members: int = 64,
    progress: bool = True,
    use_cache: bool = True,
) -> list[History]:
    """Histories of `configs`, in order. Trains only what the cache lacks."""
    device = torch.device(device) if device is not None else default_device()
    if use_cache and cache is None:
        cache = RunCache()
    by_key = {c.key(): c for c in configs}
    found: dict[str, History] = {}
    if not use_cache:
        found = _train(list(by_key.values()), device, max_members, progress)
        STATS.trained += len(found)
        return [found[c.key()] for c in configs]
    assert cache is not None
    for key in by_key:
        h = cache.load(key)
        if h is not None:
            found[key] = h
    STATS.cached += len(found)
    missing = [k for k in by_key if k not in found]
    # Lock what we can and train it; keys locked by another worker are waited for afterwards.
    mine, theirs, locks = [], [], []
    for key in missing:
        lock = cache.try_lock(key)
        if lock is None:
            theirs.append(key)
            continue
        h = cache.load(key)  # finished by another worker between our look and our lock
        if h is not None:
            lock.release()
            found[key] = h
            STATS.cached += 1
        else:
            mine.append(key)
            locks.append(lock)
    try:
        trained = _train([by_key[k] for k in mine], device, max_members, progress)
        for key, h in trained.items():
            cache.store(key, h)
            found[key] = h
        STATS.trained += len(trained)
    finally:
        for lock in locks:
            lock.release()
    for key in theirs:
        with cache.lock(key):
            h = cache.load(key)
        if h is None:  # the other worker died before writing it: train it ourselves
            h = run([by_key[key]], cache, device=device, progress=progress)[0]
        else:
            STATS.cached += 1
        found[key] = h
    return [found[c.key()] for c in configs]
