"""Speed of the batched `Ensemble` against K sequential `train_reference` runs, side by side.

For each workload and K, one process times `Ensemble(configs).train()` on K members and
`train_reference(c)` on the first min(K, 4) of the same configs (scaled linearly to K),
alternating the two in every repeat so that a change of background load hits both alike.
Both timings include building the models. Evaluation runs only at the start and the end
(eval_points=2, eval_every=steps); the cost of the default evaluation schedule is measured
per workload at K=8 and reported apart. bench/README.md says how to read the output.

    python bench/bench_ensemble.py            # K in {1, 8, 32}; writes bench/results/
    python bench/bench_ensemble.py --quick    # K in {1, 8}, a quarter of the steps
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
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
    Recurrent,
    RunConfig,
    TeacherStudentTask,
    Transformer,
    eval_schedule,
)
from grokcore.data import build_data
from grokcore.models import build_model
from grokcore.train import Ensemble, train_reference

SEQ_CAP = 4  # sequential runs actually timed per (workload, K); the rate is per model-step
TARGET_K = 32
# name -> (RunConfig fields, default steps)
WORKLOADS: dict[str, tuple[dict, int]] = {
    "teacher-student": (  # omnigrok §3
        dict(
            task=TeacherStudentTask(),
            model=MLP(hidden=(100, 100), act="tanh"),
            optim=Optimizer(lr=3e-4, weight_decay=0.03),
            loss="mse",
            init_scale=2.0,
        ),
        400,
    ),
    "embed-mlp": (  # x+y mod 59, half the table for training, full batch
        dict(
            task=ModularTask(op="x+y", p=59, train_frac=0.5),
            model=EmbedMLP(),
            optim=Optimizer(lr=3e-3, weight_decay=1.0),
        ),
        200,
    ),
    "mnist-mlp": (  # omnigrok §4: 784-200-200-10 ReLU, 1k digits, batch 200, MSE, α=8
        dict(
            task=MnistTask(n_train=1000),
            model=MLP(hidden=(200, 200), act="relu"),
            optim=Optimizer(lr=1e-3, weight_decay=0.01),
            batch_size=200,
            loss="mse",
            init_scale=8.0,
        ),
        200,
    ),
    # paper-scale workloads, for GPU runners (issue 7); on a CPU they take minutes a step count
    "nanda": (  # omnigrok §5 / Nanda et al.: 1-layer transformer, p=113, frac 0.3, full batch
        dict(
            task=ModularTask(op="x+y", p=113, train_frac=0.3),
            model=Transformer(),
            optim=Optimizer(lr=1e-3, betas=(0.9, 0.98), weight_decay=1.0),
        ),
        100,
    ),
    "lstm-batch32": (  # rnn-poster's code: LSTM 128/128, p=97, 50% split, batch 32, α=5
        dict(
            task=ModularTask(op="x+y", p=97, train_frac=0.5),
            model=Recurrent("lstm", 128, 128),
            optim=Optimizer(lr=1e-3, weight_decay=0.02),
            batch_size=32,
            init_scale=5.0,
        ),
        200,
    ),
    "power-batch512": (  # arn / li-sakib: openai/grok's 2-layer Power transformer, x÷y mod 97
        dict(
            task=ModularTask(op="x/y", p=97, train_frac=0.3),
            model=Transformer.power(),
            optim=Optimizer("adamw", lr=1e-3, betas=(0.9, 0.98), weight_decay=1.0),
            batch_size=512,
        ),
        100,
    ),
}
PAPER_SCALE = ("nanda", "lstm-batch32", "power-batch512")  # run by default only on CUDA
PAPER_NAMES = ", ".join(PAPER_SCALE)


def configs(workload: str, k: int, steps: int, fast_eval: bool = True) -> list[RunConfig]:
    """Seeds 0..k-1 of a workload; fast_eval evaluates only at steps 0, 1 and `steps`."""
    ev = {"eval_points": 2, "eval_every": steps} if fast_eval else {}
    return [RunConfig(**WORKLOADS[workload][0], steps=steps, seed=s, **ev) for s in range(k)]


def flops_per_step(cfg: RunConfig) -> float:
    """Matmul FLOPs of one model-step: 3 (fwd+bwd) · Σ_Linear 2·n·in·out, times the tokens each
    Linear sees in a sequence model (attention scores and embeddings left out)."""
    data = build_data(cfg.task, cfg.split_seed)
    n = cfg.batch_size or len(data.y_train)
    model = build_model(cfg.model, data.n_in, data.n_out, cfg.seed)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    tokens = 1
    if isinstance(cfg.model, Transformer):
        tokens = 3 if cfg.model.tokens == "nanda" else 6
    elif isinstance(cfg.model, Recurrent):
        tokens = 4  # the cell runs once per token (the output layer once: a small overcount)
    return 3.0 * tokens * sum(2 * n * m.in_features * m.out_features for m in linears)


def timed(fn: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def interleaved(fns: list[Callable[[], object]], repeats: int, dev: torch.device) -> list[list]:
    """Seconds of each fn over `repeats` rounds, the fns alternating within every round."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, ts in zip(fns, times, strict=True):
            ts.append(timed(fn, dev))
    return times


