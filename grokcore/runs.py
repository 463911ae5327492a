"""`run(configs)`: histories for many run configs, from the cache or trained as batched ensembles.

This is the one entry point claims use. Configs are deduplicated by key, cached
entries are read (and checked to hold the key's own config), and the rest are
grouped by `ensemble_key` and trained K at a time. Each chunk is stored as soon as
it finishes, so an interrupt or a crash loses at most the chunk in training; a
chunk that cannot be stored is still returned. Under pytest-xdist, a key being
trained by another worker is waited for, not trained twice. Before anything
trains, the memory a chunk needs is estimated (`grokcore.cost`), and a sweep that cannot
fit is refused with the numbers (or trained in smaller chunks, where fewer members fit).

Continued runs (`config.Continuation`) train in waves: a child starts from its parent's
final weights (and optimizer state, where it is carried), so the parents of the children
that the cache lacks are read from it or trained first, with the weights kept, then the
children (`with_parents`, `waves`). A child that is cached needs nothing of its parent.
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from filelock import FileLock

from grokcore import cost, stopping
from grokcore import progress as grokcore_progress
from grokcore.cache import CacheWriteWarning, RunCache
from grokcore.config import RunConfig
from grokcore.cost import RunTooLarge, _label, footprint, gib
from grokcore.device import available_memory, default_device, parse_device
from grokcore.estimate import estimate
from grokcore.history import History
from grokcore.train.engine import Ensemble

__all__ = ["RunStats", "RunTooLarge", "footprint", "plan", "run", "waves", "with_parents"]

plan = cost.chunks  # its old name here, for callers that still use it


@dataclass
class RunStats:
    """Counts for the report header and the CLI: runs trained here vs read from the cache.

    stored / unstored: trained runs written to the cache, or kept in memory only (no
    cache, a read-only cache, or a failed write). training: runs in the chunk that is
    training now (what an interrupt would lose).
    """

    trained: int = 0
    cached: int = 0
    stored: int = 0
    unstored: int = 0
    training: int = 0



class EtaPrinter:
    """One status line (step, median train/test accuracy, speed, time left) every `every` s."""

    def __init__(self, label: str, k: int, every: float = 5.0, stream=None):
        self.label, self.k, self.every = label, k, every
        self.stream = stream or sys.stderr
        self.t0 = self.last = time.perf_counter()

    def __call__(self, step: int, steps: int, rec: dict[str, np.ndarray]) -> None:
        now = time.perf_counter()
        if now - self.last < self.every and step < steps:
            return
        self.last = now
        elapsed = max(now - self.t0, 1e-9)
        left = "done" if step >= steps else f"ETA {duration(elapsed * (steps - step) / step)}"
        grokcore_progress.publish(
            runs=self.k, step=step, total=steps, rate=step * self.k / elapsed, left=left
        )
        print(
            f"[grokcore] {self.label} K={self.k} step {step}/{steps} "
            f"train_acc {np.nanmedian(rec['train_acc']):.3f} "
            f"test_acc {np.nanmedian(rec['test_acc']):.3f} "
            f"({step * self.k / elapsed:,.0f} model-steps/s, {left})",
            file=self.stream,
            flush=True,
        )


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:,.0f} days"


def estimates(
    chunks: list[list[RunConfig]], device: torch.device, probe: bool = True
) -> list[float] | str:
    """Each chunk's estimated seconds (`grokcore.estimate`), or why there is no estimate."""
    try:
        return [estimate([ch], device, probe) for ch in chunks]
    except Exception as exc:  # an estimate must never be what fails a run
        return f"{type(exc).__name__}: {exc}"


def _announce(chunks: list[list[RunConfig]], device: torch.device, times: list[float] | str):
    need = max(footprint(ch[0]).total(len(ch)) for ch in chunks)
    free = available_memory(device)
    room = f" of {gib(free)} available" if free is not None else ""
    if isinstance(times, str):
        eta = f"; no time estimate ({times})"
    else:
        eta = f"; estimated time {duration(sum(times))} (grokcore.estimate)"
    print(
        f"[grokcore] training {sum(map(len, chunks))} run(s) in {len(chunks)} ensemble(s) on "
        f"{device}: the largest needs at least {gib(need)}{room}{eta}",
        file=sys.stderr,
        flush=True,
    )


