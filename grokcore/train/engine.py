"""Batched ensembles: K runs of the same architecture trained as one tensor program.

All K members' parameters live in one flat (K, P) tensor. The forward pass is the
ordinary single-member `nn.Module` run under `torch.func.vmap` with each row
viewed back into parameter shapes; the loss is the *sum* of the members' own mean
losses, so one backward pass yields every member's own gradient. α-scaling, the
optimizer with its weight-decay schedules and the norm constraint (the last two in
grokcore/train/optim.py) are then a few tensor operations on (K, P) rows, each member
with its own lr, γ(step), α and seed.
A member's history equals the single run of its config (tests/test_engine.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import Literal, Protocol

import numpy as np
import torch
from torch.func import functional_call, vmap

from grokcore import env, seeds, stopping
from grokcore.config import MnistTask, RunConfig, eval_schedule
from grokcore.data import TaskData, build_data
from grokcore.data.augment import Augmenter
from grokcore.device import keep_freed_memory
from grokcore.history import History
from grokcore.models import build_model, param_groups, traced_params
from grokcore.train.objective import (
    BatchSampler,
    draw_indices,
    draw_noise,
    noise_generator,
    per_sample_correct,
    per_sample_loss,
)
from grokcore.train.optim import EnsembleOptimizer, NormProjection
from grokcore.train.static import StaticStep

Progress = Callable[[int, int, dict[str, np.ndarray]], None]
EVAL_CHUNK = 1024  # samples per evaluation forward pass: bounds memory, and is faster on CPU


class _Split:
    """One split (train or test) of all members: shared tensors, or stacked per member.

    Members' splits have one size: the ensemble key holds the split sizes exactly, since a
    member padded to a longer split would round its sums differently from the run alone."""

    def __init__(
        self, xs: Sequence[torch.Tensor], ys: Sequence[torch.Tensor], device: torch.device
    ):
        self.shared = all(x is xs[0] for x in xs) and all(y is ys[0] for y in ys)
        self.sizes = [len(y) for y in ys]
        if self.shared:
            self.x, self.y = xs[0].to(device), ys[0].to(device)
            return
        if len(set(self.sizes)) > 1:
            raise ValueError(f"members' splits differ in size {sorted(set(self.sizes))}")
        self.x = torch.stack(list(xs)).to(device)
        self.y = torch.stack(list(ys)).to(device)

    def leave(self, keep: list[int]) -> None:
        """Only the members `keep` (indices into the current K) stay."""
        self.sizes = [self.sizes[j] for j in keep]
        if self.shared:
            return
        self.x, self.y = self.x[keep], self.y[keep]

    def take(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows `idx` (K, B) of each member's split -> (K, B, ...) inputs and targets."""
        if self.shared:
            return self.x[idx], self.y[idx]
        rows = torch.arange(idx.shape[0], device=idx.device)[:, None]
        return self.x[rows, idx], self.y[rows, idx]


def _augmenter(configs: Sequence[RunConfig]) -> Augmenter | None:
    """The per-member MNIST augmentation (li-sakib §4), or None when no member augments."""
    sigmas = [c.task.augment if isinstance(c.task, MnistTask) else 0.0 for c in configs]
    if not any(sigmas):
        return None
    return Augmenter(sigmas, [seeds.generator(seeds.AUGMENT, c.seed) for c in configs])


def _subset(d: TaskData, c: RunConfig) -> TaskData:
    """A continued run's training set D': `start.subset` samples of its parent's training
    split, drawn from the child's seed and kept in the split's order (so D' = D is the split
    itself); the test split stays the parent's."""
    if c.start is None or c.start.subset is None:
        return d
    n = len(d.y_train)
    if c.start.subset > n:
        raise ValueError(f"D' = {c.start.subset} is larger than the parent's {n} training samples")
    idx = torch.randperm(n, generator=seeds.generator(seeds.SUBSET, c.seed))[: c.start.subset]
    idx = idx.sort().values
    return dataclasses.replace(d, x_train=d.x_train[idx], y_train=d.y_train[idx])


