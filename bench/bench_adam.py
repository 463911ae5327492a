"""What the eager step's Adam costs on CPU: torch's fused kernel against the elementwise update.

On CPU the engine's eager step updates Adam/AdamW with the kernel `torch.optim.Adam(fused=True)`
calls: one pass over (K, P) (`grokcore.train.optim.EnsembleOptimizer`). The elementwise
update (`EnsembleOptimizer.apply`, eleven passes) is what the graph-ready step runs; on CPU it
floors Adam's second moment under the square root (`grokcore.train.optim._sqrt_floor`), since
torch's vectorized √ takes a slow path for exact zeros. This trains quick-tier ensembles three ways,
in one one-thread process, alternating the order every repeat (this 2-core VM's speed drifts
by 20% within minutes, so many short alternating runs, best and median, beat a few long ones):
- `fused`: the default eager step;
- `elementwise`: `apply` with the floor;
- `no_floor`: `apply` without it (its histories must be bit-identical to `elementwise`'s).
It reports the seconds, whether `fused` changed any accuracy, and writes
bench/results/adam-HOST.json.

    python bench/bench_adam.py                          # 6 × 500 steps of each workload
    python bench/bench_adam.py --steps 0 --repeats 2    # each claim's own quick budget (slow)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _results import write_results

from grokcore import setups
from grokcore.history import History
from grokcore.train.engine import Ensemble

sys.path.insert(0, str(Path(__file__).parents[1]))  # the claims' own quick configs
from claims import REGISTRY
from grokcore.spec import Scope

WORKLOADS = ("ls-mnist-base", "og-inv", "ar-noungrok", "ls-div")
VARIANTS = ("fused", "elementwise", "no_floor")


def configs(workload: str, steps: int) -> list:
    if workload == "ls-mnist-base":  # LS-MNIST[base] (claims/li_sakib.py), quick: 3 runs
        cs = [setups.li_sakib_mnist(setups.LS_MNIST_BASE, seed=s, scale="quick") for s in range(3)]
    elif workload in ("og-inv", "ar-noungrok"):  # the claim's own quick runs, every arm:
        # OG-INV's γ sweep at α = 2 and its γ = 0 control, 3 seeds each (18 runs);
        # AR-NOUNGROK's 11 seeds of 3 operations (33 runs)
        arms = REGISTRY[workload.upper()].arms(Scope("quick"))
        cs = [c for arm in arms.values() for c in arm]
    else:  # LS-DIV (claims/li_sakib.py), quick: one arm of 6 runs
        cs = [setups.li_sakib(seed=s, scale="quick") for s in range(6)]
    return [c.replace(steps=steps or c.steps) for c in cs]


def train(cs: list, variant: str) -> tuple[float, list[History]]:
    ens = Ensemble(cs, torch.device("cpu"))
    ens.optim.fused = variant == "fused"
    if variant == "no_floor":
        ens.optim.v_floor = None
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


def largest_acc_change(a: list[History], b: list[History]) -> float:
    """The largest difference in any evaluated train or test accuracy of any run."""
    return max(
        float(np.max(np.abs(getattr(x, k) - getattr(y, k))))
        for x, y in zip(a, b, strict=True)
        for k in ("train_acc", "test_acc")
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=500, help="steps per run (0: the claim's)")
    ap.add_argument("--repeats", type=int, default=6, help="best of this many, alternating")
    ap.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated")
    ap.add_argument("--out", type=Path, help="default: bench/results/adam-HOST.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    results = []
    for w in args.workloads.split(","):
        cs = configs(w, args.steps)
        times: dict[str, list[float]] = {v: [] for v in VARIANTS}
        hists: dict[str, list[History]] = {}
        for r in range(args.repeats):
            for v in VARIANTS if r % 2 == 0 else VARIANTS[::-1]:
                seconds, hs = train(cs, v)
                times[v].append(seconds)
                hists[v] = hs
        best = {v: min(times[v]) for v in VARIANTS}
        median = {v: float(np.median(times[v])) for v in VARIANTS}
        row = {
            "workload": w,
            "runs": len(cs),
            "steps": cs[0].steps,
            **{f"{v}_s": round(best[v], 2) for v in VARIANTS},
            **{f"{v}_median_s": round(median[v], 2) for v in VARIANTS},
            "fused_speedup": round(best["elementwise"] / best["fused"], 3),
            "floor_speedup": round(best["no_floor"] / best["elementwise"], 3),
            "floor_bit_identical": identical(hists["elementwise"], hists["no_floor"]),
            "fused_largest_acc_change": largest_acc_change(hists["fused"], hists["elementwise"]),
        }
        results.append(row)
        print(
            f"{w:14s} {row['runs']} runs × {row['steps']:,} steps, best of {args.repeats}: fused "
            f"{best['fused']:.1f} s, "
            f"elementwise {best['elementwise']:.1f} s ({row['fused_speedup']:.2f}×; medians "
            f"{median['fused']:.1f} and {median['elementwise']:.1f} s), "
            f"no floor {best['no_floor']:.1f} s (floor bit-identical: "
            f"{row['floor_bit_identical']}); largest accuracy change from fusing: "
            f"{row['fused_largest_acc_change']:.4f}",
            flush=True,
        )
    meta = {"threads": 1, "repeats": args.repeats, "torch": torch.__version__}
    write_results("adam", args.out, results, **meta)


if __name__ == "__main__":
    main()
