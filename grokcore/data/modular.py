"""Modular arithmetic tables `x ∘ y mod p` (Power et al. 2022) and their seeded splits."""

from __future__ import annotations

import numpy as np
import torch

from grokcore.config import DIVISION_OPS, ModularTask


def _apply(op: str, x: np.ndarray, y: np.ndarray, p: int) -> np.ndarray:
    # Python ints in object arrays would be slow; int64 is exact for p < 2**20 (x^3 < 2**60).
    if op == "x+y":
        return (x + y) % p
    if op == "x-y":
        return (x - y) % p
    if op == "x*y":
        return (x * y) % p
    if op == "x/y":
        return (x * _inverse(y, p)) % p
    if op == "x^2+y^2":
        return (x * x + y * y) % p
    if op == "x^3+xy":
        return (x * x % p * x + x * y) % p
    if op == "x^2+xy+y^2":
        return (x * x + x * y + y * y) % p
    if op == "x/y if y even else x-y":
        return np.where(y % 2 == 0, (x * _inverse(y, p)) % p, (x - y) % p)
    raise ValueError(f"unknown operation {op!r}")


def _inverse(y: np.ndarray, p: int) -> np.ndarray:
    # Fermat: y^(p-2) is y's inverse mod a prime p (y = 0 is excluded from division tables).
    return np.array([pow(int(v), p - 2, p) for v in y], dtype=np.int64)


def modular_table(task: ModularTask) -> tuple[torch.Tensor, torch.Tensor]:
    """All pairs (x, y) of the table as an (N, 2) int64 tensor, and the answers (N,)."""
    p = task.p
    x, y = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    x, y = x.ravel().astype(np.int64), y.ravel().astype(np.int64)
    if task.op in DIVISION_OPS:
        keep = y != 0
        x, y = x[keep], y[keep]
    z = _apply(task.op, x, y, p)
    return torch.from_numpy(np.stack([x, y], axis=1)), torch.from_numpy(z)


def split_indices(n: int, train_frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random split of range(n): round(train_frac·n) train indices, the rest test."""
    perm = np.random.default_rng(seed).permutation(n)
    n_train = min(max(round(train_frac * n), 1), n - 1)
    return np.sort(perm[:n_train]), np.sort(perm[n_train:])
