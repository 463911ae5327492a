"""The run cache: one compressed history per run config, safe under concurrent pytest-xdist workers.

Entries are keyed by `RunConfig.key()` (which includes the core version). Writes
are atomic (temp file in the same directory, then `os.replace`), so a reader
never sees half an entry; a file lock per key lets one worker train a key while
the others wait for it, and the waiters say who holds it. An entry that cannot be
read, or that holds another config's run, is reported, moved aside (never
deleted) and retrained. A cache that cannot be written is still read: misses are
trained and kept in memory only, with a warning.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock, Timeout

from grokcore import progress
from grokcore.config import RunConfig
from grokcore.history import History

ENV_VAR = "GROKCORE_CACHE"


def default_cache_dir(anchor: str | Path | None = None) -> Path:
    """$GROKCORE_CACHE, else `.grokcore/cache` under `anchor` (the pytest rootdir) or the cwd."""
    base = Path(anchor) if anchor is not None else Path.cwd()
    return Path(os.environ.get(ENV_VAR) or base / ".grokcore" / "cache")


def file_in_the_way(root: str | Path) -> Path | None:
    """The file that stops `root` from being a directory (root itself, or a parent: a cache
    at /etc/passwd/x), or None."""
    here = Path(root)
    for path in (here, *here.parents):
        try:
            if path.exists():
                return None if path.is_dir() else path
        except OSError:  # unreadable: mkdir will say so
            return None
    return None


class CorruptEntryWarning(UserWarning):
    """A cache entry could not be read, or belongs to another config; set aside, retrained."""


class CacheWriteWarning(UserWarning):
    """A finished run could not be stored; its history is still returned to the caller."""


class ReadOnlyCacheWarning(UserWarning):
    """The cache directory cannot be written: it is read, and misses are not stored."""


class LockTimeout(TimeoutError):
    """Another process held a run's lock for longer than the caller was willing to wait."""


