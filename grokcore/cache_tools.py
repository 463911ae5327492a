"""Moving run caches between machines: export to one archive, import, merge two caches.

A paper tier can take longer than one GPU session, so its cache has to travel: export it on
the GPU runner (`grokcore cache export`), bring the archive back, and import or merge it into
the next runner's cache. Every entry is checked on the way in (it must load as a history);
an entry the destination already holds is kept as it is, and reported when the two differ
(the same config trained on different devices can round differently). Nothing in the
destination is ever overwritten or deleted.

On the way in, each entry must load as a history and hold its key's own run (its stored
config hashes to its key, and its budget is the config's steps). An archive member that
would land outside the cache (`../x`, an absolute path) or is a link is refused by name,
and the rest is imported; an archive that cannot be read at all (corrupt, truncated,
empty) is refused as a whole, before anything is imported (`ArchiveError`). An export is
written to a temporary name beside the archive and renamed at the end, so a full disk
never leaves a truncated archive under the name asked for.
"""

from __future__ import annotations

import gzip
import os
import re
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grokcore.cache import RunCache, _shared_mode, key_of
from grokcore.history import History

_ENTRY = re.compile(r"^[0-9a-f]{24}\.npz$")


@dataclass
class MergeReport:
    """What a merge did, entry by entry."""

    added: list[str] = field(default_factory=list)
    identical: list[str] = field(default_factory=list)  # already there, byte for byte
    kept: list[str] = field(default_factory=list)  # already there with other bytes: kept
    damaged: list[str] = field(default_factory=list)  # unreadable in the source: skipped
    mismatched: list[str] = field(default_factory=list)  # not its key's run: skipped
    refused: list[str] = field(default_factory=list)  # archive members, "name (why)"

    def summary(self) -> str:
        text = (
            f"{len(self.added)} added, {len(self.identical)} already present, "
            f"{len(self.kept)} present with other results (destination kept), "
            f"{len(self.damaged)} damaged in the source (skipped)"
        )
        if self.mismatched:
            text += (
                f", {len(self.mismatched)} not the run of their key (skipped: "
                f"{', '.join(self.mismatched)})"
            )
        if self.refused:
            text += f"; refused {len(self.refused)} archive member(s): {', '.join(self.refused)}"
        return text


class ArchiveError(ValueError):
    """A file that cannot be read as an exported run cache (corrupt, truncated, empty)."""


def entries(root: Path) -> list[Path]:
    """The run entries under a cache directory (`<key[:2]>/<key>.npz`)."""
    return sorted(p for p in root.glob("*/*.npz") if _ENTRY.match(p.name))


def merge(source: str | Path, dest: RunCache, lock_timeout: float | None = None) -> MergeReport:
    """Copy into `dest` every entry of the cache at `source` that it lacks.

    lock_timeout: seconds to wait for a key that another process is training (None: as
    long as it takes; the wait says who holds it). Raises `LockTimeout` after it.
    """
    src = Path(source)
    if not src.is_dir():
        raise FileNotFoundError(f"no run cache at {src}")
    report = MergeReport()
    for path in entries(src):
        _add(path.stem, path.read_bytes(), dest, report, lock_timeout)
    return report


def _add(
    key: str, data: bytes, dest: RunCache, report: MergeReport, lock_timeout: float | None
) -> None:
    """One entry on its way into `dest`: checked, then stored unless `dest` has the key."""
    try:
        history = History.from_bytes(data)
    except ValueError:
        report.damaged.append(key)
        return
    config = history.config if isinstance(history.config, dict) else {}
    if key_of(config) != key or history.budget != config.get("steps"):
        report.mismatched.append(key)  # it would only be set aside and retrained at first use
        return
    target = dest.path(key)
    if not target.exists():
        lock = dest.wait(key, timeout=lock_timeout)  # says who holds it, while it waits
        try:
            if not target.exists():  # another process may have stored it meanwhile
                dest.store(key, history)
                report.added.append(key)
                return
        finally:
            lock.release()
    same = target.read_bytes() == data
    (report.identical if same else report.kept).append(key)


def export(cache: RunCache, archive: str | Path) -> int:
    """Write every entry of `cache` into one .tar.gz; returns how many.

    The archive is written under a temporary name in its directory and renamed when
    complete: a full disk leaves no truncated archive, and an older one stays as it was.
    """
    paths = entries(cache.root)
    target = Path(archive)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            with tarfile.open(fileobj=f, mode="w:gz") as tar:
                for p in paths:
                    tar.add(p, arcname=str(p.relative_to(cache.root)))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _shared_mode())
        os.replace(tmp, target)
    except OSError as exc:
        raise OSError(
            f"cache export: cannot write {target} ({exc.strerror or exc}); nothing was "
            "written under that name"
        ) from exc
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
    return len(paths)


def _unsafe(member: tarfile.TarInfo) -> str:
    """Why an archive member may not be extracted into a cache, or ""."""
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts:
        return "its path leads outside the cache"
    if member.issym() or member.islnk():
        return "a link"
    if not (member.isfile() or member.isdir()):
        return "not a plain file"
    return ""


def import_archive(
    archive: str | Path, dest: RunCache, lock_timeout: float | None = None
) -> MergeReport:
    """Merge the entries of an exported archive into `dest` (see `merge`).

    Members that would land outside the cache, and links, are refused by name (in the
    report); the rest is imported. Raises ArchiveError, having imported nothing, when the
    file is not a readable .tar.gz (corrupt, truncated or empty).
    """
    report = MergeReport()
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()  # reads it to the end: damage shows before any import
            wanted = []
            for m in members:
                if why := _unsafe(m):
                    report.refused.append(f"{m.name} ({why})")
                elif m.isfile() and _ENTRY.match(PurePosixPath(m.name).name):
                    wanted.append(m)
            for m in wanted:
                f = tar.extractfile(m)
                if f is not None:
                    _add(PurePosixPath(m.name).stem, f.read(), dest, report, lock_timeout)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        done = "nothing was imported"
        if report.added:  # the damage was found past the member list (not seen in tests)
            done = f"{len(report.added)} entries were imported before it"
        raise ArchiveError(
            f"cache import {archive}: not a readable .tar.gz export of a run cache "
            f"(corrupt, truncated or empty: {what}); {done}"
        ) from None
    return report
