"""The ensemble's optimizer: torch.optim's Adam, AdamW and SGD on (K, P) parameter rows.

The K members' parameters are the rows of one flat (K, P) tensor (grokcore/train/engine.py).
Each member has its own lr(t), γ(t) and warm-up, from its own `Optimizer` config; the rest
(the name, β, ε, momentum) is shared, being part of the ensemble key. A member's numbers
depend on its own config alone, so a run trains bit for bit alike whatever its companions
(the cache relies on that: one key, one result).

A step is taken one of two ways:
- `EnsembleOptimizer.step` (the eager loop's): the schedule built on the host
  (`EnsembleOptimizer.schedule`), then, for Adam and AdamW on CPU, torch's fused kernel on
  each member's row (`fused_adam_available`), else the elementwise update;
- `EnsembleOptimizer.apply`: the elementwise update alone, given a `Schedule`; the
  graph-ready step (grokcore/train/static.py) computes its schedule on the device.
`NormProjection` then puts the members that constrain their norm back on it.

Before either, `filter_grad` applies the gradient filters of the members that ask for them
(Grokfast's EMA, then ⊥Grad), row by row, so that a member's gradient depends on its own
row alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from grokcore import env
from grokcore.config import Optimizer

FUSED_ADAM_ENV = "GROKCORE_FUSED_ADAM"  # "0": the elementwise Adam update on CPU too


@dataclass
class Schedule:
    """One step's per-member numbers, (K, 1) in the run's dtype: built on the host by
    `EnsembleOptimizer.schedule`, or as device tensors by the graph-ready step."""

    weight_decay: torch.Tensor  # γ(t)
    keep: torch.Tensor  # AdamW's shrink factor 1 − lr(t)·γ(t)
    lr: torch.Tensor  # lr(t)
    step_size: torch.Tensor | None = None  # Adam: lr(t)/(1 − β1^t)
    bc2: float | torch.Tensor | None = None  # Adam: √(1 − β2^t)
    # for the fused kernel, which takes one lr: each distinct lr and the members that have it
    lr_members: list[tuple[float, list[int]]] = field(default_factory=list)


@dataclass
class OptimizerState:
    """What the optimizer keeps between steps, as (K, P) tensors; None until it is needed."""

    m: torch.Tensor | None = None  # Adam's first moment
    v: torch.Tensor | None = None  # Adam's second moment
    denom: torch.Tensor | None = None  # scratch: √v̂ + ε, then the update
    buf: torch.Tensor | None = None  # SGD's momentum buffer
    # the fused kernel's per-member views of m and v (rows of the tensors above)
    m_rows: tuple[torch.Tensor, ...] = ()
    v_rows: tuple[torch.Tensor, ...] = ()
    ema: torch.Tensor | None = None  # Grokfast's gradient EMA
    ema_started: torch.Tensor | None = None  # (K, 1) bool: the EMA holds a first gradient


def _sqrt_floor(o: Optimizer, dtype: torch.dtype, device: torch.device) -> float | None:
    """A floor for Adam's second moment v under the square root of the elementwise update
    (`EnsembleOptimizer.apply`, which on CPU runs in the static step and wherever torch has
    no fused Adam) that leaves every update bit-for-bit as it was, or None where there is no
    such floor (or no need for one).

    On x86 CPUs torch's vectorized √ takes a slow path for exact zeros: (3, 81,610) zeros
    take 1.3-1.9 ms against 0.05-0.09 ms for positive numbers (one thread, 2026-12-06).
    Adam's v is exactly zero wherever a gradient has always been zero, which is common:
    the weights reading MNIST's blank border pixels, the embedding rows of tokens no batch
    holds. Clamping v at the smallest normal number `tiny` changes √v only where v < tiny,
    from at most √tiny to √tiny; divided by √(1 − β2^t) ≥ √(1 − β2) that is still below
    half an ulp of ε, so √v/√(1 − β2^t) + ε rounds to ε exactly as before.
    """
    if device.type != "cpu" or o.name not in ("adam", "adamw"):
        return None
    fi = torch.finfo(dtype)
    largest_change = math.sqrt(fi.tiny) / math.sqrt(1 - o.betas[1])
    half_ulp_of_eps = o.eps * fi.eps / 4  # ulp(ε) ≥ ε·2^(1−p) = ε·finfo.eps/2
    return fi.tiny if largest_change < half_ulp_of_eps else None


def fused_adam_available(o: Optimizer, device: torch.device) -> bool:
    """Whether the eager step uses torch's fused Adam kernel: for Adam and AdamW on CPU,
    where this torch has it, unless $GROKCORE_FUSED_ADAM is 0. Elsewhere the elementwise
    update `EnsembleOptimizer.apply` runs (it is also the graph-ready step's, on every
    device)."""
    return (
        device.type == "cpu"
        and o.name in ("adam", "adamw")
        and hasattr(torch, "_fused_adam_")
        and env.flag(FUSED_ADAM_ENV, default=True)
    )


class EnsembleOptimizer:
    """The optimizer of K members' (K, P) parameter rows, one `Optimizer` config each.

    fused: whether `step` calls torch's fused Adam kernel (`fused_adam_available`).
    v_floor: the floor under Adam's √v in the elementwise update (`_sqrt_floor`), or None.
    state: the moments; last_schedule: the host schedule of the last step `step` took.
    """

    def __init__(
        self,
        optims: Sequence[Optimizer],
        dtype: torch.dtype,
        device: torch.device,
        sizes: Sequence[int] | None = None,
    ):
        """sizes: the numel of each parameter tensor, in the order of a row (⊥Grad works per
        tensor; without them a row is one tensor)."""
        self.optims = list(optims)
        self.sizes = list(sizes) if sizes is not None else None
        self.o = self.optims[0]  # name, betas, eps, momentum, warm-up: shared (ensemble key)
        self.dtype, self.device = dtype, device
        self.v_floor = _sqrt_floor(self.o, dtype, device)
        self.fused = fused_adam_available(self.o, device)
        self.state = OptimizerState()
        self.last_schedule: Schedule | None = None
        self._switch_steps = {
            t for x in self.optims for t in (x.wd_on_at, x.wd_off_at) if t is not None
        }
        self.orthograd = any(x.orthograd for x in self.optims)
        self.grokfast = any(x.grokfast is not None for x in self.optims)
        if self.orthograd:
            self._ortho = self._mask([x.orthograd for x in self.optims])
        if self.grokfast:
            gf = [x.grokfast or (0.0, 0.0) for x in self.optims]
            self._gf_alpha = self._column([a for a, _ in gf])
            self._gf_keep = self._column([1 - a for a, _ in gf])
            self._gf_lamb = self._column([lamb for _, lamb in gf])

    def _mask(self, values: list[bool]) -> torch.Tensor:
        return torch.tensor(values).view(-1, 1).to(self.device)

    @property
    def adam(self) -> bool:
        return self.o.name in ("adam", "adamw")

    def allocate(self, flat: torch.Tensor) -> None:
        """Create the state before the first step, so that no step allocates what outlives
        it (a CUDA graph's capture). A zero momentum buffer is exact: momentum·0 + g = g."""
        state = self.state  # a state carried from a parent run (`load`) is kept
        if self.adam:
            for name in ("m", "v", "denom"):
                if getattr(state, name) is None:
                    setattr(state, name, torch.zeros_like(flat))
        elif self.o.momentum and state.buf is None:
            state.buf = torch.zeros_like(flat)
        if self.grokfast and state.ema is None:
            state.ema = torch.zeros_like(flat)
            state.ema_started = torch.zeros(flat.shape[0], 1, dtype=torch.bool, device=flat.device)

    # -- a state carried from run to run (config.Continuation) ----------------------------
    STATE_NAMES = ("m", "v", "buf", "ema", "ema_started")

    def export(self, row: int, step: int) -> dict:
        """Member `row`'s state after optimizer step `step`, as numpy arrays (`History.
        final_optim`): what `load` needs to go on as if the run had never stopped."""
        out = {"step": np.array([step], dtype=np.int64)}
        for name in self.STATE_NAMES:
            t = getattr(self.state, name)
            if t is not None:
                out[name] = t[row].detach().cpu().numpy().copy()
        return out

    def load(self, states: Sequence[dict], flat: torch.Tensor, step: int) -> None:
        """Every member's state from its parent's `export` (all members carry one: the
        ensemble key keeps carried and fresh runs apart), which must have reached `step`."""
        for i, st in enumerate(states):
            if int(st["step"][0]) != step:
                raise ValueError(
                    f"member {i}: its parent's optimizer stopped at step {int(st['step'][0])}, "
                    f"not {step}"
                )
        state = self.state
        for name in self.STATE_NAMES:
            have = [name in st for st in states]
            if not any(have):
                continue
            if not all(have):
                raise ValueError(f"the parents' optimizer states do not all hold {name!r}")
            rows = torch.stack([torch.from_numpy(np.asarray(st[name])) for st in states])
            setattr(state, name, rows.to(flat.device))
        if state.m is not None and state.v is not None:
            state.m, state.v = state.m.to(flat.dtype), state.v.to(flat.dtype)
            state.denom = torch.zeros_like(flat)
            if self.fused:
                state.m_rows, state.v_rows = state.m.unbind(0), state.v.unbind(0)

    # -- gradient filters ---------------------------------------------------------------
    def filter_grad(self, flat: torch.Tensor, g: torch.Tensor) -> None:
        """Grokfast's EMA filter, then ⊥Grad, in place on `g`, for the members that ask.

        Grokfast (ironjr/grokfast `grokfast.py`):

            grads[n] = grads[n] * alpha + p.grad.data.detach() * (1 - alpha)
            p.grad.data = p.grad.data + grads[n] * lamb

        where `grads` starts as the first gradient itself. ⊥Grad (LucasPrietoAl/grokking-
        at-the-edge-of-numerical-stability `orthograd.py`), for each parameter tensor:

            proj = torch.dot(w, g) / w_norm_sq          # w_norm_sq = w·w + 1e-30
            g_orth = g - proj * w
            g_orth_norm = g_orth.norm(2) + 1e-30
            g_orth_scaled = g_orth * (g_norm / g_orth_norm)

        A member without a filter keeps its gradient bit for bit (`torch.where`).
        """
        state = self.state
        if self.grokfast:
            if state.ema is None or state.ema_started is None:
                state.ema = torch.zeros_like(g)
                state.ema_started = torch.zeros(g.shape[0], 1, dtype=torch.bool, device=g.device)
            ema = state.ema
            ema.copy_(torch.where(state.ema_started, ema, g))
            ema.mul_(self._gf_alpha).add_(g * self._gf_keep)
            state.ema_started.fill_(True)
            g.copy_(torch.where(self._gf_lamb > 0, g + ema * self._gf_lamb, g))
        if self.orthograd:
            sizes = self.sizes or [g.shape[1]]
            for w, gs in zip(flat.split(sizes, 1), g.split(sizes, 1), strict=True):
                proj = (w * gs).sum(1, keepdim=True) / ((w * w).sum(1, keepdim=True) + 1e-30)
                orth = gs - proj * w
                scale = gs.norm(dim=1, keepdim=True) / (orth.norm(dim=1, keepdim=True) + 1e-30)
                gs.copy_(torch.where(self._ortho, orth * scale, gs))

    def leave(self, keep: list[int]) -> None:
        """Only the members `keep` (indices into the current K) stay: their configs and
        rows of the state. The host schedule is rebuilt at the next step, from their configs
        alone, so it holds the same numbers as before."""
        self.optims = [self.optims[j] for j in keep]
        state = self.state
        for name in ("m", "v", "denom", "buf", "ema", "ema_started"):
            t = getattr(state, name)
            if t is not None:
                setattr(state, name, t[keep])
        if self.orthograd:
            self._ortho = self._ortho[keep]
        if self.grokfast:
            self._gf_alpha, self._gf_keep = self._gf_alpha[keep], self._gf_keep[keep]
            self._gf_lamb = self._gf_lamb[keep]
        if state.m_rows:
            assert state.m is not None and state.v is not None
            state.m_rows, state.v_rows = state.m.unbind(0), state.v.unbind(0)
        self.last_schedule = None
        self._switch_steps = {
            t for x in self.optims for t in (x.wd_on_at, x.wd_off_at) if t is not None
        }

    # -- the schedule, on the host ------------------------------------------------------
    def _column(self, values: list[float]) -> torch.Tensor:
        """(K, 1) per-member scalars, computed in float64 on the host and rounded once,
        as torch.optim rounds its Python-float hyperparameters."""
        return torch.tensor(values, dtype=torch.float64).view(-1, 1).to(self.device, self.dtype)

    def schedule(self, step: int) -> Schedule:
        """Per-member γ(step), AdamW's shrink factor 1 − lr(step)·γ(step) and lr(step), and
        for the elementwise Adam update the step sizes and √(1 − β2^step).

        Called in step order. γ, keep and lr are rebuilt only while warming up and at steps
        where some decay schedule switches, and the step sizes only until the bias
        correction 1 − β1^t reaches 1, so most steps make no host-to-device copy.
        """
        o, s = self.o, self.last_schedule
        warm = o.warmup_steps
        if s is None or step in self._switch_steps or step <= warm + 1:
            wd = self._column([x.decay_at(step) for x in self.optims])
            keep = self._column([1 - x.lr_at(step) * x.decay_at(step) for x in self.optims])
            lrs = [x.lr_at(step) for x in self.optims]
            members: dict[float, list[int]] = {}
            for i, lr in enumerate(lrs):
                members.setdefault(lr, []).append(i)
            if s is None:
                s = Schedule(wd, keep, self._column(lrs))
            else:
                s.weight_decay, s.keep, s.lr = wd, keep, self._column(lrs)
            s.lr_members = list(members.items())  # for the fused kernel: one call per lr
        if self.adam and not self.fused:
            b1, b2 = o.betas
            s.bc2 = math.sqrt(1 - b2**step)
            # per-member step sizes lr/(1 − β1^t), each rounded once from float64 as
            # torch.optim does
            if s.step_size is None or step <= warm + 1 or 1 - b1 ** (step - 1) != 1:
                s.step_size = self._column([x.lr_at(step) / (1 - b1**step) for x in self.optims])
        self.last_schedule = s
        return s

    # -- the update ---------------------------------------------------------------------
    def step(self, flat: torch.Tensor, g: torch.Tensor, step: int) -> None:
        """One optimizer step of all members' rows `flat`, in place, with gradient `g` (which
        it overwrites) and its schedule from the host."""
        sched = self.schedule(step)
        if self.fused:
            self.filter_grad(flat, g)  # `apply` filters its own
            self._fused_adam(flat, g, step, sched)
        else:
            self.apply(flat, g, sched)

    def apply(self, flat: torch.Tensor, g: torch.Tensor, sched: Schedule) -> None:
        """The update itself, in torch.optim's order of operations, given step `sched` (host
        numbers or, for the graphed step, device tensors; grokcore/train/static.py).

        The (K, P) buffers are allocated once: fresh multi-MB temporaries every step cost
        more than the arithmetic (page faults), see bench/README.md.
        """
        o, state = self.o, self.state
        if self.grokfast or self.orthograd:
            self.filter_grad(flat, g)
        self._decay(flat, g, sched)
        if o.name == "sgd":
            if o.momentum:  # torch.optim.SGD: the buffer starts as the first gradient
                if state.buf is not None:
                    state.buf.mul_(o.momentum).add_(g)
                else:
                    state.buf = g.clone()
                g = state.buf
            flat.addcmul_(g, sched.lr, value=-1.0)
            return
        assert sched.step_size is not None and sched.bc2 is not None
        b1, b2 = o.betas
        if state.m is None or state.v is None or state.denom is None:
            state.m, state.v, state.denom = (torch.zeros_like(flat) for _ in range(3))
        m, v, denom = state.m, state.v, state.denom
        m.lerp_(g, 1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        if self.v_floor is not None:  # √0 is ~20× slower than √x on x86 (see _sqrt_floor)
            v = torch.clamp_min(v, self.v_floor, out=denom)
        torch.sqrt(v, out=denom).div_(sched.bc2).add_(o.eps)
        # g is reused as the scratch buffer (it is not needed again)
        torch.div(m, denom, out=g).mul_(sched.step_size)
        flat.sub_(g)

    def _decay(self, flat: torch.Tensor, g: torch.Tensor, sched: Schedule) -> None:
        """Weight decay, in place: AdamW's decoupled shrink before the Adam step
        (torch.optim.AdamW), else the L2 penalty through the gradient (Adam, SGD)."""
        if self.o.name == "adamw":
            flat.mul_(sched.keep)
        else:
            g.addcmul_(flat, sched.weight_decay)

    def _fused_adam(self, flat: torch.Tensor, g: torch.Tensor, step: int, sched: Schedule):
        """The eager step's Adam/AdamW on CPU: `apply`'s weight decay, then the kernel that
        `torch.optim.Adam(fused=True)` calls, which updates m, v and the weights in one pass
        where `apply` makes eleven (~3× faster on CPU, bench/bench_adam.py). The same
        arithmetic up to rounding. The kernel takes one lr and rounds its tail elements in
        scalar code, so it is called on each member's own row (its numbers then do not
        depend on its companions), one call per distinct lr."""
        o, state = self.o, self.state
        self._decay(flat, g, sched)
        if state.m is None or state.v is None:
            state.m, state.v = torch.zeros_like(flat), torch.zeros_like(flat)
            state.m_rows, state.v_rows = state.m.unbind(0), state.v.unbind(0)
        m, v, p, d = state.m_rows, state.v_rows, flat.unbind(0), g.unbind(0)
        count = [torch.tensor(float(step), dtype=torch.float32)]  # the kernel's step t
        b1, b2 = o.betas
        for lr, idx in sched.lr_members:
            torch._fused_adam_(
                [p[i] for i in idx], [d[i] for i in idx], [m[i] for i in idx],
                [v[i] for i in idx], [], count * len(idx),
                lr=lr, beta1=b1, beta2=b2, weight_decay=0.0, eps=o.eps, amsgrad=False,
                maximize=False,
            )  # fmt: skip


class NormProjection:
    """After each step, the members whose config constrains the norm (`constrain_norm`) are
    rescaled to the global L2 norm of their rows `flat` at the start."""

    def __init__(self, flat: torch.Tensor, constrain: Sequence[bool]):
        self.target_norm = flat.norm(dim=1, keepdim=True)
        self.constrained = list(constrain)
        mask = torch.tensor(self.constrained, dtype=flat.dtype).view(-1, 1)
        self.constrain = mask.to(flat.device).bool()
        self.active = any(constrain)  # decided once: no host sync inside a step

    def leave(self, keep: list[int]) -> None:
        """Only the members `keep` (indices into the current K) stay."""
        self.target_norm = self.target_norm[keep]
        self.constrain = self.constrain[keep]
        self.constrained = [self.constrained[j] for j in keep]
        self.active = any(self.constrained)

    def __call__(self, flat: torch.Tensor) -> None:
        if self.active:
            scale = self.target_norm / flat.norm(dim=1, keepdim=True)
            flat.mul_(torch.where(self.constrain, scale, torch.ones_like(scale)))


__all__ = [
    "FUSED_ADAM_ENV",
    "EnsembleOptimizer",
    "NormProjection",
    "OptimizerState",
    "Schedule",
    "fused_adam_available",
]