def _parents(configs: list[RunConfig], starts: Sequence[History | None] | None) -> list[History]:
    """The parents' histories of an ensemble of continued runs, in member order, or [] for an
    ensemble of runs that start from an init (the ensemble key never mixes the two)."""
    if all(c.start is None for c in configs):
        return []
    if starts is None or len(starts) != len(configs) or any(h is None for h in starts):
        raise ValueError("continued runs need their parents' histories (grokcore.runs.run)")
    out = [h for h in starts if h is not None]
    for c, h in zip(configs, out, strict=True):
        assert c.start is not None
        if h.final_params is None:
            raise ValueError("a continued run's parent history holds no final weights")
        if c.step_offset and not h.final_optim:
            raise ValueError("a carried optimizer state needs the parent's (keep_optim=True)")
    return out


def _weights(h: History, size: int):
    """A parent's final weights as a row of an ensemble's (K, P) table."""
    w = np.asarray(h.final_params)
    if w.shape != (size,):
        raise ValueError(f"the parent's final weights have {w.size} numbers, the model {size}")
    return w


@contextlib.contextmanager
def _precision(precision: str, device: torch.device) -> Iterator[None]:
    """TF32 matmuls for the duration of one ensemble's training, restored afterwards."""
    if precision != "tf32" or device.type != "cuda":
        yield
        return
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


FLUSH_DENORMAL_ENV = "GROKCORE_FLUSH_DENORMAL"  # "0": keep subnormal floats on CPU


@contextlib.contextmanager
def _flush_denormal(device: torch.device) -> Iterator[None]:
    """On CPU, flush subnormal floats to zero for the duration of one ensemble's training.

    Weight decay drives parameters, gradients and Adam's second moments towards zero, and
    x86 cores compute on subnormal numbers (|x| < 1.2e-38 in float32) up to ~100× slower:
    the quick LS-WD2 ensemble took 201 s for 2,500 steps with them and 76 s flushed, and
    LS-MNIST's Adam row 167 s and 24 s, with equal final accuracies (`bench/bench_denormal.py`,
    one thread, 2-core CPU, 2026-12-05).
    Flushing changes values only below the smallest normal float. It acts on the calling
    thread (the one thread of an xdist worker); it is switched off again afterwards, which is
    torch's default. Set $GROKCORE_FLUSH_DENORMAL=0 to keep subnormals."""
    if device.type != "cpu" or not env.flag(FLUSH_DENORMAL_ENV, default=True):
        yield
        return
    flushed = torch.set_flush_denormal(True)  # False where the CPU cannot (then a no-op)
    try:
        yield
    finally:
        if flushed:
            torch.set_flush_denormal(False)


StepMode = Literal["auto", "eager", "static", "graph"]
GRAPH_ENV = "GROKCORE_CUDA_GRAPH"  # "0": train with the eager step on CUDA too


def step_mode(asked: StepMode, device: torch.device, augmented: bool) -> str:
    """How the ensemble takes its steps.

    eager: the host loop (the yardstick, and CPU's default); static: the step of
    grokcore/train/static.py run eagerly; graph: that step captured once as a CUDA graph
    and replayed. auto: graph on CUDA (unless $GROKCORE_CUDA_GRAPH is 0, or the batches
    are augmented, which kornia does on the host's schedule), eager elsewhere.
    """
    if asked == "graph" and device.type != "cuda":
        raise ValueError(f"step='graph' needs a CUDA device, not {device}")
    if asked != "auto":
        return asked
    if device.type != "cuda" or augmented or not env.flag(GRAPH_ENV, default=True):
        return "eager"
    return "graph"


