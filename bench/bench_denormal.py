"""What flushing subnormal floats to zero saves on CPU (`grokcore.train.engine._flush_denormal`).

Weight decay drives weights, gradients and Adam's second moments towards zero; x86 cores
compute on subnormal floats many times slower. This trains the same quick-tier ensembles
with subnormals kept ($GROKCORE_FLUSH_DENORMAL=0) and flushed (the default), each in a fresh
one-thread process, one after the other (not side by side, so neither slows the other),
and writes the seconds and the final test accuracies to bench/results/denormal-HOST.json.

    python bench/bench_denormal.py                 # LS-WD2 (12 runs) and LS-MNIST's Adam row
    python bench/bench_denormal.py --steps 500     # shorter, for a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from _results import write_results

WORKLOADS = ("ls-wd2", "ls-mnist-adam")

CHILD = r"""
import json, sys, time
import torch
torch.set_num_threads(1)
from grokcore import setups
from grokcore.train.engine import Ensemble

name, steps = sys.argv[1], int(sys.argv[2])
if name == "ls-wd2":  # LS-WD2 (claims/li_sakib.py), quick
    configs = [setups.li_sakib(seed=s, weight_decay=g, scale="quick")
               for g in (1.0, 2.0, 10.0) for s in range(4)]
else:  # LS-MNIST[adam] (claims/li_sakib.py), quick
    row = {r.key: r for r in setups.LS_MNIST_ROWS}["adam"]
    configs = [setups.li_sakib_mnist(row, seed=s, scale="quick") for s in range(3)]
steps = steps or configs[0].steps
configs = [c.replace(steps=steps) for c in configs]
t = time.perf_counter()
hs = Ensemble(configs, torch.device("cpu")).train()
print(json.dumps({"seconds": time.perf_counter() - t, "runs": len(configs), "steps": steps,
                  "final_test_acc": [round(float(h.test_acc[-1]), 4) for h in hs]}))
"""


def time_one(workload: str, steps: int, flush: bool) -> dict:
    env = {**os.environ, "GROKCORE_FLUSH_DENORMAL": "1" if flush else "0"}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, workload, str(steps)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=0, help="steps per run (0: the claim's)")
    ap.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated")
    ap.add_argument("--out", type=Path, help="JSON path (default bench/results/denormal-HOST.json)")
    args = ap.parse_args()
    results = []
    for w in args.workloads.split(","):
        kept = time_one(w, args.steps, flush=False)
        flushed = time_one(w, args.steps, flush=True)
        row = {
            "workload": w,
            "kept_s": round(kept["seconds"], 2),
            "flushed_s": round(flushed["seconds"], 2),
            "speedup": round(kept["seconds"] / flushed["seconds"], 2),
            "runs": kept["runs"],
            "steps": kept["steps"],
            "final_test_acc_kept": kept["final_test_acc"],
            "final_test_acc_flushed": flushed["final_test_acc"],
        }
        results.append(row)
        print(
            f"{w:14s} {row['runs']} runs × {row['steps']:,} steps: subnormals kept "
            f"{row['kept_s']:.1f} s, flushed {row['flushed_s']:.1f} s ({row['speedup']:.2f}×)",
            flush=True,
        )
    write_results("denormal", args.out, results, threads=1)


if __name__ == "__main__":
    main()
