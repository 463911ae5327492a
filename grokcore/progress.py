"""Live progress of training under pytest-xdist, shown on the controller's terminal.

An xdist worker's stderr never reaches the terminal, so a claim that trains for twenty
minutes would show nothing. Each worker instead publishes its training state (claim,
runs, step/total, rate, time left) to a small JSON file, `<dir>/<worker>.json`, replaced
atomically at most every few seconds; a daemon thread on the controller reads the files
and prints one line per worker whose state changed:

    [grokcore] gw1 OG-INV: 30 runs, step 41,000/100,000 (2,310 model-steps/s, 4 min left)

A claim waiting for a run that another process is training says so the same way
(`RunCache.wait` publishes it): `[grokcore] gw0 OG-LU: waiting for run <key> held by pid
4242 on host, for 30 s`.

`publish` does nothing until `configure` named a directory (the plugin does that on
xdist workers only), so a plain `run(...)` outside pytest writes no files.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Target:
    dir: Path | None = None
    worker: str = ""
    claim: str = ""  # the claim training now (set by ClaimContext.run)


TARGET = Target()


def swap(target: Target) -> Target:
    """Make `target` this process's progress target; return the one it replaces.

    Each pytest session swaps in its own (and back at its end), so a session run inside
    another one (pytester) never writes to the outer session's files."""
    global TARGET
    old, TARGET = TARGET, target
    return old


def configure(directory: Path | str, worker: str) -> None:
    """Publish this process's progress as `<directory>/<worker>.json`."""
    TARGET.dir, TARGET.worker = Path(directory), worker
    TARGET.dir.mkdir(parents=True, exist_ok=True)


def publish(**state: object) -> None:
    """Replace this worker's progress file with `state` (plus claim, worker and time)."""
    if TARGET.dir is None or not TARGET.claim:  # only a claim's training is shown
        return
    payload = {"worker": TARGET.worker, "claim": TARGET.claim, "time": time.time(), **state}
    path = TARGET.dir / f"{TARGET.worker}.json"
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(payload))
        os.replace(tmp, path)
    except OSError:  # progress is a courtesy: never what fails a run
        tmp.unlink(missing_ok=True)


def line(state: dict) -> str:
    """One terminal line for a worker's state."""
    who = f"{state.get('worker', '?')} {state.get('claim') or 'training'}"
    if state.get("phase") == "start":
        return f"[grokcore] {who}: {state.get('runs')} runs × {state.get('total'):,} steps, " + (
            f"estimated {state['estimate']}" if state.get("estimate") else "starting"
        )
    if state.get("phase") == "waiting":  # RunCache.wait: another process trains the run
        waited = state.get("waited")
        since = f", for {waited:.0f} s" if isinstance(waited, int | float) and waited else ""
        return (
            f"[grokcore] {who}: waiting for run {state.get('key')} held by "
            f"{state.get('holder', 'another process')}{since}"
        )
    rate = state.get("rate")
    speed = f"{rate:,.0f} model-steps/s, " if isinstance(rate, int | float) else ""
    return (
        f"[grokcore] {who}: {state.get('runs')} runs, step {state.get('step', 0):,}/"
        f"{state.get('total', 0):,} ({speed}{state.get('left', '?')})"
    )


class Watcher:
    """Controller side: every `every` s, print the progress files that changed."""

    def __init__(self, directory: Path, write: Callable[[str], None], every: float = 15.0):
        self.dir, self.write, self.every = Path(directory), write, every
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="grokcore-progress", daemon=True)

    def start(self) -> Watcher:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._thread.start()
        return self

    def poll(self) -> list[str]:
        """Lines for the files whose state is newer than last time (also usable in tests)."""
        out = []
        for f in sorted(self.dir.glob("*.json")):
            try:
                state = json.loads(f.read_text())
            except (OSError, ValueError):  # being replaced right now: next time
                continue
            stamp = float(state.get("time", 0))
            if stamp > self.seen.get(f.name, 0.0):
                self.seen[f.name] = stamp
                out.append(line(state))
        return out

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            for text in self.poll():
                self.write(text)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        for f in self.dir.glob("*.json"):
            f.unlink(missing_ok=True)
