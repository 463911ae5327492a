"""The run cache: entries round-trip, damaged entries are set aside and retrained, writes are
atomic, and `run()` trains each distinct config once, even across processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grokcore.cache import CorruptEntryWarning, RunCache
from grokcore.config import EmbedMLP, ModularTask, Optimizer, RunConfig
from grokcore.history import CURVES, History
from grokcore.runs import RunStats, run


def tiny(seed: int = 0, steps: int = 20) -> RunConfig:
    return RunConfig(
        task=ModularTask("x+y", 7, 0.5),
        model=EmbedMLP(d_embed=8, width=16, depth=1),
        optim=Optimizer(lr=3e-3, weight_decay=1.0),
        steps=steps,
        eval_points=5,
        seed=seed,
    )


def synthetic(n: int = 6, budget: int = 50, shift: float = 0.0) -> History:
    steps = np.unique(np.round(np.geomspace(1, budget, n)).astype(np.int64))
    steps = np.concatenate([[0], steps[steps > 0]])
    t = len(steps)
    ramp = np.linspace(0.0, 1.0, t)
    return History(
        steps=steps,
        train_loss=2.0 - ramp + shift,
        train_acc=ramp,
        test_loss=2.5 - ramp + shift,
        test_acc=ramp**2,
        norm=10.0 + ramp,
        budget=budget,
        group_norms={"embed": 3.0 + ramp, "mlp": 4.0 - ramp},
        batch_loss=np.linspace(2.0, 0.1, budget, dtype=np.float32) + np.float32(shift),
        config={"seed": 3, "task": {"p": 7, "op": "x+y"}, "betas": [0.9, 0.98]},
    )


def assert_same(a: History, b: History) -> None:
    for name in (*CURVES, "steps", "batch_loss"):
        x, y = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    assert a.group_norms.keys() == b.group_norms.keys()
    for name in a.group_norms:
        np.testing.assert_array_equal(a.group_norms[name], b.group_norms[name], err_msg=name)
    assert a.budget == b.budget
    assert a.config == b.config


@pytest.fixture
def cache(tmp_path: Path) -> RunCache:
    return RunCache(tmp_path / "cache")


def leftovers(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in root.rglob(pattern))


# -- round trip -----------------------------------------------------------------------


def test_store_load_round_trip(cache: RunCache):
    h = synthetic()
    path = cache.store("abcdef0123", h)
    assert path == cache.root / "ab" / "abcdef0123.npz"
    assert "abcdef0123" in cache
    assert "ffff" not in cache
    assert_same(cache.load("abcdef0123"), h)
    assert cache.load("ffff") is None


def test_trained_history_round_trips(cache: RunCache):
    cfg = tiny()
    [h] = run([cfg], cache, device="cpu", progress=False)
    assert h.config == cfg.to_dict()
    assert set(h.group_norms) and len(h.batch_loss) == cfg.steps == h.budget
    assert_same(cache.load(cfg.key()), h)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 30),
    budget=st.integers(30, 400),
    shift=st.floats(-1.0, 1.0, allow_nan=False),
)
def test_bytes_round_trip_property(n: int, budget: int, shift: float):
    h = synthetic(n, budget, shift)
    assert_same(History.from_bytes(h.to_bytes()), h)


# -- damaged entries --------------------------------------------------------------------


def truncated(h: History) -> bytes:
    data = h.to_bytes()
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    "damage",
    [truncated, lambda h: b"this is not an npz archive at all"],
    ids=["truncated", "garbage"],
)
def test_damaged_entry_is_set_aside_with_a_warning(cache: RunCache, damage):
    key = "0a1b2c3d4e5f"
    path = cache.store(key, synthetic())
    bad = damage(synthetic())
    path.write_bytes(bad)
    with pytest.warns(CorruptEntryWarning, match="damaged") as caught:
        assert cache.load(key) is None
    assert str(path) in str(caught[0].message)
    [aside] = set_aside(path)
    assert not path.exists()
    assert aside.read_bytes() == bad  # kept for inspection, not deleted
    assert key not in cache


def set_aside(path: Path) -> list[Path]:
    """The damaged copies RunCache.load moved aside for this entry."""
    return sorted(path.parent.glob(f"{path.stem}.*.corrupt"))


@pytest.mark.parametrize("damage", [truncated, lambda h: b"\x00garbage\xff" * 10])
def test_run_retrains_a_damaged_entry(cache: RunCache, damage):
    cfg = tiny()
    [good] = run([cfg], cache, device="cpu", progress=False)
    path = cache.path(cfg.key())
    path.write_bytes(damage(good))
    stats = RunStats()
    with pytest.warns(CorruptEntryWarning):
        [again] = run([cfg], cache, device="cpu", progress=False, stats=stats)
    assert stats.trained == 1
    assert_same(again, good)  # seeded: the retrained run is the same run
    assert_same(cache.load(cfg.key()), good)
    assert len(set_aside(path)) == 1


def test_second_damaged_entry_does_not_overwrite_the_first(cache: RunCache):
    key = "0a1b2c3d4e5f"
    path = cache.path(key)
    path.parent.mkdir(parents=True)
    payloads = [b"first damaged payload", b"second damaged payload"]
    for bad in payloads:
        path.write_bytes(bad)
        with pytest.warns(CorruptEntryWarning):
            assert cache.load(key) is None
    kept = {p.read_bytes() for p in path.parent.iterdir() if p.is_file()}
    assert set(payloads) <= kept


def test_damaged_entry_already_set_aside_by_another_worker(
    cache: RunCache, monkeypatch: pytest.MonkeyPatch
):
    key = "0a1b2c3d4e5f"
    path = cache.path(key)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage")

    def other_worker_got_there_first(data: bytes) -> History:
        os.replace(path, path.with_suffix(".corrupt"))
        raise ValueError("not a valid grokcore history payload")

    monkeypatch.setattr(History, "from_bytes", staticmethod(other_worker_got_there_first))
    assert cache.load(key) is None  # the other worker set it aside; nothing left to read
    assert path.with_suffix(".corrupt").read_bytes() == b"garbage"


# -- atomic writes ----------------------------------------------------------------------


def test_store_leaves_no_temp_files(cache: RunCache):
    for i in range(3):
        cache.store(f"k{i}", synthetic(shift=i))
    cache.store("k0", synthetic(shift=5.0))  # overwrite
    assert leftovers(cache.root, "*.tmp") == []
    assert_same(cache.load("k0"), synthetic(shift=5.0))


def test_failed_write_keeps_the_previous_entry(cache: RunCache, monkeypatch: pytest.MonkeyPatch):
    old = synthetic()
    cache.store("k0", old)

    def broken(self: History) -> bytes:
        raise RuntimeError("disk full while serializing")

    monkeypatch.setattr(History, "to_bytes", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        cache.store("k0", synthetic(shift=1.0))
    with pytest.raises(RuntimeError, match="disk full"):
        cache.store("new-key", synthetic(shift=1.0))
    monkeypatch.undo()
    assert_same(cache.load("k0"), old)
    assert "new-key" not in cache
    assert leftovers(cache.root, "*.tmp") == []


def test_try_lock_is_exclusive(cache: RunCache):
    held = cache.try_lock("k0")
    assert held is not None and held.is_locked
    assert cache.try_lock("k0") is None  # someone else is training it
    other = cache.try_lock("k1")
    assert other is not None
    held.release()
    other.release()
    again = cache.try_lock("k0")
    assert again is not None
    again.release()


# -- run(): order, deduplication, cache hits ----------------------------------------------


def test_run_keeps_order_dedupes_and_then_reads_the_cache(cache: RunCache):
    a, b, c = tiny(0), tiny(1), tiny(2)
    configs = [b, a, b, c, a]
    stats = RunStats()
    first = run(configs, cache, device="cpu", progress=False, stats=stats)
    assert (stats.trained, stats.cached, stats.stored) == (3, 0, 3)  # duplicates train once
    assert len(first) == len(configs)
    for cfg, h in zip(configs, first, strict=True):
        assert h.config == cfg.to_dict()
    assert_same(first[0], first[2])
    assert_same(first[1], first[4])
    assert not np.array_equal(first[0].batch_loss, first[1].batch_loss)  # seeds differ

    stats = RunStats()
    second = run(configs, cache, device="cpu", progress=False, stats=stats)
    assert (stats.trained, stats.cached) == (0, 3)
    for x, y in zip(first, second, strict=True):
        assert_same(x, y)


def test_run_without_cache_writes_nothing(tmp_path: Path):
    cache_dir = tmp_path / "cache"
    stats = RunStats()
    [h] = run([tiny()], None, device="cpu", progress=False, use_cache=False, stats=stats)
    assert (stats.trained, stats.stored, stats.unstored) == (1, 0, 1)
    assert h.budget == 20
    assert not cache_dir.exists()


# -- two processes, one key --------------------------------------------------------------

WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path

    import torch

    torch.set_num_threads(1)
    import grokcore.runs
    from grokcore.cache import RunCache
    from grokcore.config import EmbedMLP, ModularTask, Optimizer, RunConfig

    root, me, other = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    cfg = RunConfig(
        task=ModularTask("x+y", 7, 0.5),
        model=EmbedMLP(d_embed=8, width=16, depth=1),
        optim=Optimizer(lr=3e-3, weight_decay=1.0),
        steps=600,
        eval_points=5,
    )
    (root / f"ready-{me}").touch()
    deadline = time.time() + 60
    while not (root / f"ready-{other}").exists() and time.time() < deadline:
        time.sleep(0.005)
    stats = grokcore.runs.RunStats()
    [h] = grokcore.runs.run(
        [cfg], RunCache(root / "cache"), device="cpu", progress=False, stats=stats
    )
    (root / f"history-{me}.npz").write_bytes(h.to_bytes())
    print(stats.trained, stats.cached)
    """
)