def _train(
    chunks: list[list[RunConfig]],
    device: torch.device,
    progress: bool,
    done: Callable[[dict[str, History]], None],
    stats: RunStats,
    parents: Mapping[str, History] | None = None,
) -> None:
    """Train chunk after chunk, handing each chunk's histories to `done` when it finishes.
    parents: histories by key, where continued runs find their parents' (`waves` puts
    every parent in an earlier wave)."""
    stats.training = 0
    times = estimates(chunks, device) if progress and chunks else "not asked"
    if progress and chunks:
        _announce(chunks, device, times)
    for i, chunk in enumerate(chunks):
        printer = EtaPrinter(_label(chunk[0]), len(chunk)) if progress else None
        if progress:
            guess = "" if isinstance(times, str) else duration(times[i])
            grokcore_progress.publish(
                phase="start", runs=len(chunk), total=chunk[0].steps, estimate=guess
            )
        stats.training = len(chunk)
        starts = [
            None if c.start is None else (parents or {}).get(c.start.parent.key()) for c in chunk
        ]
        histories = Ensemble(chunk, device, starts=starts).train(printer)
        stats.training = 0
        stats.trained += len(chunk)
        done({c.key(): h for c, h in zip(chunk, histories, strict=True)})


def _store(cache: RunCache, key: str, history: History, stats: RunStats) -> None:
    try:
        cache.store(key, history)
    except OSError as exc:  # a full disk must not cost the run: the caller still gets it
        stats.unstored += 1
        warnings.warn(
            f"could not store run {key} in the run cache {cache.root} "
            f"({exc.strerror or exc}); its result is used but will be retrained next time",
            CacheWriteWarning,
            stacklevel=4,
        )
    else:
        stats.stored += 1


def unique_by_key(configs: Sequence[RunConfig]) -> dict[str, RunConfig]:
    """One config per key, keeping what any of them asks to keep (parameters, batch losses)
    and training as long as any of them needs (`stopping.merge`: no rule wins)."""
    by_key: dict[str, RunConfig] = {}
    for c in configs:
        key = c.key()  # a hash of the whole config: computed once
        have = by_key.get(key)
        if have is not None:
            c = c.replace(
                keep_params=c.keep_params or have.keep_params,
                keep_batch_loss=c.keep_batch_loss or have.keep_batch_loss,
                keep_optim=c.keep_optim or have.keep_optim,
                keep_zero_loss=c.keep_zero_loss or have.keep_zero_loss,
                stop=stopping.merge(c.stop, have.stop),
            )
        by_key[key] = c
    return by_key


def with_parents(
    by_key: dict[str, RunConfig],
    found: dict[str, History],
    cache: RunCache | None,
    stats: RunStats | None = None,
) -> dict[str, RunConfig]:
    """`by_key` and, for every continued run that `found` lacks, its parent (keeping what the
    child reads of it), and theirs in turn: a child is trained from its parent's final
    weights, so the parent is read from `cache` into `found` or trained first (`waves`). The
    parents of a child that `found` holds are not needed, nor read."""
    while True:
        need = [c.start.parent for k, c in by_key.items() if k not in found and c.start]
        merged = unique_by_key([*by_key.values(), *need])
        changed = {k: c for k, c in merged.items() if by_key.get(k) != c}
        if not changed:
            return by_key
        by_key = merged
        for k, c in changed.items():
            if k in found and not _holds(found[k], c):
                del found[k]  # read or trained without what a child needs of it
        if cache is not None:
            lacking = {k: c for k, c in changed.items() if k not in found}
            found.update(_load(cache, lacking, stats if stats is not None else RunStats()))


