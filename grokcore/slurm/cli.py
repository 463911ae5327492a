"""The command line: `grokcore submit` and `grokcore status`."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grokcore.cache import RunCache
from grokcore.slurm.state import Resources, Selection, State, load
from grokcore.slurm.status import statuses, table
from grokcore.slurm.submit import submit


def add_parsers(sub: Any, selection: Callable[[Any], None]) -> None:
    """`grokcore submit` and `grokcore status`; `selection` adds -k, --scale, --seeds, ..."""
    s = sub.add_parser(
        "submit",
        help="train the selected claims' plan as a SLURM job array, then judge it",
        description="Split the plan into --shards shards balanced by estimated time, train each "
        "as one task of a submitit job array into the shared --run-cache, then judge every claim "
        "from it (a dependent job, or here with --wait) and write the report. Submitting again "
        "trains only what the cache lacks.",
    )
    selection(s)
    s.add_argument("--shards", type=int, default=None, help="number of shards (array tasks)")
    s.add_argument(
        "--log-dir",
        type=Path,
        default=None,
        help="submitit's logs and the state file: on the shared filesystem",
    )
    s.add_argument(
        "--resume",
        type=Path,
        default=None,
        metavar="STATE",
        help="submit again what a submission's state file (or log dir) describes",
    )
    s.add_argument(
        "--executor",
        choices=["slurm", "local"],
        default="slurm",
        help="local: one process per shard here (per GPU with --gpus-per-task)",
    )
    s.add_argument("--partition", default=None)
    s.add_argument("--gpus-per-task", type=int, default=0)
    s.add_argument("--cpus-per-task", type=int, default=1)
    s.add_argument(
        "--time-margin",
        type=float,
        default=3.0,
        help="time limit = the shard's estimated time x this (default 3)",
    )
    s.add_argument("--min-time", type=int, default=10, help="least time limit, minutes")
    s.add_argument("--account", default=None)
    s.add_argument("--qos", default=None)
    s.add_argument(
        "--sbatch-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an extra sbatch option, e.g. constraint=a100 (repeatable)",
    )
    s.add_argument("--max-parallel", type=int, default=None, help="array tasks at once")
    s.add_argument(
        "--report",
        type=Path,
        default=None,
        help="the HTML report (default: LOG_DIR/report/index.html)",
    )
    s.add_argument(
        "--wait",
        action="store_true",
        help="wait here for the shards, resubmit a failed one once, then judge",
    )
    t = sub.add_parser("status", help="the shards of a submission: state, job, runs cached")
    t.add_argument("where", type=Path, metavar="STATE_OR_LOG_DIR")
    t.add_argument("--json", action="store_true", help="print JSON instead of the table")


def command(a: Any) -> int:
    if a.command == "status":
        state = load(a.where)
        rows = statuses(state)
        if a.json:
            print(
                json.dumps(
                    {
                        "shards": [dataclasses.asdict(r) for r in rows],
                        "judged": state.judged,
                        "judges": state.judges,
                    },
                    indent=1,
                )
            )
        else:
            print(table(state, rows))
        return 0
    if a.resume is not None:
        state = load(a.resume)
    else:
        state = _from_args(a)
    state = submit(state, wait=a.wait)
    if state.judged is not None:
        return int(state.judged["rc"] != 0)
    return 0


def _from_args(a: Any) -> State:
    if a.shards is None or a.shards < 1:
        raise ValueError("--shards N (N >= 1) is needed, or --resume STATE")
    if a.run_cache is None or a.log_dir is None:
        raise ValueError(
            "--run-cache and --log-dir are needed: both on the filesystem the nodes share"
        )
    root = Path.cwd().resolve()
    if not (root / "claims").is_dir():
        raise ValueError(f"{root} has no claims/: run grokcore submit from the repository root")
    extra = {}
    for kv in a.sbatch_arg:
        key, eq, value = kv.partition("=")
        if not eq or not key:
            raise ValueError(f"--sbatch-arg {kv!r}: expected KEY=VALUE")
        extra[key.lstrip("-")] = value
    device = a.device or ("cuda" if a.gpus_per_task else "cpu")
    log_dir = a.log_dir.resolve()
    report = (a.report or log_dir / "report" / "index.html").resolve()
    resources = Resources(
        a.executor,
        a.partition,
        a.gpus_per_task,
        a.cpus_per_task,
        a.time_margin,
        a.min_time,
        a.account,
        a.qos,
        extra,
        a.max_parallel,
    )
    selection = Selection(a.keyword, a.scale, a.seeds, a.base_seed, a.data_dir, device)
    RunCache(a.run_cache)  # made now, and its writability checked, before anything is queued
    return State(
        str(root),
        selection,
        a.shards,
        str(a.run_cache.resolve()),
        str(log_dir),
        str(report),
        resources,
    )