class Ensemble:
    """K runs sharing an `ensemble_key` (same architecture, loss, batch size, step budget)."""

    def __init__(
        self,
        configs: Sequence[RunConfig],
        device: torch.device | str = "cpu",
        step: StepMode = "auto",
        starts: Sequence[History | None] | None = None,
        from_init: bool = False,
    ):
        """starts: for each member that continues another run (`RunConfig.start`), its
        parent's History with the final weights (and optimizer state, where it is carried);
        None for the others. `grokcore.runs` reads or trains the parents first.
        from_init: continued runs start from their model's init and a fresh optimizer instead
        (their D' is kept), for callers that only time the steps (`grokcore.estimate`'s
        probe) or set the weights themselves (`grokcore.landscape`, `grokcore.numerics`)."""
        if not configs:
            raise ValueError("an ensemble needs at least one run config")
        keys = {c.ensemble_key() for c in configs}
        if len(keys) > 1:
            raise ValueError(
                "configs differ in architecture/loss/batch/steps: "
                "use grokcore.runs.run(), which groups them"
            )
        self.configs = list(configs)
        self.device = torch.device(device)
        self.step_mode = step_mode(step, self.device, _augmenter(self.configs) is not None)
        if self.device.type == "cpu":
            keep_freed_memory()
        self.k = len(configs)
        self._trained = False
        self.cfg = configs[0]  # fields shared by every member (ensemble key)
        self.dtype = self.cfg.torch_dtype
        self.data: list[TaskData] = [_subset(build_data(c.task, c.split_seed), c) for c in configs]
        # optimizer steps taken before step 1: a carried state's (shared: the ensemble key)
        self.step_offset = self.cfg.step_offset
        d0 = self.data[0]
        modules = [
            build_model(c.model, d.n_in, d.n_out, c.seed)
            for c, d in zip(configs, self.data, strict=True)
        ]
        base = modules[0]
        # Parameter-free tensors (the Power model's sinusoidal positions) join every call.
        self.buffers = {
            n: (b.to(self.dtype) if b.is_floating_point() else b).to(self.device)
            for n, b in base.named_buffers()
        }
        named = list(base.named_parameters())
        self.names = [n for n, _ in named]
        self.shapes = [p.shape for _, p in named]
        self.sizes = [p.numel() for _, p in named]
        self.groups = {
            g: [self.names.index(n) for n in ns] for g, ns in param_groups(modules[0]).items()
        }
        self.traced = {n: self.names.index(n) for n in traced_params(modules[0])}
        flat = torch.stack(
            [torch.cat([p.detach().reshape(-1) for p in m.parameters()]) for m in modules]
        ).to(self.dtype)
        self.alpha = torch.tensor([c.init_scale for c in configs], dtype=flat.dtype).view(-1, 1)
        parents = [] if from_init else _parents(self.configs, starts)
        if parents:  # continued runs: their parents' final weights, not an init
            flat = torch.stack([torch.from_numpy(_weights(h, flat.shape[1])) for h in parents])
            flat = flat.to(self.dtype)
        self.flat = (flat * self.alpha).to(self.device)  # α = 1 for a continued run (config)
        self.optim = EnsembleOptimizer(
            [c.optim for c in configs], self.dtype, self.device, self.sizes
        )
        if parents and self.step_offset:  # a carried state (only carried runs have an offset)
            self.optim.load([h.final_optim for h in parents], self.flat, self.step_offset)
        self.projection = NormProjection(self.flat, [c.constrain_norm for c in configs])
        self.base = base.to("meta")
        self.train_split = self._split([(d.x_train, d.y_train) for d in self.data])
        self.test_split = self._split([(d.x_test, d.y_test) for d in self.data])
        self.task_data = d0  # kind and threshold: equal for all members (ensemble key)
        if d0.templates is not None:  # but each member has its own regression templates
            stacked = torch.stack([d.templates for d in self.data if d.templates is not None])
            stacked = stacked.to(self.device)
            self.task_data = dataclasses.replace(d0, templates=stacked)
        self._fwd = vmap(self._member_forward, in_dims=(0, 0, None))
        self._fwd_shared = vmap(self._member_forward, in_dims=(0, None, None))
        self._fwd_noise = vmap(self._member_forward, in_dims=(0, 0, 0))
        self._fwd_shared_noise = vmap(self._member_forward, in_dims=(0, None, 0))

    def _split(self, pairs: list[tuple[torch.Tensor, torch.Tensor]]) -> _Split:
        """One split of every member, in the model's own input/target form and the run's dtype.

        A model may read more than (x, y) (the Power transformer is teacher-forced on the
        answer) or predict several tokens: its parameter-free `inputs`/`targets` say how.
        Members that share their data tensors keep sharing them.
        """
        cast: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = {}
        inputs = getattr(self.base, "inputs", None)
        targets = getattr(self.base, "targets", None)

        def convert(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            key = (id(x), id(y))
            if key not in cast:
                xi = inputs(x, y) if inputs is not None else x
                yi = targets(y) if targets is not None else y
                xi = xi.to(self.dtype) if xi.is_floating_point() else xi
                yi = yi.to(self.dtype) if yi.is_floating_point() else yi
                cast[key] = (xi, yi)
            return cast[key]

        conv = [convert(x, y) for x, y in pairs]
        return _Split([x for x, _ in conv], [y for _, y in conv], self.device)

    # -- forward ----------------------------------------------------------------------
    def _member_forward(
        self, row: torch.Tensor, x: torch.Tensor, noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        params = {
            n: t.view(s)
            for n, t, s in zip(self.names, row.split(self.sizes), self.shapes, strict=True)
        }
        kwargs = {} if noise is None else {"noise": noise}
        return functional_call(self.base, params | self.buffers, (x,), kwargs)

    def forward(
        self, flat: torch.Tensor, x: torch.Tensor, batched: bool, noise: torch.Tensor | None = None
    ) -> torch.Tensor:
        if noise is None:
            return (self._fwd if batched else self._fwd_shared)(flat, x, None)
        return (self._fwd_noise if batched else self._fwd_shared_noise)(flat, x, noise)

    def _noise(self, gens: list[torch.Generator] | None, batch: int) -> torch.Tensor | None:
        """Per-member embedding noise from each member's own seeded generator."""
        if gens is None:
            return None
        noise_shape = getattr(self.base, "noise_shape", None)
        assert noise_shape is not None  # train() draws noise only for a model that takes it
        return draw_noise(gens, noise_shape(batch)).to(self.device, self.dtype)

    # -- evaluation -------------------------------------------------------------------
    @torch.no_grad()
    def _eval_split(
        self, split: _Split, zeros: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Mean loss and accuracy of every member on `split`, and with `zeros` the share of
        its samples whose loss (in the run's loss dtype) is exactly 0.0, else None."""
        self.base.eval()
        n = split.y.shape[0] if split.shared else split.y.shape[1]
        loss_sum = torch.zeros(self.k, device=self.device, dtype=torch.float64)
        corr_sum = torch.zeros(self.k, device=self.device, dtype=torch.float64)
        zero_sum = torch.zeros(self.k, device=self.device, dtype=torch.float64) if zeros else None
        for a in range(0, n, EVAL_CHUNK):
            sl = slice(a, min(a + EVAL_CHUNK, n))
            if split.shared:
                x, y = split.x[sl], split.y[sl]
            else:
                x, y = split.x[:, sl], split.y[:, sl]
            out = self.forward(self.flat, x, not split.shared)
            cfg = self.cfg
            losses = per_sample_loss(out, y, self.task_data, cfg.loss, cfg.loss_dtype)
            loss_sum += losses.sum(-1)
            corr_sum += per_sample_correct(out, y, self.task_data).float().sum(-1)
            if zero_sum is not None:
                zero_sum += (losses == 0).to(zero_sum.dtype).sum(-1)
        sizes = torch.tensor(split.sizes, dtype=loss_sum.dtype, device=self.device)
        self.base.train()
        share = None if zero_sum is None else (zero_sum / sizes).cpu().double().numpy()
        mean_loss, acc = (loss_sum / sizes).cpu().double().numpy(), (corr_sum / sizes)
        return mean_loss, acc.cpu().double().numpy(), share

    @torch.no_grad()
    def _norms(self) -> dict[str, np.ndarray]:
        rows = self.flat.split(self.sizes, dim=1)
        out = {"norm": self.flat.norm(dim=1).cpu().double().numpy()}
        for g, idx in self.groups.items():
            sq = sum(rows[i].pow(2).sum(1) for i in idx)
            out[f"group/{g}"] = sq.sqrt().cpu().double().numpy()
        for name, i in self.traced.items():  # (K, size): the values themselves
            out[f"trace/{name}"] = rows[i].cpu().double().numpy()
        return out

    def evaluate(self) -> dict[str, np.ndarray]:
        """Full-split loss and accuracy and weight norms of every member, as (K,) arrays."""
        zeros = any(c.keep_zero_loss for c in self.configs)
        tl, ta, zl = self._eval_split(self.train_split, zeros)
        vl, va, _ = self._eval_split(self.test_split)
        out = {"train_loss": tl, "train_acc": ta, "test_loss": vl, "test_acc": va}
        if zl is not None:  # only when a member asks (RunConfig.keep_zero_loss)
            out["zero_loss_share"] = zl
        return out | self._norms()

    # -- training ---------------------------------------------------------------------
    def _batch(
        self, samplers: list[BatchSampler] | None
    ) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """Inputs, targets and whether x, y are per-member (K, B, ...)."""
        s = self.train_split
        if samplers is None:
            return s.x, s.y, not s.shared
        x, y = s.take(draw_indices(samplers).to(self.device))
        return x, y, True

    def train(self, progress: Progress | None = None) -> list[History]:
        """Train every member for the shared step budget, or until its stopping rule ends it
        (`RunConfig.stop`, grokcore/stopping.py); return one History per member, in order.
        An ensemble trains once: afterwards it holds the members still active at the end."""
        if self._trained:
            raise RuntimeError("this ensemble has trained already: build a new one")
        self._trained = True
        cfg = self.cfg
        schedule = eval_schedule(cfg.steps, cfg.eval_points, cfg.eval_every)
        samplers = None
        if cfg.batch_size is not None and cfg.batch_size < min(self.train_split.sizes):
            samplers = [
                BatchSampler(n, cfg.batch_size, c.seed)
                for n, c in zip(self.train_split.sizes, self.configs, strict=True)
            ]
        noise_gens = None
        if getattr(self.base, "noise_shape", lambda b: None)(1) is not None:
            noise_gens = [noise_generator(c.seed) for c in self.configs]
        self._augment = _augmenter(self.configs)
        self.base.train()
        with _precision(cfg.precision, self.device), _flush_denormal(self.device):
            if self.step_mode == "eager":
                stepper: _Stepper = _EagerStep(self, samplers, noise_gens)
            else:
                stepper = StaticStep(self, samplers, noise_gens, capture=self.step_mode == "graph")
            return self._loop(stepper, schedule, progress)

    def _loop(
        self, stepper: _Stepper, schedule: list[int], progress: Progress | None
    ) -> list[History]:
        """Take every step in turn, evaluating at step 0 and at each step of `schedule`; after
        an evaluation, the members whose stopping rule fires there leave the ensemble."""
        steps, members = self.cfg.steps, self.configs
        active = list(range(self.k))  # which of the original members the rows hold now
        records: list[tuple[list[int], dict[str, np.ndarray]]] = [(active, self.evaluate())]
        losses: dict[int, np.ndarray] = {}  # the batch losses of members that left
        stopped: dict[int, int] = {}
        rules = any(c.stop for c in members)
        seen: dict[int, list[tuple[float, float]]] = {i: [] for i in active}  # accuracies
        if rules:
            self._note(seen, active, records[-1][1])
        next_eval = 1
        for step in range(1, steps + 1):
            stepper(step)
            if step != schedule[next_eval]:
                continue
            records.append((active, self.evaluate()))
            next_eval += 1
            if progress is not None:
                progress(step, steps, records[-1][1])
            if not rules or step == steps:
                continue
            self._note(seen, active, records[-1][1])
            stop = self._stops(step, schedule[:next_eval], seen, active, stepper.batch_loss)
            if not stop:
                continue
            table = stepper.batch_loss[:step].cpu().numpy()
            for j in stop:
                losses[active[j]], stopped[active[j]] = table[:, j].copy(), step
            keep = [j for j in range(len(active)) if j not in stop]
            active = [active[j] for j in keep]
            if not active:
                break
            self._leave(keep)
            stepper.leave(keep)
        if active:
            table = stepper.batch_loss.cpu().numpy()
            for j, i in enumerate(active):
                losses[i] = table[:, j]
        self.flat = self.flat.detach()  # the members still active: configs, k and rows agree
        final_rows = {i: j for j, i in enumerate(active)}
        return self._histories(members, schedule, records, losses, stopped, final_rows)

    def _stops(
        self,
        step: int,
        evaluated: list[int],
        seen: dict[int, list[tuple[float, float]]],
        active: list[int],
        batch_loss: torch.Tensor,
    ) -> list[int]:
        """Rows (of the current K) whose stopping rule stops them at `step`, an evaluated
        step. A member whose batch loss has not stayed finite never stops early: its curves
        after the divergence are NaN (`_histories`), where no rule can fire."""
        out = []
        finite: np.ndarray | None = None
        for j, i in enumerate(active):
            c = self.configs[j]
            if not c.stop:
                continue
            tr, te = np.array(seen[i]).T
            at = stopping.stop_step(c.stop, np.asarray(evaluated), tr, te, c.steps)
            if at is None or at > step:
                continue
            if finite is None:
                finite = torch.isfinite(batch_loss[:step]).all(0).cpu().numpy()
            if finite[j]:
                out.append(j)
        return out

    @staticmethod
    def _note(seen: dict, active: list[int], rec: dict[str, np.ndarray]) -> None:
        """Add an evaluation's accuracies to each active member's record, for its rule."""
        for j, i in enumerate(active):
            seen[i].append((float(rec["train_acc"][j]), float(rec["test_acc"][j])))

    def _leave(self, keep: list[int]) -> None:
        """Only the rows `keep` (indices into the current K) stay: every per-member tensor
        and list loses the others' rows. A member's arithmetic never reads another's row
        (tests/test_engine.py), so those that stay train on exactly as before."""
        self.configs = [self.configs[j] for j in keep]
        self.data = [self.data[j] for j in keep]
        self.k = len(keep)
        self.flat = self.flat.detach()[keep]
        self.alpha = self.alpha[keep]
        self.optim.leave(keep)
        self.projection.leave(keep)
        self.train_split.leave(keep)
        self.test_split.leave(keep)
        if self.task_data.templates is not None and self.task_data.templates.dim() == 3:
            self.task_data = dataclasses.replace(
                self.task_data, templates=self.task_data.templates[keep]
            )
        if self._augment is not None:
            self._augment = Augmenter(
                [self._augment.sigmas[j] for j in keep],
                [self._augment.generators[j] for j in keep],
            )

    def _histories(
        self,
        members: list[RunConfig],
        schedule: list[int],
        records: list[tuple[list[int], dict[str, np.ndarray]]],
        losses: dict[int, np.ndarray],
        stopped: dict[int, int],
        final_rows: dict[int, int],
    ) -> list[History]:
        """One History per original member: its evaluations while it was active, its batch
        losses, and its final row of `flat` (`final_rows`: member -> row) if it kept one."""
        out = []
        for i, c in enumerate(members):
            rows = [(r, act.index(i)) for act, r in records if i in act]
            cols = {k: np.array([r[k][j] for r, j in rows]) for k in rows[0][0]}  # (T_i, ...)
            steps = np.asarray(schedule[: len(rows)], dtype=np.int64)
            batch_loss = losses[i]
            bad = np.flatnonzero(~np.isfinite(batch_loss))
            diverged_at = int(bad[0]) + 1 if len(bad) else None
            if diverged_at is not None:  # nothing after divergence may pass for a curve value
                after = steps >= diverged_at
                for k in ("train_loss", "train_acc", "test_loss", "test_acc", "zero_loss_share"):
                    if k in cols:
                        cols[k][after] = np.nan
            out.append(
                History(
                    steps=steps,
                    train_loss=cols["train_loss"],
                    train_acc=cols["train_acc"],
                    test_loss=cols["test_loss"],
                    test_acc=cols["test_acc"],
                    norm=cols["norm"],
                    group_norms={
                        k.split("/", 1)[1]: v for k, v in cols.items() if k.startswith("group/")
                    },
                    traces={
                        k.split("/", 1)[1]: v for k, v in cols.items() if k.startswith("trace/")
                    },
                    batch_loss=batch_loss.astype(np.float32)
                    if c.keep_batch_loss
                    else np.zeros(0, np.float32),
                    budget=c.steps,
                    config=c.to_dict(),
                    diverged_at=diverged_at,
                    stopped_at=stopped.get(i),
                    stop_rule="; ".join(r.describe() for r in c.stop) if i in stopped else "",
                    zero_loss_share=cols["zero_loss_share"] if c.keep_zero_loss else np.zeros(0),
                    **self._kept_params(final_rows.get(i), c),
                )
            )
        return out

    def _kept_params(self, row_index: int | None, c: RunConfig) -> dict:
        """A member's final parameters (row `row_index` of `flat`) and optimizer state for
        `History`, where its config asks to keep them (a config that keeps them never stops
        early)."""
        out: dict = {}
        if not (c.keep_optim or c.keep_params):
            return out
        assert row_index is not None, "a run that keeps its weights trains its whole budget"
        if c.keep_optim:
            out["final_optim"] = self.optim.export(row_index, self.step_offset + c.steps)
        if not c.keep_params:
            return out
        row = self.flat[row_index]
        shapes = {n: tuple(s) for n, s in zip(self.names, self.shapes, strict=True)}
        return out | {"final_params": row.detach().cpu().numpy().copy(), "param_shapes": shapes}


class _Stepper(Protocol):
    """How an ensemble takes its steps: the eager loop (`_EagerStep`) or the graph-ready
    step (grokcore/train/static.py). Each keeps the (steps, K) batch losses."""

    batch_loss: torch.Tensor

    def __call__(self, step: int) -> None: ...

    def leave(self, keep: list[int]) -> None: ...


class _EagerStep:
    """The host loop's step: batch, forward, gradient, optimizer update, norm projection."""

    def __init__(
        self,
        ens: Ensemble,
        samplers: list[BatchSampler] | None,
        noise_gens: list[torch.Generator] | None,
    ):
        self.ens, self.samplers, self.noise_gens = ens, samplers, noise_gens
        self.batch_loss = torch.zeros(ens.cfg.steps, ens.k, device=ens.device)
        self.bf16 = ens.cfg.precision == "bf16"

    def __call__(self, step: int) -> None:
        ens = self.ens
        x, y, batched = ens._batch(self.samplers)
        if ens._augment is not None:  # li-sakib §4: each member's batch, its own angles
            x, batched = ens._augment(x if batched else x.expand(ens.k, *x.shape)), True
        flat = ens.flat.requires_grad_(True)
        with torch.autocast(ens.device.type, torch.bfloat16, enabled=self.bf16):
            out = ens.forward(flat, x, batched, ens._noise(self.noise_gens, y.shape[-1]))
        out = out.to(ens.dtype)  # the loss, its gradient and the update in `dtype`
        cfg = ens.cfg
        losses = per_sample_loss(out, y, ens.task_data, cfg.loss, cfg.loss_dtype)
        loss = losses.mean(-1)
        (g,) = torch.autograd.grad(loss.sum(), flat)
        ens.flat = flat.detach()
        with torch.no_grad():
            ens.optim.step(ens.flat, g, step + ens.step_offset)
            ens.projection(ens.flat)
        self.batch_loss[step - 1] = loss.detach()

    def leave(self, keep: list[int]) -> None:
        if self.samplers is not None:
            self.samplers = [self.samplers[j] for j in keep]
        if self.noise_gens is not None:
            self.noise_gens = [self.noise_gens[j] for j in keep]
        self.batch_loss = self.batch_loss[:, keep]
