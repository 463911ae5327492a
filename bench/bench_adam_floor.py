"""What the floor under Adam's √v saves on CPU (`grokcore.train.engine._sqrt_floor`).

torch's vectorized square root takes a slow path for exact zeros on x86, and Adam's second
moment v is exactly zero wherever a gradient has always been zero (MNIST's blank border
pixels). This trains the same quick-tier ensemble with the floor (the default) and without
it, alternating in one one-thread process (best of `--repeats`), checks that both give
bit-identical histories, and writes the seconds to bench/results/adam-floor-HOST.json.

    python bench/bench_adam_floor.py                 # LS-MNIST's base row, 3 runs
    python bench/bench_adam_floor.py --steps 500     # shorter, for a smoke run
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from _results import write_results

from grokcore import setups
from grokcore.history import History
from grokcore.train.engine import Ensemble

WORKLOADS = ("ls-mnist-base", "ls-div")


def configs(workload: str, steps: int) -> list:
    if workload == "ls-mnist-base":  # claims/test_li_sakib.py::test_ls_mnist, quick
        cs = [setups.li_sakib_mnist(setups.LS_MNIST_BASE, seed=s, scale="quick") for s in range(3)]
    else:  # claims/test_li_sakib.py::test_ls_div, quick: one arm of 6 runs
        cs = [setups.li_sakib(seed=s, scale="quick") for s in range(6)]
    return [c.replace(steps=steps or c.steps) for c in cs]


def train(cs: list, floor: bool) -> tuple[float, list[History]]:
    ens = Ensemble(cs, torch.device("cpu"))
    if not floor:
        ens._v_floor = None
    t = time.perf_counter()
    hs = ens.train()
    return time.perf_counter() - t, hs


def identical(a: list[History], b: list[History]) -> bool:
    return all(
        np.array_equal(x.batch_loss, y.batch_loss, equal_nan=True)
        and np.array_equal(x.test_acc, y.test_acc, equal_nan=True)
        and np.array_equal(x.norm, y.norm, equal_nan=True)
        for x, y in zip(a, b, strict=True)
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=0, help="steps per run (0: the claim's)")
    ap.add_argument("--repeats", type=int, default=2, help="best of this many, alternating")
    ap.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated")
    ap.add_argument("--out", type=Path, help="default: bench/results/adam-floor-HOST.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    results = []
    for w in args.workloads.split(","):
        cs = configs(w, args.steps)
        times: dict[bool, list[float]] = {True: [], False: []}
        hists: dict[bool, list[History]] = {}
        for _ in range(args.repeats):
            for floor in (True, False):
                seconds, hs = train(cs, floor)
                times[floor].append(seconds)
                hists[floor] = hs
        row = {
            "workload": w,
            "runs": len(cs),
            "steps": cs[0].steps,
            "floor_s": round(min(times[True]), 2),
            "no_floor_s": round(min(times[False]), 2),
            "speedup": round(min(times[False]) / min(times[True]), 3),
            "bit_identical_histories": identical(hists[True], hists[False]),
        }
        results.append(row)
        print(
            f"{w:14s} {row['runs']} runs × {row['steps']:,} steps: floor {row['floor_s']:.1f} s, "
            f"none {row['no_floor_s']:.1f} s ({row['speedup']:.2f}×), "
            f"bit-identical: {row['bit_identical_histories']}",
            flush=True,
        )
    write_results(
        "adam-floor", args.out, results, threads=1, repeats=args.repeats, torch=torch.__version__
    )


if __name__ == "__main__":
    main()
