"""Steady-state step time of the eager step against the CUDA-graph step, per workload and K.

Each measurement trains the same K configs twice, for n and 2n steps, and divides the
difference in wall time by n: building the models, the data, the graph capture and
the first and last evaluations cancel out, and what is left is the cost of one step
of a long run (evaluations excluded; bench_ensemble.py measures those). One single
run (`train_reference`, the textbook loop) is timed the same way, so "× sequential"
is what K runs would cost one after another.

    python bench/bench_step.py --device cuda --out bench/gpu/step-h200.json
    python bench/bench_step.py --device cpu --workloads teacher-student   # eager/static only

Targets (issue 7, on one H100): Nanda at K=64 ≥ 3,600 model-steps/s in fp32 (≥ 16×
sequential) and ≥ 30× with TF32; the LSTM at batch 32 and K=18 ≤ 1 ms a step;
teacher-student at K=64 ≥ 40× sequential.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from bench_ensemble import configs, flops_per_step, matmul_peak, timed

from grokcore.train import Ensemble, train_reference

# (workload, K, precision, steps n): the issue's targets and the claims' paper shapes
CASES = [
    ("nanda", 12, "fp32", 30),
    ("nanda", 64, "fp32", 15),
    ("nanda", 64, "tf32", 15),
    ("lstm-batch32", 18, "fp32", 100),
    ("teacher-student", 64, "fp32", 200),
]


def step_seconds(make, n: int, dev: torch.device) -> float:
    """Seconds per step of a long run: (best time of 2n steps − best of n steps) / n."""
    make(n)  # warm-up: kernels, allocator, cuBLAS handles
    a = min(timed(lambda: make(n), dev) for _ in range(2))
    b = min(timed(lambda: make(2 * n), dev) for _ in range(2))
    return max(b - a, 1e-9) / n


def case(workload: str, k: int, precision: str, n: int, dev: torch.device, modes) -> dict:
    def ens(mode: str):
        return lambda steps: Ensemble(
            [c.replace(precision=precision) for c in configs(workload, k, steps)], dev, step=mode
        ).train()

    def single(steps: int):
        return train_reference(
            configs(workload, 1, steps)[0].replace(precision=precision), str(dev)
        )

    seq = step_seconds(single, n, dev)
    gflop = flops_per_step(configs(workload, 1, n)[0]) / 1e9
    row = {"workload": workload, "k": k, "precision": precision, "steps_n": n,
           "gflop_per_model_step": gflop, "sequential_ms_per_step": 1e3 * seq}  # fmt: skip
    for mode in modes:
        s = step_seconds(ens(mode), n, dev)
        row[mode] = {
            "ms_per_step": 1e3 * s,
            "model_steps_per_s": k / s,
            "x_sequential": k * seq / s,
            "gflops": k * gflop / s,
        }
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--workloads", nargs="+", help="default: all in CASES")
    ap.add_argument("--out", type=Path, default=Path("bench/gpu/step.json"))
    args = ap.parse_args()
    dev = torch.device(args.device)
    modes = ["eager", "graph"] if dev.type == "cuda" else ["eager", "static"]
    peak = matmul_peak(dev)
    info = {
        "host": socket.gethostname(),
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "cores": os.cpu_count(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "fp32_matmul_peak_gflops": peak,
    }
    print(f"{info['device']} | torch {info['torch']} | fp32 matmul peak {peak:,.0f} GFLOP/s")
    rows = []
    for w, k, prec, n in CASES:
        if args.workloads and w not in args.workloads:
            continue
        r = case(w, k, prec, n, dev, modes)
        rows.append(r)
        parts = " | ".join(
            f"{m} {r[m]['ms_per_step']:.2f} ms ({r[m]['model_steps_per_s']:,.0f}/s, "
            f"{r[m]['x_sequential']:.1f}× seq, {r[m]['gflops']:,.0f} GFLOP/s)"
            for m in modes
        )
        print(f"{w:16} K={k:<3} {prec}: seq {r['sequential_ms_per_step']:.2f} ms | {parts}",
              flush=True)  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": info, "rows": rows}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