def matmul_peak(device: torch.device, n: int = 2048, repeats: int = 10) -> float:
    """Best-of-`repeats` fp32 GFLOP/s of an n×n @ n×n product."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    timed(lambda: a @ b, device)
    return 2 * n**3 / min(timed(lambda: torch.mm(a, b), device) for _ in range(repeats)) / 1e9


def summary(xs: list[float]) -> dict:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "samples": xs}


def bench_case(workload: str, k: int, steps: int, repeats: int, dev: torch.device) -> dict:
    cfgs, n_seq = configs(workload, k, steps), min(k, SEQ_CAP)
    warm = configs(workload, k, max(steps // 10, 5))
    Ensemble(warm, dev).train()  # warm-up: data caches, allocator, thread pool
    train_reference(warm[0], str(dev))
    t_ens, t_seq = interleaved(
        [
            lambda: Ensemble(cfgs, dev).train(),
            lambda: [train_reference(c, str(dev)) for c in cfgs[:n_seq]],
        ],
        repeats,
        dev,
    )
    ens = [k * steps / t for t in t_ens]
    seq = [n_seq * steps / t for t in t_seq]
    gflop = flops_per_step(cfgs[0]) / 1e9
    return {
        "workload": workload,
        "k": k,
        "steps": steps,
        "gflop_per_model_step": gflop,
        "sequential_runs_timed": n_seq,
        "sequential_scaled_linearly": n_seq < k,
        "ensemble_model_steps_per_s": summary(ens),
        "sequential_model_steps_per_s": summary(seq),
        "ratio": summary([e / s for e, s in zip(ens, seq, strict=True)]),
        "ensemble_gflops": statistics.median(ens) * gflop,
        "sequential_gflops": statistics.median(seq) * gflop,
        "load_avg_after": os.getloadavg()[0],
    }


def eval_overhead(workload: str, k: int, steps: int, repeats: int, dev: torch.device) -> dict:
    """Extra wall time of the default evaluation schedule over start+end-only evaluation."""
    fast, full = configs(workload, k, steps), configs(workload, k, steps, fast_eval=False)
    extra = len(eval_schedule(steps, full[0].eval_points, full[0].eval_every)) - 3
    times = interleaved(
        [
            lambda: Ensemble(fast, dev).train(),
            lambda: Ensemble(full, dev).train(),
            lambda: train_reference(fast[0], str(dev)),
            lambda: train_reference(full[0], str(dev)),
        ],
        repeats,
        dev,
    )
    out = {"workload": workload, "k": k, "steps": steps, "extra_evaluations": extra}
    for name, (t_fast, t_full) in (("ensemble", times[:2]), ("sequential", times[2:])):
        over = statistics.median([b / a - 1 for a, b in zip(t_fast, t_full, strict=True)])
        out[f"{name}_overhead"] = over  # fraction of the training time
        out[f"{name}_eval_cost_in_steps"] = over * steps / extra  # one evaluation ≈ this many
    return out


def targets(rows: list[dict], peak: float) -> list[dict]:
    """At K=32: ≥5x on teacher-student, ≥1x elsewhere, ≥60% of matmul peak on embed-mlp."""
    at = {r["workload"]: r for r in rows if r["k"] == TARGET_K}
    out = [
        {
            "target": f"{w} K={TARGET_K} ensemble/sequential >= {goal:g}",
            "value": at[w]["ratio"]["median"],
            "pass": at[w]["ratio"]["median"] >= goal,
        }
        for w, goal in (("teacher-student", 5.0), ("embed-mlp", 1.0), ("mnist-mlp", 1.0))
        if w in at
    ]
    if "embed-mlp" in at:
        frac = at["embed-mlp"]["ensemble_gflops"] / peak
        out.append(
            {
                "target": f"embed-mlp K={TARGET_K} >= 60% of fp32 matmul peak",
                "value": frac,
                "pass": frac >= 0.6,
            }
        )
    return out


def machine(device: torch.device, threads: int) -> dict:
    with open("/proc/cpuinfo") as f:
        cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "?")
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
    ap.add_argument("--out", type=Path, help="JSON path (default bench/results/ensemble-HOST.json)")
    ap.add_argument(
        "--workloads",
        nargs="+",
        choices=sorted(WORKLOADS),
        help=f"default: all on CUDA; on CPU all but the paper-scale ones: {PAPER_NAMES}",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    ks = [1, 8] if args.quick else [1, 8, TARGET_K]
    info = machine(dev, args.threads)
    if info["load_avg_start"] > 0.5:
        print(
            f"warning: 1-minute load average {info['load_avg_start']:.1f} at start: "
            "if other processes are busy, timings will be noisy (see the min-max spread)"
        )
    peak = matmul_peak(dev)
    print(
        f"{info['cpu']} | {args.threads} threads | torch {info['torch']} | {dev} | "
        f"fp32 matmul peak {peak:.1f} GFLOP/s"
    )
    print(
        f"{'workload':16}{'K':>4}{'ens steps/s':>13}{'seq steps/s':>13}{'ratio [min-max]':>21}"
        f"{'GFLOP/s':>9}{'% peak':>8}"
    )
    rows, overheads = [], []
    chosen = args.workloads or [w for w in WORKLOADS if dev.type == "cuda" or w not in PAPER_SCALE]
    for w in chosen:
        default_steps = WORKLOADS[w][1]
        steps = args.steps or (default_steps // 4 if args.quick else default_steps)
        for k in ks:
            r = bench_case(w, k, steps, args.repeats, dev)
            rows.append(r)
            e, s, q = r["ensemble_model_steps_per_s"], r["sequential_model_steps_per_s"], r["ratio"]
            print(
                f"{w:16}{k:>4}{e['median']:>13,.0f}{s['median']:>13,.0f}"
                f"{q['median']:>9.2f} [{q['min']:5.2f}-{q['max']:5.2f}]"
                f"{r['ensemble_gflops']:>9.1f}{100 * r['ensemble_gflops'] / peak:>7.0f}%",
                flush=True,
            )
        overheads.append(eval_overhead(w, 8, steps, args.repeats, dev))
    print("\nevaluation overhead at K=8, default schedule vs start+end only (one eval ≈ N steps):")
    for o in overheads:
        print(
            f"  {o['workload']:16} +{o['extra_evaluations']} evals: ensemble "
            f"{100 * o['ensemble_overhead']:+.0f}% (≈{o['ensemble_eval_cost_in_steps']:.1f}), "
            f"sequential {100 * o['sequential_overhead']:+.0f}% "
            f"(≈{o['sequential_eval_cost_in_steps']:.1f})"
        )
    goals = targets(rows, peak)
    print("\ntargets:" if goals else f"\ntargets: need K={TARGET_K} (not run)")
    for g in goals:
        print(f"  {'PASS' if g['pass'] else 'MISS'}  {g['target']}: {g['value']:.2f}")
    out = args.out or Path(__file__).parent / "results" / f"ensemble-{info['hostname']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    info["load_avg_end"] = os.getloadavg()[0]
    note = f"sequential timed on min(K, {SEQ_CAP}) runs and scaled linearly to K (per model-step)"
    out.write_text(
        json.dumps(
            {
                "machine": info,
                "matmul_peak_gflops": peak,
                "sequential_cap": SEQ_CAP,
                "note": note,
                "rows": rows,
                "eval_overhead": overheads,
                "targets": goals,
            },
            indent=2,
        )
    )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