def test_two_processes_train_a_key_once(tmp_path: Path):
    env = {**os.environ, "GROKCORE_DEVICE": "cpu"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path), me, other],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for me, other in (("a", "b"), ("b", "a"))
    ]
    counts, errors = [], []
    try:
        for p in procs:
            out, err = p.communicate(timeout=180)
            errors.append(err)
            counts.append(tuple(int(x) for x in out.split()) if p.returncode == 0 else None)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert None not in counts, errors
    assert sorted(counts) == [(0, 1), (1, 0)], counts  # one trained, the other read the cache
    ha, hb = (History.from_bytes((tmp_path / f"history-{m}.npz").read_bytes()) for m in "ab")
    assert_same(ha, hb)
    key = tiny(steps=600).key()
    assert_same(RunCache(tmp_path / "cache").load(key), ha)
    assert leftovers(tmp_path / "cache", "*.tmp") == []


# -- keep_batch_loss: a sweep may store only its evaluated curves -----------------------------


def test_keep_batch_loss_leaves_keys_unchanged_and_is_checked():
    cfg = tiny()
    assert cfg.keep_batch_loss and cfg.replace(keep_batch_loss=False).key() == cfg.key()
    assert "keep_batch_loss" not in cfg.to_dict()
    with pytest.raises(ValueError, match="keep_batch_loss"):
        cfg.replace(keep_batch_loss=0)


