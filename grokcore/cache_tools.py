"""Moving run caches between machines: export to one archive, import, merge two caches.

A paper tier can take longer than one GPU session, so its cache has to travel: export it on
the GPU runner (`grokcore cache export`), bring the archive back, and import or merge it into
the next runner's cache. Every entry is checked on the way in (it must load as a history);
an entry the destination already holds is kept as it is, and reported when the two differ
(the same config trained on different devices can round differently). Nothing in the
destination is ever overwritten or deleted.
"""

from __future__ import annotations

import re
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from grokcore.cache import RunCache
from grokcore.history import History

_ENTRY = re.compile(r"^[0-9a-f]{24}\.npz$")


@dataclass
class MergeReport:
    """What a merge did, entry by entry."""

    added: list[str] = field(default_factory=list)
    identical: list[str] = field(default_factory=list)  # already there, byte for byte
    kept: list[str] = field(default_factory=list)  # already there with other bytes: kept
    damaged: list[str] = field(default_factory=list)  # unreadable in the source: skipped

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.identical)} already present, "
            f"{len(self.kept)} present with other results (destination kept), "
            f"{len(self.damaged)} damaged in the source (skipped)"
        )


def entries(root: Path) -> list[Path]:
    """The run entries under a cache directory (`<key[:2]>/<key>.npz`)."""
    return sorted(p for p in root.glob("*/*.npz") if _ENTRY.match(p.name))


def merge(source: str | Path, dest: RunCache) -> MergeReport:
    """Copy into `dest` every entry of the cache at `source` that it lacks."""
    src = Path(source)
    if not src.is_dir():
        raise FileNotFoundError(f"no run cache at {src}")
    report = MergeReport()
    for path in entries(src):
        key = path.stem
        data = path.read_bytes()
        try:
            history = History.from_bytes(data)
        except ValueError:
            report.damaged.append(key)
            continue
        target = dest.path(key)
        if target.exists():
            same = target.read_bytes() == data
            (report.identical if same else report.kept).append(key)
            continue
        with dest.lock(key):
            if not target.exists():  # another process may have stored it meanwhile
                dest.store(key, history)
                report.added.append(key)
            else:
                report.identical.append(key)
    return report


def export(cache: RunCache, archive: str | Path) -> int:
    """Write every entry of `cache` into one .tar.gz; returns how many."""
    paths = entries(cache.root)
    with tarfile.open(archive, "w:gz") as tar:
        for p in paths:
            tar.add(p, arcname=str(p.relative_to(cache.root)))
    return len(paths)


def import_archive(archive: str | Path, dest: RunCache) -> MergeReport:
    """Merge the entries of an exported archive into `dest` (see `merge`)."""
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(archive, "r:gz") as tar:
        members = [m for m in tar.getmembers() if m.isfile() and _ENTRY.match(Path(m.name).name)]
        tar.extractall(tmp, members=members, filter="data")  # no links, no paths outside tmp
        return merge(tmp, dest)