def waves(by_key: dict[str, RunConfig]) -> list[dict[str, RunConfig]]:
    """The runs in dependency order: first those that start from an init, then the runs
    continued from them, and so on (a run's wave is the length of its `lineage`)."""
    depth = {k: len(c.lineage()) for k, c in by_key.items()}
    return [{k: c for k, c in by_key.items() if depth[k] == d} for d in sorted(set(depth.values()))]


def _holds(h: History, cfg: RunConfig) -> bool:
    """Whether `h` holds the weights, optimizer state and losses `cfg` asks to keep."""
    lacks_params = cfg.keep_params and h.final_params is None
    lacks_optim = cfg.keep_optim and not h.final_optim
    lacks_losses = cfg.keep_batch_loss and len(h.batch_loss) == 0
    lacks_zeros = cfg.keep_zero_loss and len(h.zero_loss_share) == 0
    return not (lacks_params or lacks_optim or lacks_losses or lacks_zeros)


def serve(h: History, cfg: RunConfig) -> History:
    """What a request for `cfg` gets of the run `h` of its key: the run as `cfg`'s own
    stopping rules would have left it (the first part of `h`, bit for bit), or all of `h`.
    `h` may have trained longer, for another claim or for the whole budget."""
    at = stopping.stop_step(cfg.stop, h.steps, h.train_acc, h.test_acc, h.budget)
    if at is None or at == h.stopped_at:
        return h
    return h.until(at, "; ".join(r.describe() for r in cfg.stop))


def _train_unlocked(
    cache: RunCache,
    by_key: dict[str, RunConfig],
    found: dict[str, History],
    device: torch.device,
    progress: bool,
    stats: RunStats,
    max_members: int = 64,
) -> list[str]:
    """Train (and store into `found`) the runs of `by_key` missing from `found` that no other
    process is training; return the keys another process holds locked."""
    missing = [k for k in by_key if k not in found]
    todo = cost.chunks([by_key[k] for k in missing], device, max_members)  # refuse before locking
    # Lock what we can and train it; keys locked by another worker are waited for afterwards.
    theirs: list[str] = []
    locks: dict[str, FileLock] = {}
    for key in missing:
        lock = cache.try_lock(key)
        if lock is None:
            theirs.append(key)
            continue
        h = load_cached(cache, key, by_key[key])  # finished by another worker meanwhile
        if h is not None:
            lock.release()
            found[key] = h
            stats.cached += 1
        else:
            locks[key] = lock

    def store(histories: dict[str, History]) -> None:
        for key, h in histories.items():
            _store(cache, key, h, stats)
            found[key] = h
            if key in locks:
                locks.pop(key).release()  # a waiting worker can read it now

    mine = [[c for c in chunk if c.key() in locks] for chunk in todo]
    try:
        _train([chunk for chunk in mine if chunk], device, progress, store, stats, found)
    finally:
        for lock in locks.values():
            lock.release()
    return theirs


def warm(
    configs: Sequence[RunConfig],
    cache: RunCache,
    *,
    device: torch.device | str | None = None,
    progress: bool = True,
    stats: RunStats | None = None,
) -> int:
    """Train into `cache`, as few batched ensembles as they allow, the runs of `configs` that
    it lacks and that no other process is training (those are left to it, not waited for).
    Returns how many runs it trained. For runs that several claims will ask for one by one,
    e.g. the LS-MNIST rows that share an ensemble key: one program instead of one per row."""
    device = parse_device(device) if device is not None else default_device()
    if not cache.writable:
        return 0
    stats = stats if stats is not None else RunStats()
    by_key = unique_by_key(configs)
    found = _load(cache, by_key, stats)
    by_key = with_parents(by_key, found, cache, stats)
    before = stats.trained
    for wave in waves(by_key):
        # a child whose parent another process is training is left, as that parent is
        ready = {k: c for k, c in wave.items() if c.start is None or c.start.parent.key() in found}
        _train_unlocked(cache, ready, found, device, progress, stats)
    return stats.trained - before


