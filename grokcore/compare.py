"""Compare two `results.json` files claim by claim, statistic by statistic.

    python -m grokcore.compare OLD/results.json NEW/results.json [--ignore-prose]

Prints every difference: a claim in one file only, a verdict, a reason, each check's and
each control check's value, CI, region and verdict, every per-run number, the settings
and the settings table. Exits 1 when anything differs, 0 when the two judge the same
(timings, paths, node ids and the run counts that say what was cached are not compared:
they differ between any two sessions). For "a change must not move results": the same
runs must give the same numbers, digit for digit, so floats are compared exactly.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

# what differs between any two sessions that judge the same runs
VOLATILE = {
    "duration_s",
    "runs_trained",
    "runs_cached",
    "nodeid",
    "figures",
    "traceback",
    "expectation",
}
PROSE = {"title", "statement", "control_summary", "deviations", "reason", "section"}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def diff(a: Any, b: Any, at: str = "") -> list[str]:
    """Every difference between two JSON values, as 'path: old -> new' lines."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(a.keys() | b.keys(), key=str):
            if k not in b:
                out.append(f"{at}.{k}: only in the first")
            elif k not in a:
                out.append(f"{at}.{k}: only in the second")
            else:
                out += diff(a[k], b[k], f"{at}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{at}: {len(a)} items -> {len(b)} items"]
        return [line for i, (x, y) in enumerate(zip(a, b, strict=True)) for line in
                diff(x, y, f"{at}[{i}]")]  # fmt: skip
    return [] if _same(a, b) else [f"{at}: {a!r} -> {b!r}"]


def _claims(path: Path) -> dict[str, dict]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"grokcore.compare: error: {path}: {exc}") from None
    if not isinstance(data, dict) or "claims" not in data:
        raise SystemExit(f"grokcore.compare: error: {path}: not a grokcore results.json")
    return {c["claim_id"]: c for c in data["claims"]}


def compare(old: Path, new: Path, ignore_prose: bool = False) -> tuple[list[str], int]:
    """(difference lines, number of claims compared)."""
    a, b = _claims(old), _claims(new)
    skip = VOLATILE | (PROSE if ignore_prose else set())
    lines = [f"{cid}: only in {old}" for cid in sorted(a.keys() - b.keys())]
    lines += [f"{cid}: only in {new}" for cid in sorted(b.keys() - a.keys())]
    for cid in sorted(a.keys() & b.keys()):
        x = {k: v for k, v in a[cid].items() if k not in skip}
        y = {k: v for k, v in b[cid].items() if k not in skip}
        lines += [f"{cid}{line}" for line in diff(x, y)]
    return lines, len(a.keys() & b.keys())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m grokcore.compare", description=__doc__)
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--ignore-prose", action="store_true",
                    help="do not compare titles, statements, reasons and deviations")  # fmt: skip
    args = ap.parse_args(argv)
    lines, n = compare(args.old, args.new, args.ignore_prose)
    for line in lines:
        print(line)
    verdicts = "same verdicts and statistics" if not lines else f"{len(lines)} difference(s)"
    print(f"grokcore.compare: {n} claims in both: {verdicts}")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
