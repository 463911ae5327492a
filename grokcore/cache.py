"""The run cache: one compressed history per run config, safe under concurrent pytest-xdist workers.

Entries are keyed by `RunConfig.key()` (which includes the core version). Writes
are atomic (temp file in the same directory, then `os.replace`), so a reader
never sees half an entry; a file lock per key lets one worker train a key while
the others wait for it. A damaged entry is reported, moved aside (never deleted)
and retrained.
"""

from __future__ import annotations

import os
import tempfile
import uuid
import warnings
from pathlib import Path

from filelock import FileLock, Timeout

from grokcore.history import History

ENV_VAR = "GROKCORE_CACHE"


def default_cache_dir() -> Path:
    """$GROKCORE_CACHE, else `.grokcore/cache` under the current directory (git-ignored)."""
    return Path(os.environ.get(ENV_VAR) or Path.cwd() / ".grokcore" / "cache")


class CorruptEntryWarning(UserWarning):
    """A cache entry could not be read; it was moved aside and will be retrained."""


class RunCache:
    """Histories on disk under `root/<key[:2]>/<key>.npz`."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_cache_dir()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def lock(self, key: str) -> FileLock:
        (self.root / "locks").mkdir(exist_ok=True)
        return FileLock(str(self.root / "locks" / f"{key}.lock"))

    def __contains__(self, key: str) -> bool:
        return self.path(key).exists()

    def load(self, key: str) -> History | None:
        """The cached history, or None if absent or damaged (damaged entries are set aside)."""
        path = self.path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return History.from_bytes(data)
        except ValueError as exc:
            # a unique name: a second damaged entry for the key must not overwrite the first
            aside = path.with_name(f"{key}.{uuid.uuid4().hex[:8]}.corrupt")
            try:
                os.replace(path, aside)
            except FileNotFoundError:  # another worker set it aside first
                return None
            warnings.warn(
                f"run cache entry {path} is damaged ({exc}); moved to {aside.name}, retraining",
                CorruptEntryWarning,
                stacklevel=2,
            )
            return None

    def store(self, key: str, history: History) -> Path:
        """Write atomically: readers see the old state or the whole new entry, never a part."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(history.to_bytes())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def try_lock(self, key: str) -> FileLock | None:
        """The key's lock if it is free now, else None (someone else is training it)."""
        lock = self.lock(key)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return None
        return lock
