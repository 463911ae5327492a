"""Run caches travel between machines: export, import and merge keep every finished run and
never overwrite what the destination holds."""

from __future__ import annotations

import tarfile
from dataclasses import replace

import numpy as np

from grokcore import cache_tools
from grokcore.cache import RunCache
from grokcore.cli import main
from grokcore.config import EmbedMLP, ModularTask, RunConfig
from tests.synthetic import synthetic

# entries are checked on the way in (their stored config must hash to their key), so the
# synthetic histories carry the configs of real keys
TASK = ModularTask("x+y", 7, 0.5)
CONFIGS = [RunConfig(TASK, EmbedMLP(), steps=20_000, seed=s) for s in range(3)]
KEYS = [c.key() for c in CONFIGS]
BY_KEY = dict(zip(KEYS, CONFIGS, strict=True))


def entry(key: str, t_test: float, seed: int = 0):
    return replace(synthetic(50, t_test, seed=seed), config=BY_KEY[key].to_dict())


def filled(root, keys=KEYS, t_test=500.0) -> RunCache:
    cache = RunCache(root)
    for i, k in enumerate(keys):
        cache.store(k, entry(k, t_test + i, seed=i))
    return cache


def test_merge_adds_what_is_missing_and_keeps_what_is_there(tmp_path):
    src = filled(tmp_path / "gpu")
    dst = filled(tmp_path / "cpu", keys=KEYS[:1])  # same run, same bytes
    dst.store(KEYS[1], entry(KEYS[1], 9999.0))  # same key, other result: must be kept
    before = dst.path(KEYS[1]).read_bytes()
    report = cache_tools.merge(src.root, dst)
    assert report.added == [KEYS[2]]
    assert report.identical == [KEYS[0]] and report.kept == [KEYS[1]]
    assert dst.path(KEYS[1]).read_bytes() == before
    h = dst.load(KEYS[2])
    assert h is not None and np.array_equal(h.test_acc, src.load(KEYS[2]).test_acc)
    assert "1 added" in report.summary() and "destination kept" in report.summary()


def test_a_damaged_source_entry_is_skipped_not_copied(tmp_path):
    src = filled(tmp_path / "src")
    src.path(KEYS[0]).write_bytes(b"not an npz")
    dst = RunCache(tmp_path / "dst")
    report = cache_tools.merge(src.root, dst)
    assert report.damaged == [KEYS[0]] and KEYS[0] not in dst
    assert sorted(report.added) == sorted(KEYS[1:])


def test_export_then_import_round_trips_every_entry(tmp_path):
    src = filled(tmp_path / "src")
    archive = tmp_path / "runs.tar.gz"
    assert cache_tools.export(src, archive) == len(KEYS)
    dst = RunCache(tmp_path / "dst")
    report = cache_tools.import_archive(archive, dst)
    assert sorted(report.added) == sorted(KEYS)
    for k in KEYS:
        assert dst.path(k).read_bytes() == src.path(k).read_bytes()


def test_import_ignores_anything_but_entries(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    stray = tmp_path / "stray.txt"
    stray.write_text("x")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(stray, arcname="../../outside.txt")
    report = cache_tools.import_archive(archive, RunCache(tmp_path / "dst"))
    assert report.added == [] and not (tmp_path.parent / "outside.txt").exists()


def test_cli_cache_commands(tmp_path, capsys):
    src = filled(tmp_path / "src")
    archive = tmp_path / "runs.tar.gz"
    assert main(["cache", "export", str(archive), "--cache", str(src.root)]) == 0
    assert main(["cache", "import", str(archive), "--cache", str(tmp_path / "a")]) == 0
    assert "3 added" in capsys.readouterr().out
    assert main(["cache", "merge", str(src.root), "--cache", str(tmp_path / "a")]) == 0
    assert "3 already present" in capsys.readouterr().out
    assert main(["cache", "merge", str(tmp_path / "nowhere"), "--cache", str(tmp_path)]) == 1