def _shared_mode() -> int:
    """0644 subject to the umask: mkstemp makes 0600 files that nobody else can read."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def mismatch(history: History, cfg: RunConfig) -> str | None:
    """Why `history` is not the run of `cfg` (its stored config or budget differ), or None."""
    if history.budget != cfg.steps:
        return f"its budget is {history.budget} steps, the config's {cfg.steps}"
    want = cfg.to_dict()
    field = _first_difference(history.config, want, _unhashed(cfg))
    if field is not None:
        return f"its stored config differs in {field}"
    return None


def key_of(stored: dict) -> str | None:
    """The key of the run that a history's stored config (`RunConfig.to_dict()`) describes,
    or None if it describes no run config: an entry's key can be checked without the
    config object (`cache_tools` checks each entry on the way in).

    The stored dict is `RunConfig.key()`'s payload plus the fields outside the key
    (`metadata hash=False`, e.g. MnistTask.data_dir); dropping those gives the payload.
    """
    import dataclasses
    import hashlib

    from grokcore import config as config_module

    def hashed(obj: object) -> object:
        if isinstance(obj, dict):
            cls = getattr(config_module, str(obj.get("__type__")), None)
            fields = dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ()
            skip = {f.name for f in fields if not f.metadata.get("hash", True)}
            return {k: hashed(v) for k, v in obj.items() if k not in skip}
        if isinstance(obj, list):
            return [hashed(v) for v in obj]
        return obj

    if not isinstance(stored, dict) or stored.get("__type__") != "RunConfig":
        return None
    payload = json.dumps(
        {"core": config_module.CORE_VERSION, "run": hashed(stored)},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def _unhashed(cfg: RunConfig) -> set[str]:
    """Names of fields that are not part of the key (e.g. MnistTask.data_dir)."""
    import dataclasses

    out: set[str] = set()
    for obj in (cfg, cfg.task, cfg.model, cfg.optim):
        out |= {f.name for f in dataclasses.fields(obj) if not f.metadata.get("hash", True)}
    return out


def _first_difference(got: object, want: object, skip: set[str], at: str = "config") -> str | None:
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return at
        for k in want.keys() | got.keys():
            if k in skip:
                continue
            if k not in got or k not in want:
                return f"{at}.{k}"
            diff = _first_difference(got[k], want[k], skip, f"{at}.{k}")
            if diff is not None:
                return diff
        return None
    if isinstance(want, list | tuple):
        if not isinstance(got, list | tuple) or len(got) != len(want):
            return at
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            diff = _first_difference(g, w, skip, f"{at}[{i}]")
            if diff is not None:
                return diff
        return None
    same_kind = isinstance(got, bool) == isinstance(want, bool)  # True == 1 in Python
    return None if same_kind and got == want else at


class RunCache:
    """Histories on disk under `root/<key[:2]>/<key>.npz`."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_cache_dir()
        if self.root.exists() and not self.root.is_dir():
            raise NotADirectoryError(f"run cache {self.root} exists and is not a directory")
        if (blocker := file_in_the_way(self.root)) is not None:
            raise NotADirectoryError(
                f"run cache {self.root}: {blocker} is a file, so no directory can be made there"
            )
        self.writable = self._probe()

    def _probe(self) -> bool:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=self.root, prefix=".probe.")
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            warnings.warn(
                f"run cache {self.root} is not writable ({exc.strerror or exc}): its entries are "
                "read, runs it lacks are trained but not stored",
                ReadOnlyCacheWarning,
                stacklevel=3,
            )
            return False
        return True

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def lock(self, key: str) -> FileLock:
        (self.root / "locks").mkdir(exist_ok=True)
        return FileLock(str(self.root / "locks" / f"{key}.lock"))

    def __contains__(self, key: str) -> bool:
        return self.path(key).exists()

    def load(self, key: str, expect: RunConfig | None = None) -> History | None:
        """The cached history, or None if absent or damaged (damaged entries are set aside).

        With `expect`, an entry whose stored config or budget is not `expect`'s counts as
        damaged too: a copied or stale file must never stand in for another run.
        """
        path = self.path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            history = History.from_bytes(data)
        except ValueError as exc:
            self._set_aside(path, key, str(exc))
            return None
        why = mismatch(history, expect) if expect is not None else None
        if why is not None:
            self._set_aside(path, key, f"it is not the run of its key: {why}")
            return None
        return history

    def _set_aside(self, path: Path, key: str, why: str) -> None:
        # a unique name: a second damaged entry for the key must not overwrite the first
        aside = path.with_name(f"{key}.{uuid.uuid4().hex[:8]}.corrupt")
        try:
            os.replace(path, aside)
        except FileNotFoundError:  # another worker set it aside first
            return
        except OSError as exc:  # a read-only cache: leave it, and do not use it
            warnings.warn(
                f"run cache entry {path} is damaged ({why}); it cannot be moved aside "
                f"({exc.strerror or exc}), so it is ignored and the run retrained",
                CorruptEntryWarning,
                stacklevel=3,
            )
            return
        warnings.warn(
            f"run cache entry {path} is damaged ({why}); moved to {aside.name}, retraining",
            CorruptEntryWarning,
            stacklevel=3,
        )

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
            os.chmod(tmp, _shared_mode())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    # -- locks ---------------------------------------------------------------------------
    def _owner_file(self, key: str) -> Path:
        return self.root / "locks" / f"{key}.owner"

    def try_lock(self, key: str) -> FileLock | None:
        """The key's lock if it is free now, else None (someone else is training it)."""
        lock = self.lock(key)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return None
        self._note_owner(key)
        return lock

    def _note_owner(self, key: str) -> None:
        """Leave a note of who holds the key's lock now, for the waiters' messages."""
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        try:
            self._owner_file(key).write_text(json.dumps(owner))
        except OSError:
            pass  # only the waiters' messages lose detail

    def holder(self, key: str) -> str:
        """Who holds the key's lock, in words.

        The holder's note says who took it; on this machine the note is checked against
        the kernel's table of locks (/proc/locks), so a note left by a process that is gone
        never names the wrong one.
        """
        try:
            owner = json.loads(self._owner_file(key).read_text())
            pid, host, since = int(owner["pid"]), str(owner["host"]), float(owner["since"])
        except (OSError, ValueError, KeyError, TypeError):
            pid, host, since = -1, "", 0.0
        here = socket.gethostname()
        if host and host != here:  # another machine's process: the note is all there is
            return f"pid {pid} on {host}, for {time.time() - since:.0f} s"
        actual = _lock_holders(self.root / "locks" / f"{key}.lock")
        note_ok = pid > 0 and (pid in actual or (not actual and _alive(pid)))
        if note_ok:
            text = f"pid {pid} on {host}, for {time.time() - since:.0f} s"
            state = _process_state(pid)
            return text + (f" ({state})" if state else "")
        stale = ""
        if pid > 0:
            gone = "which no longer holds it" if _alive(pid) else "which is gone"
            stale = f"its owner note names pid {pid}, {gone}"
        if not actual:
            return "an unknown process" + (f" ({stale})" if stale else "")
        real = actual[0]
        state = _process_state(real)
        notes = "; ".join(x for x in (state, stale) if x)
        return f"pid {real} on {here}" + (f" ({notes})" if notes else "")

    def wait(
        self,
        key: str,
        timeout: float | None = None,
        notify: Callable[[str], None] | None = None,
        every: float = 30.0,
    ) -> FileLock:
        """Acquire the key's lock, waiting for its holder; say who it is every `every` s.

        Raises LockTimeout after `timeout` seconds (None: wait as long as it takes).
        """
        notify = notify or _to_stderr
        lock = self.lock(key)
        t0 = time.monotonic()
        try:
            lock.acquire(timeout=0)
            self._note_owner(key)
            return lock
        except Timeout:
            pass
        who = self.holder(key)
        notify(f"run {key} is being trained by {who}; waiting for it")
        progress.publish(phase="waiting", key=key, holder=who, waited=0.0)  # pytest -n: shown
        while True:
            waited = time.monotonic() - t0
            left = None if timeout is None else timeout - waited
            if left is not None and left <= 0:
                raise LockTimeout(
                    f"gave up after waiting {waited:.0f} s for run {key}, locked by "
                    f"{self.holder(key)} (lock file {lock.lock_file}); if that process is "
                    "gone or stuck, stop it, or raise the lock timeout"
                )
            try:
                lock.acquire(timeout=every if left is None else min(every, left))
                self._note_owner(key)
                return lock
            except Timeout:
                who = self.holder(key)
                notify(f"still waiting for run {key}: held by {who}")
                progress.publish(phase="waiting", key=key, holder=who, waited=time.monotonic() - t0)


