"""Speed of the batched `Ensemble` against K sequential `train_reference` runs, side by side.

For each workload and K, one process times `Ensemble(configs).train()` on K members and
`train_reference(c)` on the first min(K, 4) of the same configs (scaled linearly to K),
alternating the two in every repeat so that a load change on the machine hits both alike.
Evaluation runs only at the start and the end (eval_points=2, eval_every=steps); the cost of
the default evaluation schedule is measured once per workload and reported apart.

    python bench/bench_ensemble.py            # K in {1, 8, 32}; writes bench/results/
    python bench/bench_ensemble.py --quick    # K in {1, 8}, fewer steps: a smoke test
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import socket
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from grokcore.config import (
    MLP,
    EmbedMLP,
    MnistTask,
    ModularTask,
    Optimizer,
    RunConfig,
    TeacherStudentTask,
)
from grokcore.data import build_data
from grokcore.models import build_model
from grokcore.train import Ensemble, train_reference

SEQ_CAP = 4  # sequential runs actually timed per (workload, K); the rest is scaled linearly
WORKLOADS: dict[str, tuple[Callable[..., RunConfig], int]] = {
    # name: (config factory taking steps/seed/eval fields, default steps)
    "teacher-student": (
        lambda **kw: RunConfig(
            task=TeacherStudentTask(),
            model=MLP(hidden=(100, 100), act="tanh"),
            optim=Optimizer(lr=3e-4, weight_decay=0.03),
            loss="mse",
            init_scale=2.0,
            **kw,
        ),
        400,
    ),
    "embed-mlp": (
        lambda **kw: RunConfig(
            task=ModularTask(op="x+y", p=59, train_frac=0.5),
            model=EmbedMLP(),
            optim=Optimizer(lr=3e-3, weight_decay=1.0),
            **kw,
        ),
        200,
    ),
    "mnist-mlp": (
        lambda **kw: RunConfig(
            task=MnistTask(n_train=1000),
            model=MLP(hidden=(200, 200), act="relu"),
            optim=Optimizer(lr=1e-3, weight_decay=0.01),
            batch_size=200,
            loss="mse",
            init_scale=8.0,
            **kw,
        ),
        200,
    ),
}


def configs(workload: str, k: int, steps: int, fast_eval: bool = True) -> list[RunConfig]:
    make = WORKLOADS[workload][0]
    ev = {"eval_points": 2, "eval_every": steps} if fast_eval else {}
    return [make(steps=steps, seed=s, **ev) for s in range(k)]


def flops_per_step(cfg: RunConfig) -> float:
    """Matmul FLOPs of one model-step: 3 (fwd+bwd) · Σ_Linear 2·n·in·out; embeddings free."""
    data = build_data(cfg.task, cfg.split_seed)
    n = cfg.batch_size or len(data.y_train)
    model = build_model(cfg.model, data.n_in, data.n_out, cfg.seed)
    fwd = sum(
        2 * n * m.in_features * m.out_features for m in model.modules() if isinstance(m, nn.Linear)
    )
    return 3.0 * fwd


def timed(fn: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def matmul_peak(device: torch.device, n: int = 2048, repeats: int = 10) -> float:
    """Best-of-`repeats` fp32 GFLOP/s of an n×n @ n×n product."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    timed(lambda: a @ b, device)
    best = min(timed(lambda: torch.mm(a, b), device) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def summary(xs: list[float]) -> dict[str, float | list[float]]:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "samples": xs}


