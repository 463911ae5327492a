"""Modular arithmetic tables `x ∘ y mod p` (Power et al. 2022) and their seeded splits."""

from __future__ import annotations

import numpy as np
import torch

from grokcore.config import ModularTask


def _apply(op: str, x: np.ndarray, y: np.ndarray, p: int) -> np.ndarray:
    # Python ints in object arrays would be slow; int64 is exact for p < 2**20 (x^3 < 2**60).
    if op == "x+y":
        return (x + y) % p
    if op == "x-y":
        return (x - y) % p
    if op in ("x*y", "x*y (y>0)"):
        return (x * y) % p
    if op == "x/y":
        return (x * _inverse(y, p)) % p
    if op == "x^2+y^2":
        return (x * x + y * y) % p
    if op == "x^3+xy":
        return (x * x % p * x + x * y) % p
    if op == "x^2+xy+y^2":
        return (x * x + x * y + y * y) % p
    if op == "x/y if y odd else x-y":
        # openai/grok `mix1`: "(x._value//y)if(y._value%2==1)else(x-y)_mod_97", over all p²
        # pairs; y = 0 is even, so it never divides (REFERENCES P9; arn §3 states it reversed)
        return np.where(y % 2 == 1, (x * _inverse(y, p)) % p, (x - y) % p)
    raise ValueError(f"unknown operation {op!r}")


def _inverse(y: np.ndarray, p: int) -> np.ndarray:
    """y⁻¹ mod a prime p by Fermat (y^(p-2)), for p values at once; 0 maps to 0."""
    table = np.ones(p, dtype=np.int64)
    base, e = np.arange(p, dtype=np.int64), p - 2
    while e:  # square-and-multiply over the whole residue table: O(p log p), no Python loop
        if e & 1:
            table = table * base % p
        base = base * base % p
        e >>= 1
    table[0] = 0
    return table[y]


def modular_table(task: ModularTask) -> tuple[torch.Tensor, torch.Tensor]:
    """All pairs (x, y) of the table as an (N, 2) int64 tensor, and the answers (N,)."""
    p = task.p
    gx, gy = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    x, y = gx.ravel().astype(np.int64), gy.ravel().astype(np.int64)
    # the mixed op keeps y = 0 (it takes the x - y branch); grokfast's x·y drops it
    if task.op in ("x/y", "x*y (y>0)"):
        keep = y != 0
        x, y = x[keep], y[keep]
    z = _apply(task.op, x, y, p)
    return torch.from_numpy(np.stack([x, y], axis=1)), torch.from_numpy(z)


def split_indices(n: int, train_frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random split of range(n): round(train_frac·n) train indices, the rest test."""
    perm = np.random.default_rng(seed).permutation(n)
    n_train = min(max(round(train_frac * n), 1), n - 1)
    return np.sort(perm[:n_train]), np.sort(perm[n_train:])