def test_a_run_without_batch_losses_is_the_same_run_and_stores_smaller(tmp_path):
    full, lean = tiny(steps=600), tiny(steps=600).replace(keep_batch_loss=False)
    (h_full,) = run([full], RunCache(tmp_path / "a"), progress=False)
    cache = RunCache(tmp_path / "b")
    (h_lean,) = run([lean], cache, progress=False)
    assert len(h_full.batch_loss) == 600 and len(h_lean.batch_loss) == 0
    for name in CURVES:
        np.testing.assert_array_equal(getattr(h_lean, name), getattr(h_full, name))
    lean_bytes = cache.path(lean.key()).stat().st_size
    assert lean_bytes < RunCache(tmp_path / "a").path(full.key()).stat().st_size - 600
    # a config that asks for the losses is not served the lean entry: it retrains once and
    # stores them, and from then on the one entry serves both
    (h_again,) = run([full], cache, progress=False)
    np.testing.assert_array_equal(h_again.batch_loss, h_full.batch_loss)
    h1, h2 = run([lean, full], cache, progress=False)
    assert len(h1.batch_loss) == len(h2.batch_loss) == 600


def test_a_lean_run_still_records_where_it_diverged(tmp_path):
    cfg = tiny(steps=30).replace(optim=Optimizer("sgd", lr=1e6), keep_batch_loss=False)
    (h,) = run([cfg], RunCache(tmp_path / "lean"), progress=False)
    (ref,) = run([cfg.replace(keep_batch_loss=True)], RunCache(tmp_path / "full"), progress=False)
    assert ref.diverged_at is not None and h.diverged_at == ref.diverged_at
    assert len(h.batch_loss) == 0


def test_the_li_sakib_sweep_keeps_no_batch_losses():
    from grokcore import setups

    assert not any(c.keep_batch_loss for c in setups.li_sakib_sweep(n=12))
