"""Verdict stability across seed sets: the `stability` record of each claim.

The quick tier is run at several `--base-seed` values (the lead's stability runs, e.g. 0,
100 and 200); each session leaves a results.json. This module reads them and writes
stability.json, which `render_report` reads when it lies beside the report:

    python3 -m grokcore.report.stability reports/stability.json \
        base0/results.json base100/results.json base200/results.json [--why CLAIM=TEXT ...]

Each claim gets {"verdicts": {base seed: verdict}, "same": k, "of": n, "fragile": bool,
"why": text}: k is how many sessions gave its most common verdict; a claim is fragile
when its verdict is not the same in every session. NOT RUN and ERROR sessions are left
out of n (they say nothing about the seeds). `--why` adds the known reason for a flip.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from grokcore.record import Verdict

_UNJUDGED = {Verdict.NOT_RUN.value, Verdict.ERROR.value}


def stability(sessions: list[tuple[int, dict[str, str]]], why: dict[str, str] | None = None):
    """{claim: stability record} from [(base seed, {claim: verdict})]."""
    why = why or {}
    claims = dict.fromkeys(c for _, verdicts in sessions for c in verdicts)
    out: dict[str, dict] = {}
    for claim in claims:
        seen = {
            str(seed): v[claim] for seed, v in sessions if claim in v and v[claim] not in _UNJUDGED
        }
        if not seen:
            continue
        common, same = Counter(seen.values()).most_common(1)[0]
        out[claim] = {
            "verdicts": seen,
            "same": same,
            "of": len(seen),
            "most_common": common,
            "fragile": same < len(seen),
            "why": why.get(claim, ""),
        }
    return out


def _session(path: Path) -> tuple[int, dict[str, str]]:
    payload = json.loads(path.read_text(encoding="utf-8"))
    seed = int(payload["header"].get("base_seed") or 0)
    return seed, {c["claim_id"]: c["verdict"] for c in payload["claims"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m grokcore.report.stability")
    ap.add_argument("out", type=Path, help="stability.json to write")
    ap.add_argument("results", type=Path, nargs="+", help="results.json of each session")
    ap.add_argument("--why", action="append", default=[], metavar="CLAIM=TEXT")
    a = ap.parse_args(argv)
    why = {}
    for item in a.why:
        claim, sep, text = item.partition("=")
        if not sep:
            ap.error(f"--why {item!r}: write CLAIM=TEXT")
        why[claim] = text
    try:
        sessions = [_session(p) for p in a.results]
    except (OSError, ValueError, KeyError) as e:
        print(f"grokcore: error: cannot read a results.json: {e}", file=sys.stderr)
        return 2
    table = stability(sessions, why)
    a.out.write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    fragile = [c for c, s in table.items() if s["fragile"]]
    print(f"{len(table)} claims, {len(fragile)} fragile: {', '.join(fragile) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
