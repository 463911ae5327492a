"""How long an ensemble will train, said before it starts.

A step of a K-member ensemble costs a fixed dispatch overhead plus arithmetic:

    seconds ≈ steps · (overhead + K · flops_per_step / rate)
            + evaluations · (overhead + K · flops_per_eval / rate)

flops_per_step is the usual 6 · (dense parameters) · (samples · positions) of a forward
and backward pass (Kaplan et al. 2020, §2.1); embedding lookups cost nothing and are left
out. A transformer's last block runs only its keys and values at every position, and its
queries, attention output and MLP, with the final LN and the unembed, only at the positions
the loss reads (`grokcore/models/transformer.py`), so each weight counts the positions it
runs at, plus attention's own products (`forward_flops`). `overhead` and `rate` are
measured once per process and device by `calibrate`: the step time of a one-member
ensemble of a tiny model, and the throughput of a batched matmul of a training step's
shape, derated by `EFFICIENCY` (the elementwise work, the optimizer and the evaluation run
below matmul speed: on this project's 2-core CPU machine the quick embedding MLP at K = 33
reached 25 GFLOP/s against 40-50 for bare `bmm`).

`bench/bench_estimate.py` compares the estimate with measured times: on this project's
2-core CPU machine it came within 0.6-2.0× on five workloads (teacher-student, the
embedding MLP full batch and batch 64, MNIST; `bench/results/estimate-vm.json`). On an
H200 (2026-12-04, the paper tier's own progress lines) it said 2.1-2.2× the measured time
for the Nanda transformer and 4× for teacher-student, and was right for the batch-32
LSTM. Two causes were fixed after that run, not yet re-measured on a GPU: the overhead
calibration timed about 60 evaluations as if they were steps (the tiny run's default
evaluation grid), and the 16×512×128 product took less time than its launch on a GPU.
It is a guide, not a promise; the running ETA replaces it once steps are timed.

On a GPU the step is a replayed CUDA graph whose time is set by how many kernels it
launches, which no FLOP count sees: on the H200 the formula said 93 s for RP-LATEWD's
24-run LSTM ensemble at batch 32, which took 337 s. So on CUDA `estimate` measures instead
(`step_seconds`): it trains the chunk itself for `PROBE_STEPS` and 2·`PROBE_STEPS` steps and
takes the difference, and times one evaluation, once per ensemble shape and size in a
process (a second or two each). `GROKCORE_ESTIMATE=probe` or `=flops` chooses either way on
any device.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from grokcore import env as grokcore_env
from grokcore.config import (
    MLP,
    ImdbTask,
    Qm9Task,
    Recurrent,
    RunConfig,
    TeacherStudentTask,
    Transformer,
    eval_schedule,
)
from grokcore.cost import data_shape

DType = Literal["float32", "float64"]
EFFICIENCY = 0.5  # training-step throughput / bare batched-matmul throughput (see above)


@dataclass(frozen=True)
class Calibration:
    """Per-step dispatch overhead (s) and sustained arithmetic rate (FLOP/s) of a device."""

    overhead_s: float
    flops_per_s: float


def _positions(cfg: RunConfig) -> int:
    """Token positions each sample runs through the dense layers (1 for a vector input;
    transformers count theirs per layer, in `forward_flops`)."""
    t, m = cfg.task, cfg.model
    if isinstance(m, Recurrent):
        return 4  # "x + y ="
    if isinstance(t, ImdbTask):
        return t.seq_len
    if isinstance(t, Qm9Task):
        from grokcore.data.qm9 import MAX_ATOMS

        return MAX_ATOMS
    return 1


def _meta_model(cfg: RunConfig) -> nn.Module | None:
    """The run's model on the meta device (shapes, no memory), or None if it cannot build."""
    from grokcore.models import build_model

    n_in, n_out, *_ = data_shape(cfg)
    try:
        with torch.device("meta"):
            return build_model(cfg.model, n_in, n_out, 0)
    except Exception:  # an estimate must never be what fails a run
        return None


