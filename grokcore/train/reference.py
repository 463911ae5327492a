"""The plain single-run trainer: one `nn.Module`, one `torch.optim` optimizer, one loop.

This is how the public grokking repositories train. It exists as the yardstick
the batched engine must equal member for member (tests) and beat in speed
(bench/), so it deliberately shares nothing with the engine except the data,
the model constructors, the loss functions and the batch order.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import numpy as np
import torch

from grokcore import seeds
from grokcore.config import MnistTask, Optimizer, RunConfig, eval_schedule
from grokcore.data import build_data
from grokcore.data.augment import Augmenter
from grokcore.history import History
from grokcore.models import build_model, param_groups, traced_params
from grokcore.train.objective import (
    BatchSampler,
    noise_generator,
    per_sample_correct,
    per_sample_loss,
)


def _sum(terms: Iterable[torch.Tensor]) -> torch.Tensor:
    """`sum(terms)`, the same left-to-right additions, without builtin sum's `int` start."""
    return functools.reduce(torch.add, terms)


def _optimizer(cfg: RunConfig, params) -> torch.optim.Optimizer:
    o = cfg.optim
    if o.name == "adamw":
        return torch.optim.AdamW(params, lr=o.lr, betas=o.betas, eps=o.eps, weight_decay=0.0)
    if o.name == "adam":
        return torch.optim.Adam(params, lr=o.lr, betas=o.betas, eps=o.eps, weight_decay=0.0)
    return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=0.0)


