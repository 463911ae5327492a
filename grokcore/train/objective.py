"""Losses, correctness and batch order shared by the ensemble engine and the reference trainer.

Every function works on a leading member axis K: outputs (K, n, C), targets
(K, n) / (K, n, d) or unbatched (n,) / (n, d); members' splits have one length. A model
that predicts several tokens per sample (the Power transformer's rhs `[c, <eos>]`) gives outputs
(K, n, T, C) and targets (n, T): the loss is the mean over the T tokens and a sample
is correct only when every token is (openai/grok `training.py`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from grokcore import seeds
from grokcore.data import TaskData


def stablemax_log_probs(x: torch.Tensor) -> torch.Tensor:
    """log StableMax over the last axis, in x's dtype (Prieto et al. 2025).

    s(x) = x + 1 for x >= 0, 1 / (1 - x) for x < 0; p_i = s(x_i) / sum_j s(x_j). The
    reference (LucasPrietoAl/grokking-at-the-edge-of-numerical-stability, `utils.py`):

        def stablemax(x, epsilon=1e-30, dim=-1):
            return torch.where(x < 0, 1 / (1 - x + epsilon), x + 1)

        def log_stablemax(x, dim=-1):
            s_x = stablemax(x)
            return torch.log(s_x / torch.sum(s_x, dim=dim, keepdim=True))

        def stablemax_cross_entropy(logits, labels, reduction="mean"):
            labels = labels.to(torch.int64)
            logprobs = log_stablemax(logits.to(torch.float64), dim=-1)
            ...

    The reference computes it in float64 (`logits.to(torch.float64)`): here that is
    `RunConfig(loss="stablemax", loss_dtype="float64")`; the default float32 is ours.
    Its epsilon 1e-30 is kept (it is below float32's resolution of 1 - x for x < 0).
    """
    s = torch.where(x < 0, 1 / (1 - x + 1e-30), x + 1)
    return torch.log(s / s.sum(-1, keepdim=True))


def per_sample_loss(
    out: torch.Tensor, y: torch.Tensor, data: TaskData, loss: str, loss_dtype: str = "float32"
) -> torch.Tensor:
    """(K, n) training-objective value of each sample (no weight-decay term).

    loss_dtype "float64" casts the outputs to float64 before the loss (the loss only; the
    model and the optimizer keep their dtype) and returns float64 values."""
    if loss_dtype == "float64":
        out = out.double()
    if data.kind == "regression":
        return (out - y).pow(2).mean(-1)
    k, n = out.shape[:2]
    if loss == "bce":  # one logit per sample, sigmoid + BCE (IMDb: omnigrok App A, REFERENCES I1)
        target = y.expand(out.shape[:-1]).to(out.dtype)
        return F.binary_cross_entropy_with_logits(out[..., 0], target, reduction="none")
    if loss == "ce":
        c = out.shape[-1]
        flat = F.cross_entropy(
            out.reshape(-1, c), y.expand(out.shape[:-1]).reshape(-1), reduction="none"
        )
        return flat.view(k, n, -1).mean(-1)
    if loss == "stablemax":
        logp = stablemax_log_probs(out)
        target = y.expand(out.shape[:-1]).unsqueeze(-1)
        return -logp.gather(-1, target).squeeze(-1).reshape(k, n, -1).mean(-1)
    # MSE on one-hot targets, averaged over classes like torch's MSELoss (omnigrok notebooks)
    onehot = F.one_hot(y, out.shape[-1]).to(out.dtype)
    return (out - onehot).pow(2).reshape(k, n, -1).mean(-1)


def per_sample_correct(out: torch.Tensor, y: torch.Tensor, data: TaskData) -> torch.Tensor:
    """(K, n) bool: exact match of the argmax (of every token), or squared error below the
    task's threshold."""
    if data.templates is not None:  # the nearest template is the target's own
        k, d = out.shape[0], out.shape[-1]
        t = data.templates.to(out.device, out.dtype)  # (C, d), or (K, C, d): each member's
        t = t.expand(k, *t.shape[-2:])
        nearest = lambda v: torch.cdist(v.reshape(k, -1, d), t).argmin(-1)  # noqa: E731
        return (nearest(out) == nearest(y.expand_as(out))).view(out.shape[:-1])
    if data.kind == "regression":
        return (out - y).pow(2).mean(-1) < data.threshold
    if out.shape[-1] == 1:  # a binary task's single logit: class 1 when it is positive
        return (out[..., 0] > 0).long() == y
    hit = out.argmax(-1) == y
    return hit.reshape(*hit.shape[:2], -1).all(-1)


class BatchSampler:
    """Minibatch indices without replacement, reshuffled every epoch, from a seeded generator.

    An incomplete last batch of an epoch is dropped so every step sees `batch_size` samples.
    """

    def __init__(self, n: int, batch_size: int, seed: int):
        if batch_size > n:
            raise ValueError(f"batch_size={batch_size} exceeds the {n} training samples")
        self.n, self.batch_size = n, batch_size
        self.gen = seeds.generator(seeds.BATCHES, seed)
        self.perm = torch.randperm(n, generator=self.gen)
        self.pos = 0

    def next(self) -> torch.Tensor:
        if self.pos + self.batch_size > self.n:
            self.perm = torch.randperm(self.n, generator=self.gen)
            self.pos = 0
        idx = self.perm[self.pos : self.pos + self.batch_size]
        self.pos += self.batch_size
        return idx


def draw_indices(samplers: list[BatchSampler]) -> torch.Tensor:
    """(K, B) host indices of every member's next minibatch, each from its own sampler."""
    return torch.stack([sm.next() for sm in samplers])


def draw_noise(gens: list[torch.Generator], shape: tuple[int, ...]) -> torch.Tensor:
    """(K, *shape) host standard normals, each member's from its own seeded generator."""
    return torch.stack([torch.randn(shape, generator=g) for g in gens])


def noise_generator(seed: int) -> torch.Generator:
    """The generator of a run's training noise (embedding noise), seeded by its config."""
    return seeds.generator(seeds.NOISE, seed)
