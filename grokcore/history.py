"""Training histories: curves evaluated at log-spaced steps, stored as numpy arrays.

A `History` is what every metric, statistic and plot in grokcore reads. It holds
evaluations on the *full* train and test splits (never sampled batches) at the
steps listed in `steps`, plus the training objective at every single step
(`batch_loss`), which loss-spike detection needs at full resolution.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import numpy as np

CURVES = ("train_loss", "train_acc", "test_loss", "test_acc", "norm")


@dataclass(frozen=True, eq=False)
class History:
    """Curves of one run.

    steps: (T,) int64, increasing evaluated steps; 0 is the initialization.
    train_loss, train_acc, test_loss, test_acc: (T,) float64, on the full splits.
    norm: (T,) total L2 norm of all parameters.
    group_norms: name -> (T,) L2 norm of a parameter group (e.g. "attn_qkv").
    traces: parameter name -> (T, n) its values at every evaluated step, for the few small
        parameters a model lists in its `traced` attribute (the representation toy's
        embeddings, whose RQI over time is omnigrok §5.1's "time to generalize").
    batch_loss: (budget,) float32 training loss of the batch used at each step
        (step s -> index s-1), without the weight-decay term.
    budget: the number of optimizer steps trained (the censoring point).
    config: the run config as a JSON-able dict (for provenance).
    diverged_at: the first step whose training loss was not finite (NaN or inf), else None.
        The curves after it are NaN: a diverged run is never read as an ordinary history.
    final_params: the member's flat parameter vector after the last step (in the run's
        dtype), kept only for a config with `keep_params`; else None.
    param_shapes: name -> shape of each parameter, in the order `final_params` holds them
        (the module's `named_parameters()` order), so `unflatten` can rebuild the model.
    final_optim: the optimizer's final state, for a config with `keep_optim` (else empty):
        "step" (the optimizer steps taken, the parent's included where it was carried) and
        whichever of "m", "v" (Adam), "buf" (SGD momentum), "ema", "ema_started" (Grokfast)
        the optimizer holds, each the member's flat row; a carried `Continuation` reads it.
    stopped_at: the step where a stopping rule ended the run before its budget
        (`grokcore.stopping`), else None; the curves then end there, and `batch_loss` too.
    stop_rule: that rule, in words.
    zero_loss_share: (T,) share of the training samples whose per-sample loss is exactly 0.0
        at each evaluated step, in the run's loss dtype (BX-SC's softmax collapse, Prieto et
        al. 2025 §3), kept only for a config with `keep_zero_loss`; else empty.
    """

    steps: np.ndarray
    train_loss: np.ndarray
    train_acc: np.ndarray
    test_loss: np.ndarray
    test_acc: np.ndarray
    norm: np.ndarray
    budget: int
    group_norms: dict[str, np.ndarray] = field(default_factory=dict)
    batch_loss: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    config: dict = field(default_factory=dict)
    diverged_at: int | None = None
    final_params: np.ndarray | None = None
    param_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    traces: dict[str, np.ndarray] = field(default_factory=dict)
    stopped_at: int | None = None
    stop_rule: str = ""
    zero_loss_share: np.ndarray = field(default_factory=lambda: np.zeros(0))
    final_optim: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.steps)
        for name in CURVES:
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"History.{name} has {len(getattr(self, name))} points, steps has {n}"
                )
        for name, arr in self.group_norms.items():
            if len(arr) != n:
                raise ValueError(
                    f"History.group_norms[{name!r}] has {len(arr)} points, steps has {n}"
                )
        if len(self.zero_loss_share) not in (0, n):
            raise ValueError(
                f"History.zero_loss_share has {len(self.zero_loss_share)} points, steps has {n}"
            )
        for name, arr in self.traces.items():
            if np.ndim(arr) != 2 or len(arr) != n:
                raise ValueError(
                    f"History.traces[{name!r}] has shape {np.shape(arr)}, want ({n}, size)"
                )
        if n and np.any(np.diff(self.steps) <= 0):
            raise ValueError("History.steps must be strictly increasing")
        if self.final_params is not None:
            want = sum(int(np.prod(s)) for s in self.param_shapes.values())
            if self.final_params.ndim != 1 or self.final_params.size != want:
                raise ValueError(
                    f"History.final_params has shape {self.final_params.shape}, but "
                    f"param_shapes hold {want} numbers"
                )

    @property
    def trained_steps(self) -> int:
        """Optimizer steps this run took: its stop, else its budget."""
        return self.budget if self.stopped_at is None else self.stopped_at

    def until(self, step: int, rule: str) -> History:
        """This run as a stopping rule at `step` (an evaluated step) would have left it: the
        first part of its curves and batch losses, bit for bit, marked stopped there. Kept
        final weights are dropped: they are the weights at the budget, not at `step` (a
        request with a rule never keeps weights; another claim's request kept them)."""
        if step not in self.steps:
            raise ValueError(f"step {step} is not an evaluated step of this run")
        if self.stopped_at is not None and step > self.stopped_at:
            raise ValueError(f"this run stopped at {self.stopped_at}, before step {step}")
        n = int(np.searchsorted(self.steps, step, side="right"))
        return History(
            steps=self.steps[:n],
            **{name: getattr(self, name)[:n] for name in CURVES},
            budget=self.budget,
            group_norms={k: v[:n] for k, v in self.group_norms.items()},
            batch_loss=self.batch_loss[:step] if len(self.batch_loss) else self.batch_loss,
            config=self.config,
            diverged_at=self.diverged_at if self.diverged_at and self.diverged_at <= step else None,
            traces={k: v[:n] for k, v in self.traces.items()},
            stopped_at=step,
            stop_rule=rule,
            zero_loss_share=self.zero_loss_share[:n],
        )

    def unflatten(self) -> dict[str, np.ndarray]:
        """`final_params` as name -> array in its shape; ValueError if none were kept."""
        if self.final_params is None:
            raise ValueError("this run kept no final parameters: train it with keep_params=True")
        out, at = {}, 0
        for name, shape in self.param_shapes.items():
            size = int(np.prod(shape))
            out[name] = self.final_params[at : at + size].reshape(shape)
            at += size
        return out

    def at(self, step: int) -> dict[str, float]:
        """Curve values at the last evaluated step <= `step`."""
        i = int(np.searchsorted(self.steps, step, side="right")) - 1
        i = max(i, 0)
        out = {name: float(getattr(self, name)[i]) for name in CURVES}
        out["step"] = int(self.steps[i])
        return out

    # -- storage ---------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """Serialize to an in-memory .npz (compressed)."""
        arrays = {name: np.asarray(getattr(self, name)) for name in (*CURVES, "steps")}
        arrays["batch_loss"] = np.asarray(self.batch_loss, dtype=np.float32)
        for name, arr in self.group_norms.items():
            arrays[f"group_norm/{name}"] = np.asarray(arr)
        for name, arr in self.traces.items():
            arrays[f"trace/{name}"] = np.asarray(arr)
        if len(self.zero_loss_share):  # only where asked: every other payload is as it was
            arrays["zero_loss_share"] = np.asarray(self.zero_loss_share)
        meta = {"budget": int(self.budget), "config": self.config}
        if self.diverged_at is not None:
            meta["diverged_at"] = int(self.diverged_at)
        if self.stopped_at is not None:
            meta["stopped_at"], meta["stop_rule"] = int(self.stopped_at), self.stop_rule
        if self.final_params is not None:
            arrays["final_params"] = np.asarray(self.final_params)
            meta["param_shapes"] = [[k, list(v)] for k, v in self.param_shapes.items()]
        for name, arr in self.final_optim.items():
            arrays[f"optim/{name}"] = np.asarray(arr)
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        buf = io.BytesIO()
        # ignore: numpy's stub also matches **arrays against `allow_pickle: bool`
        np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> History:
        """Inverse of `to_bytes`; raises ValueError on a damaged or incomplete payload."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            meta = json.loads(arrays.pop("meta").tobytes().decode())
            groups = {
                k.split("/", 1)[1]: arrays.pop(k)
                for k in list(arrays)
                if k.startswith("group_norm/")
            }
            traces = {
                k.split("/", 1)[1]: arrays.pop(k) for k in list(arrays) if k.startswith("trace/")
            }
            optim = {
                k.split("/", 1)[1]: arrays.pop(k) for k in list(arrays) if k.startswith("optim/")
            }
            return cls(
                steps=arrays["steps"],
                **{name: arrays[name] for name in CURVES},
                batch_loss=arrays["batch_loss"],
                group_norms=groups,
                budget=int(meta["budget"]),
                config=meta["config"],
                diverged_at=meta.get("diverged_at"),
                final_params=arrays.get("final_params"),
                param_shapes={k: tuple(v) for k, v in meta.get("param_shapes", [])},
                traces=traces,
                stopped_at=meta.get("stopped_at"),
                stop_rule=meta.get("stop_rule", ""),
                zero_loss_share=arrays.get("zero_loss_share", np.zeros(0)),
                final_optim=optim,
            )
        except Exception as exc:  # zipfile, KeyError, JSON, shape errors all mean "damaged"
            raise ValueError(
                f"not a valid grokcore history payload: {type(exc).__name__}: {exc}"
            ) from exc