def _alive(pid: int) -> bool:
    """Whether a process `pid` exists on this machine (a zombie counts as gone)."""
    if _process_state(pid) == "that process is gone":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: it exists
        return True
    return True


def _lock_holders(lock_file: Path) -> list[int]:
    """The pids holding a lock on `lock_file`, from the kernel's table (Linux), else []."""
    try:
        st = lock_file.stat()
        table = Path("/proc/locks").read_text()
    except OSError:
        return []
    want = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    pids = []
    for row in table.splitlines():
        fields = row.split()
        # "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234 0 EOF"; "-> ..." rows are waiters
        if len(fields) >= 6 and fields[1] != "->" and fields[5] == want:
            try:
                pids.append(int(fields[4]))
            except ValueError:
                continue
    return [p for p in pids if p > 0]


def _process_state(pid: int) -> str:
    """'gone' or 'stopped' for a process on this machine; '' when it is running normally."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return "that process is gone" if sys.platform.startswith("linux") else ""
    except OSError:
        return ""
    state = stat.rsplit(")", 1)[-1].split()[0]
    if state in ("Z", "X"):  # exited, not yet reaped by its parent
        return "that process is gone"
    return "that process is stopped" if state in ("T", "t") else ""


def _to_stderr(message: str) -> None:
    print(f"[grokcore] {message}", file=sys.stderr, flush=True)
