"""The transformers' step with the last block at the read positions only, against the full one.

`TransformerNet` runs its last block's queries, attention output and MLP, its final LN and
its unembed only at the positions the loss reads ("=" for Nanda, "=" and c for Power); keys
and values still run at every position (issue 23, item 4). `TransformerNet.full = True` is
the computation before. This times a training step's forward and backward both ways, in one
process, alternating the order every repeat (this 2-core VM's speed drifts by 20% within
minutes), through the engine's own vmapped forward (`Ensemble.forward`) on the members'
own batches: the optimizer's update, the same either way, is left out. It reports the ms a
step, the ratio new/old per repeat (median, min-max), and the FLOPs a step by
`grokcore.estimate.flops` (new, full, and the formula as it stood before: 6 · dense
parameters · 3 or 5 positions), and writes bench/results/positions-HOST.json.

    python bench/bench_positions.py                      # CPU, K = 1 and 8, ~2 min
    python bench/bench_positions.py --device cuda --k 1 64
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from _results import write_results

from grokcore import estimate
from grokcore.config import ModularTask, Optimizer, RunConfig, Transformer
from grokcore.train.engine import Ensemble
from grokcore.train.objective import BatchSampler, draw_indices, per_sample_loss

WORKLOADS = {
    # Nanda et al. / omnigrok §5: 1 layer, d_model 128, p = 113, frac 0.3, full batch (3,831)
    "nanda": dict(
        task=ModularTask(op="x+y", p=113, train_frac=0.3),
        model=Transformer(),
        optim=Optimizer(lr=1e-3, betas=(0.9, 0.98), weight_decay=1.0),
    ),
    # arn / li-sakib: openai/grok's 2-layer Power transformer, x ÷ y mod 97, batch 512
    "power": dict(
        task=ModularTask(op="x/y", p=97, train_frac=0.3),
        model=Transformer.power(),
        optim=Optimizer("adamw", lr=1e-3, betas=(0.9, 0.98), weight_decay=1.0),
        batch_size=512,
    ),
}


def formula_before(cfg: RunConfig) -> float:
    """FLOPs of a step by `grokcore.estimate` before this change: 6 · dense parameters ·
    samples · positions, with 3 positions for Nanda and 5 for Power."""
    from grokcore.cost import data_shape

    n_train = data_shape(cfg)[2]
    batch = min(cfg.batch_size or n_train, n_train)
    assert isinstance(cfg.model, Transformer)
    return 6.0 * estimate.dense_params(cfg) * batch * (5 if cfg.model.tokens == "power" else 3)


def stepper(ens: Ensemble):
    """One forward and backward of every member on its next batch (the engine's own calls)."""
    cfg, split = ens.cfg, ens.train_split
    samplers = None
    if cfg.batch_size is not None and cfg.batch_size < min(split.sizes):
        samplers = [
            BatchSampler(n, cfg.batch_size, c.seed)
            for n, c in zip(split.sizes, ens.configs, strict=True)
        ]

    def step() -> None:
        if samplers is None:
            x, y, batched = split.x, split.y, not split.shared
        else:
            (x, y), batched = split.take(draw_indices(samplers).to(ens.device)), True
        flat = ens.flat.detach().requires_grad_(True)
        out = ens.forward(flat, x, batched)
        loss = per_sample_loss(out, y, ens.task_data, cfg.loss).mean(-1)
        torch.autograd.grad(loss.sum(), flat)

    return step


def ms_per_step(step, n: int, dev: torch.device) -> float:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return 1e3 * (time.perf_counter() - t0) / n


def case(workload: str, k: int, dev: torch.device, repeats: int, n: int) -> dict:
    cfgs = [RunConfig(**WORKLOADS[workload], steps=10, seed=s) for s in range(k)]
    ens = Ensemble(cfgs, dev)
    base = ens.base
    step = stepper(ens)
    times: dict[bool, list[float]] = {False: [], True: []}
    for full in (False, True):  # warm-up: kernels, allocator
        base.full = full
        step()
    for r in range(repeats):
        for full in (r % 2 == 0, r % 2 == 1):  # old first on even repeats, new first on odd
            base.full = full
            times[full].append(ms_per_step(step, n, dev))
    base.full = False
    ratios = [a / b for a, b in zip(times[False], times[True], strict=True)]
    new, old = estimate.flops(cfgs[0])[0], estimate.flops(cfgs[0], full=True)[0]
    row = {
        "workload": workload,
        "k": k,
        "device": str(dev),
        "batch": cfgs[0].batch_size or min(ens.train_split.sizes),
        "steps_per_timing": n,
        "ms_new": {"median": statistics.median(times[False]), "samples": times[False]},
        "ms_old": {"median": statistics.median(times[True]), "samples": times[True]},
        "ratio_new_over_old": {
            "median": statistics.median(ratios),
            "min": min(ratios),
            "max": max(ratios),
        },
        "flops_per_member_step": {
            "new": new,
            "old": old,
            "formula_before": formula_before(cfgs[0]),
            "new_over_old": new / old,
            "new_over_formula_before": new / formula_before(cfgs[0]),
        },
    }
    print(
        f"{workload:>6} K={k:<3} {dev}: new {row['ms_new']['median']:8.1f} ms, "
        f"old {row['ms_old']['median']:8.1f} ms, new/old {row['ratio_new_over_old']['median']:.3f} "
        f"[{min(ratios):.3f}, {max(ratios):.3f}]; FLOPs new/old {new / old:.3f} "
        f"(new/formula before {new / formula_before(cfgs[0]):.3f})",
        flush=True,
    )
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", choices=["cpu", "cuda", "both"], default="both",
                    help="both: the CPU, and CUDA where it is available")  # fmt: skip
    ap.add_argument("--k", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--workloads", nargs="+", choices=list(WORKLOADS), default=list(WORKLOADS))
    ap.add_argument("--repeats", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] if args.device in ("cpu", "both") else []
    if args.device == "cuda" or (args.device == "both" and torch.cuda.is_available()):
        devices.append(torch.device("cuda"))
    if args.device == "both" and not torch.cuda.is_available():
        print("no CUDA device: CPU only")
    rows = []
    for dev in devices:
        for workload in args.workloads:
            for k in args.k:
                # steps per timing: about a second of the old step on this CPU at each K
                n = 2 if dev.type == "cpu" and (workload == "nanda" or k > 1) else 6
                rows.append(case(workload, k, dev, args.repeats, 20 if dev.type == "cuda" else n))
    write_results(
        "positions",
        args.out,
        rows,
        torch=torch.__version__,
        threads=args.threads,
        cuda=torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        note="a step here is forward + backward through Ensemble.forward (vmapped), no update",
    )


if __name__ == "__main__":
    main()
