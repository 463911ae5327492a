"""The training step with no host work in it, so that CUDA can replay it as one graph.

The eager step (`Ensemble._train_loop`) costs 2-5 ms of Python and kernel launches
on a GPU whatever K is (issue 7's H100 measurements): for the small models of the
grokking papers that is most of the step. Here every input that changes from step to
step lives in a fixed device buffer:

- the step counter t is a device scalar, advanced inside the step;
- lr(t), γ(t), AdamW's shrink 1 − lr·γ, the bias corrections and the per-member step
  sizes are computed from t on the device, in float64 and rounded once to the run's
  dtype, exactly as `EnsembleOptimizer.schedule` computes them on the host;
- minibatch indices and embedding noise are drawn on the host from the members' own
  seeded generators, as the eager loop draws them, a block of steps at a time, and
  copied to the device once per block; the step reads its row with `index_select`.

So `StaticStep.step()` makes no host-device synchronisation and no host-side
decision: `torch.cuda.graph` captures forward, gradient, optimizer update and norm
projection (grokcore/train/optim.py) once, and every later step is one `replay()`. On a
CPU (and as the fallback if a capture fails) the same `step()` runs eagerly;
tests/test_static_step.py checks that it trains the same runs as the eager loop and as
the reference trainer.
"""

from __future__ import annotations

import math
import warnings
from typing import Protocol

import torch
from torch import nn

from grokcore.config import RunConfig
from grokcore.data import TaskData
from grokcore.train.objective import (
    BatchSampler,
    draw_indices,
    draw_noise,
    per_sample_loss,
)
from grokcore.train.optim import EnsembleOptimizer, NormProjection, Schedule

BLOCK_BYTES = 32 * 2**20  # host-drawn minibatch indices and noise copied per block, at most
WARMUP_STEPS = 3  # eager steps on a side stream before capture (cuBLAS handles, allocator)


class CaptureFailed(RuntimeWarning):
    """A CUDA graph could not be captured; the ensemble trains on with the eager step."""