def run(
    configs: Sequence[RunConfig],
    cache: RunCache | None = None,
    *,
    device: torch.device | str | None = None,
    max_members: int = 64,
    progress: bool = True,
    use_cache: bool = True,
    lock_timeout: float | None = None,
    stats: RunStats | None = None,
) -> list[History]:
    """Histories of `configs`, in order. Trains only what the cache lacks.

    lock_timeout: seconds to wait for a run that another process is training (None:
    as long as it takes; the wait is reported on stderr). Raises `LockTimeout` after it.
    stats: counts what this call trained, read and stored (`RunStats`), added to as it goes.
    """
    stats = stats if stats is not None else RunStats()
    device = parse_device(device) if device is not None else default_device()
    if use_cache and cache is None:
        cache = RunCache()
    by_key = unique_by_key(configs)
    found: dict[str, History] = {}
    if cache is not None:  # (read-only, or use_cache=False: read what is there)
        found.update(_load(cache, by_key, stats))
    # continued runs: their parents first, wave by wave (`with_parents`, `waves`)
    by_key = with_parents(by_key, found, cache, stats)
    for wave in waves(by_key):
        _run_wave(
            cache, wave, found, device, max_members, progress, use_cache, lock_timeout, stats
        )
    return [serve(found[c.key()], c) for c in configs]


def _run_wave(
    cache: RunCache | None,
    by_key: dict[str, RunConfig],
    found: dict[str, History],
    device: torch.device,
    max_members: int,
    progress: bool,
    use_cache: bool,
    lock_timeout: float | None,
    stats: RunStats,
) -> None:
    """Train into `found` the runs of `by_key` it lacks (their parents are in it already)."""

    def keep(histories: dict[str, History]) -> None:
        found.update(histories)
        if cache is None or not cache.writable:
            stats.unstored += len(histories)

    if not use_cache or cache is None or not cache.writable:  # train the rest unstored
        todo = [c for k, c in by_key.items() if k not in found]
        _train(cost.chunks(todo, device, max_members), device, progress, keep, stats, found)
        return

    theirs = _train_unlocked(cache, by_key, found, device, progress, stats, max_members)

    def store(histories: dict[str, History]) -> None:
        for key, h in histories.items():
            _store(cache, key, h, stats)
            found[key] = h

    for key in theirs:
        lock = cache.wait(key, timeout=lock_timeout)
        try:
            h = load_cached(cache, key, by_key[key])
            if h is None:  # the other worker died before writing it: train it ourselves
                _train([[by_key[key]]], device, progress, store, stats, found)
            else:
                stats.cached += 1
                found[key] = h
        finally:
            lock.release()


def _load(cache: RunCache, by_key: dict[str, RunConfig], stats: RunStats) -> dict[str, History]:
    out = {}
    for key, cfg in by_key.items():
        h = load_cached(cache, key, cfg)
        if h is not None:
            out[key] = h
    stats.cached += len(out)
    return out


def load_cached(cache: RunCache, key: str, cfg: RunConfig) -> History | None:
    """The cached run of `cfg`, or None: also when `cfg` keeps parameters or batch losses and
    the entry has none (it was trained without them; retraining stores them), and when the
    entry was stopped early (`History.stopped_at`) before `cfg`'s own stopping rules would
    have stopped it, or `cfg` has none: then it is trained again, and the longer run
    replaces the entry."""
    h = cache.load(key, expect=cfg)
    if h is None:
        return None
    return None if not _holds(h, cfg) or not serves(h, cfg) else h


def serves(h: History, cfg: RunConfig) -> bool:
    """Whether the stored run `h` holds all that a request for `cfg` reads: a run trained to
    its budget holds it for every request; one stopped at step s, for a request whose rules
    stop it at or before s (the rules read only the evaluations up to their stop)."""
    if h.stopped_at is None:
        return True
    at = stopping.stop_step(cfg.stop, h.steps, h.train_acc, h.test_acc, h.budget)
    return at is not None and at <= h.stopped_at