def _numel(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def dense_params(cfg: RunConfig) -> int:
    """Parameters that multiply every sample (all but embedding tables), without allocating."""
    model = _meta_model(cfg)
    if model is None:
        return 0
    lookups = sum(p.numel() for m in model.modules() if isinstance(m, nn.Embedding)
                  for p in m.parameters(recurse=False))  # fmt: skip
    return _numel(model) - lookups


def forward_flops(cfg: RunConfig, full: bool = False) -> float:
    """FLOPs of one sample's forward pass: 2 per weight and position it runs at.

    A transformer's blocks before the last run at all t positions; the last runs its keys
    and values (rows d.. of `qkv`) at all t and its other weights, the final LN and the
    unembed at the n it reads. Attention adds q·k and att·v, 2·d per query and key each
    (a fraction of a percent at d = 128). `full` counts the last block at all t as well
    (`TransformerNet.full`, the computation before only the read positions ran).
    """
    if not isinstance(cfg.model, Transformer):
        return 2.0 * dense_params(cfg) * _positions(cfg)
    from grokcore.models.transformer import TransformerNet

    model = _meta_model(cfg)
    if not isinstance(model, TransformerNet):
        return 0.0
    t, n, d = model.n_ctx, model.n_read, model.d_model
    *early, last = model.blocks
    kv = 2 * d * d
    macs = t * sum(_numel(b) + 2 * t * d for b in early)
    macs += n * (_numel(model.ln_f) + _numel(model.unembed))
    q = t if full else n  # the last block's queries
    macs += t * kv + q * (_numel(last) - kv + 2 * t * d)
    return 2.0 * macs


def flops(cfg: RunConfig, full: bool = False) -> tuple[float, float]:
    """(FLOPs of one training step, FLOPs of one evaluation on both splits) for one member.

    `full`: of a transformer that runs its last block at every position (`forward_flops`)."""
    _, _, n_train, n_test, _ = data_shape(cfg)
    batch = min(cfg.batch_size or n_train, n_train)
    per_sample = forward_flops(cfg, full)  # a forward pass; backward is twice that
    return 3.0 * per_sample * batch, per_sample * (n_train + n_test)


@functools.cache
def calibrate(device: str = "cpu", dtype: DType = "float32") -> Calibration:
    """Measure this device once per process (about a second): overhead and matmul rate."""
    from grokcore.train.engine import Ensemble

    def timed(steps: int) -> float:
        tiny = RunConfig(
            task=TeacherStudentTask(d_in=2, d_out=2, n_train=4, n_test=4),
            model=MLP(hidden=(4,), act="tanh"),
            loss="mse",
            steps=steps,
            eval_points=2,
            eval_every=steps,  # the default grid (steps // 50) would add evaluations to the step
            dtype=dtype,
        )
        t0 = time.perf_counter()
        Ensemble([tiny], torch.device(device)).train()
        return time.perf_counter() - t0

    timed(10)  # first calls build kernels and caches
    overhead = max((timed(120) - timed(20)) / 100, 1e-5)  # per step, set-up cancelled out

    dev = torch.device(device)
    dt = torch.float64 if dtype == "float64" else torch.float32
    # on a GPU a CPU-sized product takes less time than its launch: measure a larger one
    rows = 4096 if dev.type == "cuda" else 512
    a = torch.randn(16, rows, 128, device=dev, dtype=dt)
    b = torch.randn(16, 128, 128, device=dev, dtype=dt)
    for _ in range(3):
        torch.bmm(a, b)
    reps, t0 = 20, time.perf_counter()
    for _ in range(reps):
        torch.bmm(a, b)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    rate = reps * 2.0 * a.numel() * b.shape[-1] / (time.perf_counter() - t0)
    return Calibration(overhead_s=overhead, flops_per_s=EFFICIENCY * rate)


def seconds(chunk: Sequence[RunConfig], cal: Calibration) -> float:
    """Estimated wall time of training `chunk` as one ensemble."""
    cfg, k = chunk[0], len(chunk)
    step, ev = flops(cfg)
    n_evals = len(eval_schedule(cfg.steps, cfg.eval_points, cfg.eval_every))
    # an evaluation is forward passes only, at bare matmul speed (no optimizer, no backward)
    bare = cal.flops_per_s / EFFICIENCY
    return cfg.steps * (cal.overhead_s + k * step / cal.flops_per_s) + n_evals * (
        cal.overhead_s + k * ev / bare
    )


PROBE_STEPS = 10
_probed: dict[tuple, tuple[float, float]] = {}  # (ensemble key, K, device) -> (step, eval) s


def mode(device: torch.device) -> Literal["probe", "flops"]:
    """How `estimate` prices a step: measured on CUDA, the FLOP formula elsewhere, unless
    GROKCORE_ESTIMATE says "probe" or "flops"."""
    asked = grokcore_env.choice("GROKCORE_ESTIMATE", ("probe", "flops"))
    if asked is not None:
        return asked  # type: ignore[return-value]
    return "probe" if torch.device(device).type == "cuda" else "flops"


def step_seconds(chunk: Sequence[RunConfig], device: torch.device) -> tuple[float, float]:
    """Measured seconds of one training step, and of one evaluation, of `chunk` as one
    ensemble on `device`.

    The chunk trains for n and 2n steps (n = PROBE_STEPS) with evaluations only at the ends;
    the difference over n leaves the step of a long run (building, CUDA-graph capture and the
    evaluations cancel out). An evaluation (both full splits) is timed on its own.
    Memoized per ensemble shape, size and device."""
    from grokcore.train.engine import Ensemble

    dev = torch.device(device)
    key = (chunk[0].ensemble_key(), len(chunk), str(dev))
    if key in _probed:
        return _probed[key]

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    def timed(n: int) -> float:
        short = [c.replace(steps=n, eval_points=2, eval_every=n) for c in chunk]
        t0 = time.perf_counter()
        Ensemble(short, dev, from_init=True).train()  # a continued run's step costs the same
        sync()
        return time.perf_counter() - t0

    timed(2)  # first calls build kernels, caches and cuBLAS handles
    n = PROBE_STEPS
    step = max((min(timed(2 * n), timed(2 * n)) - min(timed(n), timed(n))) / n, 1e-6)
    ens = Ensemble(list(chunk), dev, from_init=True)
    ens.evaluate()
    sync()
    t0 = time.perf_counter()
    ens.evaluate()
    sync()
    _probed[key] = (step, time.perf_counter() - t0)
    return _probed[key]


def seconds_probed(chunk: Sequence[RunConfig], step_s: float, eval_s: float) -> float:
    """Seconds of `chunk` at its measured step and evaluation times."""
    cfg = chunk[0]
    return (
        cfg.steps * step_s + len(eval_schedule(cfg.steps, cfg.eval_points, cfg.eval_every)) * eval_s
    )


def estimate(
    chunks: Sequence[Sequence[RunConfig]], device: torch.device, probe: bool = True
) -> float:
    """Estimated seconds to train all `chunks` on `device`, one after another. `probe=False`
    keeps to the formula where nothing should train, not even a probe's few steps."""
    if not chunks:
        return 0.0
    dtype = chunks[0][0].dtype
    cal = calibrate(str(device), dtype)
    if not probe or mode(device) == "flops":
        return sum(seconds(ch, cal) for ch in chunks)
    total = 0.0
    for ch in chunks:
        try:
            total += seconds_probed(ch, *step_seconds(ch, device))
        except Exception:  # a probe that cannot run (memory, say) falls back to the formula
            total += seconds(ch, cal)
    return total


__all__ = [
    "EFFICIENCY",
    "Calibration",
    "calibrate",
    "dense_params",
    "estimate",
    "flops",
    "forward_flops",
    "mode",
    "seconds",
    "seconds_probed",
    "step_seconds",
]