class Split(Protocol):
    """One split of every member (`grokcore.train.engine._Split`)."""

    x: torch.Tensor
    y: torch.Tensor
    shared: bool

    def take(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...


class Stepped(Protocol):
    """What the step reads of the ensemble it steps, and its parameter rows `flat`, which
    it replaces by one leaf updated in place (`grokcore.train.engine.Ensemble`; a protocol,
    so that this module does not import the engine that imports it)."""

    cfg: RunConfig
    configs: list[RunConfig]
    device: torch.device
    dtype: torch.dtype
    k: int
    flat: torch.Tensor
    task_data: TaskData
    optim: EnsembleOptimizer
    projection: NormProjection

    @property
    def base(self) -> nn.Module: ...

    @property
    def train_split(self) -> Split: ...

    def forward(
        self, flat: torch.Tensor, x: torch.Tensor, batched: bool, noise: torch.Tensor | None = None
    ) -> torch.Tensor: ...


class StaticStep:
    """One optimizer step of every member of `ens`, reading only fixed device buffers."""

    def __init__(
        self,
        ens: Stepped,
        samplers: list[BatchSampler] | None,
        noise_gens: list[torch.Generator] | None,
        capture: bool = False,
    ):
        self.ens, self.optim, self.projection = ens, ens.optim, ens.projection
        self.capture = capture  # replay a CUDA graph of the step (else take it eagerly)
        self._graph: torch.cuda.CUDAGraph | None = None
        self._captured = False  # a capture was tried at the current K
        self._warm = WARMUP_STEPS  # side-stream steps still to take before capturing
        dev, k = ens.device, ens.k
        self.steps = ens.cfg.steps
        self.samplers, self.noise_gens = samplers, noise_gens
        o = [c.optim for c in ens.configs]

        def col(values: list[float]) -> torch.Tensor:
            return torch.tensor(values, dtype=torch.float64, device=dev).view(-1, 1)

        self.lr = col([x.lr for x in o])
        self.warm = col([float(x.warmup_steps) for x in o])
        self.gamma = col([x.weight_decay for x in o])
        self.on = col([-math.inf if x.wd_on_at is None else float(x.wd_on_at) for x in o])
        self.off = col([math.inf if x.wd_off_at is None else float(x.wd_off_at) for x in o])
        self.t = torch.zeros((), dtype=torch.float64, device=dev)  # the last step taken
        # optimizer steps a carried state has taken before this run's first (config.step_offset)
        self.offset = float(ens.cfg.step_offset)
        self.batch_loss = torch.zeros(self.steps, k, device=dev)
        self.optim.allocate(ens.flat)  # before capture: a step allocates nothing that outlives it
        ens.flat = ens.flat.detach().requires_grad_(True)  # one leaf, updated in place
        self.idx_block: torch.Tensor | None = None
        self.noise_block: torch.Tensor | None = None
        self._blocks(k)

    def leave(self, keep: list[int]) -> None:
        """Only the members `keep` (indices into the current K) stay (the ensemble has
        already dropped the others' rows, `Ensemble._leave`). Their inputs already drawn
        for the current block stay theirs; a graph is captured again at the new K."""
        ens = self.ens
        for name in ("lr", "warm", "gamma", "on", "off"):
            setattr(self, name, getattr(self, name)[keep])
        self.batch_loss = self.batch_loss[:, keep]
        if self.samplers is not None:
            self.samplers = [self.samplers[j] for j in keep]
        if self.noise_gens is not None:
            self.noise_gens = [self.noise_gens[j] for j in keep]
        if self.idx_block is not None:
            self.idx_block = self.idx_block[:, keep].contiguous()
        if self.noise_block is not None:
            self.noise_block = self.noise_block[:, keep].contiguous()
        ens.flat = ens.flat.detach().requires_grad_(True)
        # one side-stream step at the new shapes before capturing again
        self._graph, self._captured, self._warm = None, False, max(self._warm, 1)

    # -- host-drawn inputs, a block of steps at a time -----------------------------------
    def _blocks(self, k: int) -> None:
        ens, dev = self.ens, self.ens.device
        per_step = 0
        self.idx_block = self.noise_block = None
        if self.samplers is not None:
            b = self.samplers[0].batch_size
            per_step += 8 * k * b
        if self.noise_gens is not None:
            shape = ens.base.noise_shape(self._batch_size())  # type: ignore[operator]
            self.noise_shape = tuple(shape)
            per_step += 4 * k * math.prod(shape)
        self.rows = max(1, min(1024, BLOCK_BYTES // max(per_step, 1)))
        if self.samplers is not None:
            self.idx_block = torch.zeros(self.rows, k, b, dtype=torch.long, device=dev)
        if self.noise_gens is not None:
            self.noise_block = torch.zeros(self.rows, k, *self.noise_shape, device=dev)
            self.noise_block = self.noise_block.to(ens.dtype)
        self.slot = torch.zeros(1, dtype=torch.long, device=dev)

    def _batch_size(self) -> int:
        if self.samplers is not None:
            return self.samplers[0].batch_size
        return self.ens.train_split.y.shape[-1 if self.ens.train_split.shared else 1]

    def feed(self, step: int) -> None:
        """Before step `step` (1-based): at a block's start, draw the next block's inputs."""
        if (step - 1) % self.rows or (self.samplers is None and self.noise_gens is None):
            return
        n = min(self.rows, self.steps - step + 1)
        if self.samplers is not None and self.idx_block is not None:
            idx = torch.stack([draw_indices(self.samplers) for _ in range(n)])
            self._upload(self.idx_block, idx)
        if self.noise_gens is not None and self.noise_block is not None:
            noise = torch.stack([draw_noise(self.noise_gens, self.noise_shape) for _ in range(n)])
            self._upload(self.noise_block, noise.to(self.ens.dtype))

    def _upload(self, block: torch.Tensor, host: torch.Tensor) -> None:
        cuda = block.device.type == "cuda"
        # pinned memory lets the copy queue behind the steps still running (no host sync)
        block[: len(host)].copy_(host.pin_memory() if cuda else host, non_blocking=cuda)

    # -- the step ---------------------------------------------------------------------
    def schedule(self) -> Schedule:
        """lr, γ, AdamW's keep factor, step sizes and √(1 − β2^t) at step t, on the device.

        The same float64 arithmetic as `Optimizer.lr_at`/`decay_at` and
        `EnsembleOptimizer.schedule` on the host, rounded once to the run's dtype. lr, γ
        and keep come out bit for bit; the β powers to within an ulp of β^t, as `torch.pow`
        on a tensor and libm's pow may round differently (tests/test_static_step.py).
        """
        t, dt = (self.t + self.offset if self.offset else self.t), self.ens.dtype
        warming = (self.warm > 0) & (t <= self.warm)
        lr = torch.where(warming, self.lr * (t - 1) / self.warm.clamp(min=1), self.lr)
        on = (t >= self.on) & ~(t >= self.off)
        wd = torch.where(on, self.gamma, torch.zeros_like(self.gamma))
        out = Schedule(weight_decay=wd.to(dt), keep=(1 - lr * wd).to(dt), lr=lr.to(dt))
        opt = self.ens.cfg.optim
        if opt.name in ("adam", "adamw"):
            b1, b2 = opt.betas
            out.step_size = (lr / (1 - torch.pow(b1, t))).to(dt)
            out.bc2 = torch.sqrt(1 - torch.pow(b2, t)).to(dt)
        return out

    def step(self) -> None:
        """Advance every member by one step; reads and writes device buffers only."""
        ens, cfg = self.ens, self.ens.cfg
        with torch.no_grad():
            self.t.add_(1)
            sched = self.schedule()
            self.slot.copy_((self.t - 1).remainder(self.rows).long().view(1))
        split = ens.train_split
        noise = None
        if self.noise_block is not None:
            noise = self.noise_block.index_select(0, self.slot).squeeze(0)
        if self.idx_block is not None:
            x, y = split.take(self.idx_block.index_select(0, self.slot).squeeze(0))
            batched = True
        else:
            x, y, batched = split.x, split.y, not split.shared
        bf16 = cfg.precision == "bf16"
        with torch.autocast(ens.device.type, torch.bfloat16, enabled=bf16, cache_enabled=False):
            out = ens.forward(ens.flat, x, batched, noise)
        out = out.to(ens.dtype)
        loss = per_sample_loss(out, y, ens.task_data, cfg.loss, cfg.loss_dtype).mean(-1)
        (g,) = torch.autograd.grad(loss.sum(), ens.flat)
        with torch.no_grad():
            self.optim.apply(ens.flat, g, sched)
            self.projection(ens.flat)
            row = (self.t - 1).long().view(1)
            self.batch_loss.index_copy_(0, row, loss.detach().to(self.batch_loss.dtype)[None])

    # -- CUDA graph -------------------------------------------------------------------
    def __call__(self, step: int) -> None:
        """Take step `step` (1-based): eagerly, or on CUDA warm-up steps then graph replays."""
        self.feed(step)
        if not self.capture:
            self.step()
            return
        if self._warm > 0:
            self._warm -= 1
            self._side_stream_step()
            return
        if not self._captured:
            self._graph, self._captured = self._capture(), True
        if self._graph is None:
            self.step()
        else:
            self._graph.replay()

    def _side_stream_step(self) -> None:
        side = torch.cuda.Stream(self.ens.device)
        side.wait_stream(torch.cuda.current_stream(self.ens.device))
        with torch.cuda.stream(side):
            self.step()
        torch.cuda.current_stream(self.ens.device).wait_stream(side)

    def _capture(self) -> torch.cuda.CUDAGraph | None:
        """Capture `step()` as a CUDA graph, or None (with a warning) if it cannot be.

        Capturing executes nothing, so a failed capture leaves every buffer as it was
        and the step is simply taken eagerly.
        """
        graph = torch.cuda.CUDAGraph()
        try:
            with torch.cuda.graph(graph):
                self.step()
        except Exception as exc:
            torch.cuda.synchronize(self.ens.device)
            warnings.warn(
                f"CUDA graph capture failed ({type(exc).__name__}: {exc}); "
                "this ensemble trains with the eager step",
                CaptureFailed,
                stacklevel=2,
            )
            return None
        return graph