def bench_case(workload: str, k: int, steps: int, repeats: int, dev: torch.device) -> dict:
    cfgs, n_seq = configs(workload, k, steps), min(k, SEQ_CAP)
    warm = configs(workload, k, max(steps // 10, 5))
    Ensemble(warm, dev).train()  # warm-up: data caches, vmap tracing, allocator, thread pool
    train_reference(warm[0], str(dev))
    ens, seq = [], []
    for _ in range(repeats):  # interleaved, so both see the same background load
        ens.append(k * steps / timed(lambda: Ensemble(cfgs, dev).train(), dev))
        t = timed(lambda: [train_reference(c, str(dev)) for c in cfgs[:n_seq]], dev)
        seq.append(n_seq * steps / t)
    gflop = flops_per_step(cfgs[0]) / 1e9
    return {
        "workload": workload,
        "k": k,
        "steps": steps,
        "sequential_runs_timed": n_seq,
        "sequential_scaled_linearly": n_seq < k,
        "gflop_per_model_step": gflop,
        "ensemble_model_steps_per_s": summary(ens),
        "sequential_model_steps_per_s": summary(seq),
        "ratio": summary([e / s for e, s in zip(ens, seq, strict=True)]),
        "ensemble_gflops": statistics.median(ens) * gflop,
        "sequential_gflops": statistics.median(seq) * gflop,
        "load_avg_after": os.getloadavg()[0],
    }


def eval_overhead(workload: str, k: int, steps: int, dev: torch.device) -> dict:
    """Wall time with the default evaluation schedule over the train-only one, minus 1."""
    fast, full = configs(workload, k, steps), configs(workload, k, steps, fast_eval=False)
    t_fast = timed(lambda: Ensemble(fast, dev).train(), dev)
    t_full = timed(lambda: Ensemble(full, dev).train(), dev)
    s_fast = timed(lambda: train_reference(fast[0], str(dev)), dev)
    s_full = timed(lambda: train_reference(full[0], str(dev)), dev)
    return {
        "workload": workload,
        "k": k,
        "steps": steps,
        "ensemble": t_full / t_fast - 1,
        "sequential": s_full / s_fast - 1,
    }


def targets(rows: list[dict], peak: float) -> list[dict]:
    """Goals at K=32: ≥5x on teacher-student, ≥1x elsewhere, ≥60% of matmul peak on embed-mlp."""
    at = {r["workload"]: r for r in rows if r["k"] == 32}
    out = []
    for w in WORKLOADS:
        if w not in at:
            continue
        goal = 5.0 if w == "teacher-student" else 1.0
        out.append(
            {
                "target": f"{w} K=32 ratio >= {goal:g}",
                "value": at[w]["ratio"]["median"],
                "pass": at[w]["ratio"]["median"] >= goal,
            }
        )
    if "embed-mlp" in at:
        frac = at["embed-mlp"]["ensemble_gflops"] / peak
        out.append(
            {
                "target": "embed-mlp K=32 >= 60% of fp32 matmul peak",
                "value": frac,
                "pass": frac >= 0.6,
            }
        )
    return out


def machine(device: torch.device, threads: int) -> dict:
    cpu = platform.processor()
    try:
        cpu = next(
            ln.split(":", 1)[1].strip()
            for ln in open("/proc/cpuinfo")
            if ln.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    info = {
        "hostname": socket.gethostname(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "grokcore": importlib.metadata.version("grokcore"),
        "threads": threads,
        "device": str(device),
        "load_avg_start": os.getloadavg()[0],
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, help="steps for every workload (default: per workload)")
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats per measurement")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--quick", action="store_true", help="K in {1, 8}, a quarter of the steps")
    ap.add_argument("--ks", type=int, nargs="+", help="ensemble sizes (default 1 8 32)")
    ap.add_argument("--out", type=Path, help="JSON path (default bench/results/ensemble-HOST.json)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    ks = args.ks or ([1, 8] if args.quick else [1, 8, 32])
    info = machine(dev, args.threads)
    peak = matmul_peak(dev)
    print(
        f"{info['cpu']} | {info['threads']} threads | torch {info['torch']} | {dev} | "
        f"fp32 matmul peak {peak:.1f} GFLOP/s"
    )
    head = f"{'workload':16}{'K':>4}{'ens steps/s':>14}{'seq steps/s':>14}{'ratio':>16}"
    print(head + f"{'GFLOP/s':>9}{'% peak':>8}")
    rows, overheads = [], []
    for w, (_, default_steps) in WORKLOADS.items():
        steps = args.steps or (max(default_steps // 4, 20) if args.quick else default_steps)
        for k in ks:
            r = bench_case(w, k, steps, args.repeats, dev)
            rows.append(r)
            e, s, q = (
                r[f]
                for f in ("ensemble_model_steps_per_s", "sequential_model_steps_per_s", "ratio")
            )
            print(
                f"{w:16}{k:>4}{e['median']:>14,.0f}{s['median']:>14,.0f}"
                f"{q['median']:>7.2f} [{q['min']:.2f}-{q['max']:.2f}]"
                f"{r['ensemble_gflops']:>9.1f}{100 * r['ensemble_gflops'] / peak:>7.0f}%",
                flush=True,
            )
        overheads.append(eval_overhead(w, min(8, max(ks)), steps, dev))
    print("\nevaluation overhead, default schedule vs start+end only:")
    for o in overheads:
        print(
            f"  {o['workload']:16} K={o['k']}: ensemble +{100 * o['ensemble']:.0f}%, "
            f"sequential +{100 * o['sequential']:.0f}%"
        )
    goals = targets(rows, peak)
    print("\ntargets:" if goals else "\ntargets: need K=32 (not run)")
    for g in goals:
        print(f"  {'PASS' if g['pass'] else 'MISS'}  {g['target']}: {g['value']:.2f}")
    out = args.out or Path(__file__).parent / "results" / f"ensemble-{info['hostname']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    info["load_avg_end"] = os.getloadavg()[0]
    result = {
        "machine": info,
        "matmul_peak_gflops": peak,
        "sequential_cap": SEQ_CAP,
        "note": f"sequential timed on min(K, {SEQ_CAP}) runs, rates are per model-step",
        "rows": rows,
        "eval_overhead": overheads,
        "targets": goals,
    }
    out.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