def train_reference(cfg: RunConfig, device: str = "cpu") -> History:
    """Train `cfg` alone, the textbook way."""
    data = build_data(cfg.task, cfg.split_seed)
    model = build_model(cfg.model, data.n_in, data.n_out, cfg.seed).to(device, cfg.torch_dtype)
    params = list(model.parameters())
    with torch.no_grad():
        for p in params:
            p.mul_(cfg.init_scale)
    target = torch.sqrt(_sum(p.detach().pow(2).sum() for p in params))
    opt = _optimizer(cfg, params)

    # the model's own input/target form (Power: teacher-forced rhs tokens) and embedding noise,
    # where the model defines them
    inputs = getattr(model, "inputs", None)
    targets = getattr(model, "targets", None)
    noise_shape = getattr(model, "noise_shape", None)

    def prepare(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # the model's own input/target form, in the run dtype
        x = inputs(x, y) if inputs is not None else x
        y = targets(y) if targets is not None else y
        x = x.to(cfg.torch_dtype) if x.is_floating_point() else x
        y = y.to(cfg.torch_dtype) if y.is_floating_point() else y
        return x.to(device), y.to(device)

    xtr, ytr = prepare(data.x_train, data.y_train)
    xte, yte = prepare(data.x_test, data.y_test)
    groups = param_groups(model)
    traced = traced_params(model)
    named = dict(model.named_parameters())

    def evaluate() -> dict[str, float | np.ndarray]:
        model.eval()
        out: dict[str, float | np.ndarray] = {}
        with torch.no_grad():
            for split, x, y in (("train", xtr, ytr), ("test", xte, yte)):
                o = model(x).unsqueeze(0)
                losses = per_sample_loss(o, y, data, cfg.loss, cfg.loss_dtype)
                out[f"{split}_loss"] = float(losses.mean())
                out[f"{split}_acc"] = float(per_sample_correct(o, y, data).float().mean())
            out["norm"] = float(torch.sqrt(_sum(p.pow(2).sum() for p in params)))
            for g, names in groups.items():
                out[f"group/{g}"] = float(torch.sqrt(_sum(named[n].pow(2).sum() for n in names)))
            for n in traced:
                out[f"trace/{n}"] = named[n].detach().cpu().double().numpy().reshape(-1)
        model.train()
        return out

    schedule = eval_schedule(cfg.steps, cfg.eval_points, cfg.eval_every)
    sampler = None
    if cfg.batch_size is not None and cfg.batch_size < len(ytr):
        sampler = BatchSampler(len(ytr), cfg.batch_size, cfg.seed)
    records = [evaluate()]
    batch_loss = np.zeros(cfg.steps, np.float32)
    noise_gen = noise_generator(cfg.seed)
    sigma = cfg.task.augment if isinstance(cfg.task, MnistTask) else 0.0
    augment = Augmenter([sigma], [seeds.generator(seeds.AUGMENT, cfg.seed)]) if sigma else None
    model.train()
    ema: list[torch.Tensor] | None = None  # Grokfast's gradient EMA
    for step in range(1, cfg.steps + 1):
        if sampler is None:
            x, y = xtr, ytr
        else:
            idx = sampler.next().to(device)
            x, y = xtr[idx], ytr[idx]
        if augment is not None:  # li-sakib §4: a fresh rotation and blur of every image
            x = augment(x.unsqueeze(0)).squeeze(0)
        shape = noise_shape(len(y)) if noise_shape is not None else None
        noise = None
        if shape is not None:
            noise = torch.randn(shape, generator=noise_gen).to(device, cfg.torch_dtype)
        out = model(x) if noise is None else model(x, noise=noise)
        loss = per_sample_loss(out.unsqueeze(0), y, data, cfg.loss, cfg.loss_dtype).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        ema = _filter_grads(cfg.optim, params, ema)
        wd, lr = cfg.optim.decay_at(step), cfg.optim.lr_at(step)
        for group in opt.param_groups:  # warm-up, as a LambdaLR scheduler would set it
            group["lr"] = lr
        with torch.no_grad():
            if cfg.optim.name == "adamw":
                for p in params:  # AdamW's decoupled decay, applied as torch.optim.AdamW does
                    p.mul_(1 - lr * wd)
            else:
                for p in params:
                    assert p.grad is not None  # every parameter is in the loss
                    p.grad.add_(p, alpha=wd)
        opt.step()
        if cfg.constrain_norm:
            with torch.no_grad():
                scale = target / torch.sqrt(_sum(p.pow(2).sum() for p in params))
                for p in params:
                    p.mul_(scale)
        batch_loss[step - 1] = loss.item()
        if step in schedule:
            records.append(evaluate())
    cols = {k: np.array([r[k] for r in records]) for k in records[0]}
    return History(
        steps=np.asarray(schedule, dtype=np.int64),
        train_loss=cols["train_loss"],
        train_acc=cols["train_acc"],
        test_loss=cols["test_loss"],
        test_acc=cols["test_acc"],
        norm=cols["norm"],
        group_norms={k.split("/", 1)[1]: v for k, v in cols.items() if k.startswith("group/")},
        traces={k.split("/", 1)[1]: v for k, v in cols.items() if k.startswith("trace/")},
        batch_loss=batch_loss,
        budget=cfg.steps,
        config=cfg.to_dict(),
    )


def _filter_grads(
    o: Optimizer, params: list[torch.nn.Parameter], ema: list[torch.Tensor] | None
) -> list[torch.Tensor] | None:
    """Grokfast's EMA filter (ironjr/grokfast `gradfilter_ema`), then ⊥Grad
    (`orthograd.py` of LucasPrietoAl/grokking-at-the-edge-of-numerical-stability), on each
    parameter's gradient in place, as the references write them."""
    grads = [p.grad for p in params]
    assert all(g is not None for g in grads)  # every parameter is in the loss
    with torch.no_grad():
        if o.grokfast is not None:
            alpha, lamb = o.grokfast
            if ema is None:
                ema = [g.detach().clone() for g in grads]  # type: ignore[union-attr]
            for e, g in zip(ema, grads, strict=True):
                assert g is not None
                e.mul_(alpha).add_(g * (1 - alpha))
                g.add_(e * lamb)
        if o.orthograd:
            for p, g in zip(params, grads, strict=True):
                assert g is not None
                w, v = p.view(-1), g.view(-1)
                proj = torch.dot(w, v) / (torch.dot(w, w) + 1e-30)
                orth = v - proj * w
                v.copy_(orth * (v.norm(2) / (orth.norm(2) + 1e-30)))
    return ema
