"""Model registry: a model config plus the task's sizes -> a seeded `nn.Module`."""

from __future__ import annotations

import torch
from torch import nn

from grokcore.config import (
    MLP,
    EmbedMLP,
    GraphConv,
    Model,
    OneHotMLP,
    Recurrent,
    RepresentationToy,
    TextLSTM,
    Transformer,
)
from grokcore.models.graph import GraphConvNet
from grokcore.models.mlp import OneHotNet, TokenMLP, VectorMLP
from grokcore.models.recurrent import RecurrentNet
from grokcore.models.text import TextLSTMNet
from grokcore.models.toy import RepresentationToyNet
from grokcore.models.transformer import TransformerNet


def build_mlp(cfg: MLP, d_in: int, d_out: int, seed: int) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return VectorMLP(cfg, d_in, d_out)


def build_model(cfg: Model, n_in: int, n_out: int, seed: int) -> nn.Module:
    """Instantiate with PyTorch's default init drawn from `seed` (global RNG left untouched)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if isinstance(cfg, MLP):
            return VectorMLP(cfg, n_in, n_out)
        if isinstance(cfg, EmbedMLP):
            return TokenMLP(cfg, n_in, n_out)
        if isinstance(cfg, OneHotMLP):
            return OneHotNet(cfg, n_in, n_out)
        if isinstance(cfg, Transformer):
            return TransformerNet(cfg, n_in, n_out)
        if isinstance(cfg, Recurrent):
            return RecurrentNet(cfg, n_in, n_out)
        if isinstance(cfg, RepresentationToy):
            return RepresentationToyNet(cfg, n_in, n_out)
        if isinstance(cfg, TextLSTM):  # n_in: vocabulary + padding token
            return TextLSTMNet(cfg, n_in, n_out)
        if isinstance(cfg, GraphConv):  # n_in: node features
            return GraphConvNet(cfg, n_in, n_out)
    raise TypeError(f"unknown model config {type(cfg).__name__}")


def param_groups(module: nn.Module) -> dict[str, list[str]]:
    """Parameter names by group, for per-group norm curves.

    "attn_qkv" collects every attention Q/K/V matrix (li-sakib §3.4); the other
    groups are the top-level children ("embed", "blocks", "unembed", ...).
    """
    groups: dict[str, list[str]] = {}
    for name, _ in module.named_parameters():
        groups.setdefault(name.split(".")[0], []).append(name)
        if name.endswith("qkv.weight"):
            groups.setdefault("attn_qkv", []).append(name)
    return groups


def traced_params(module: nn.Module) -> tuple[str, ...]:
    """Names of the parameters whose values every evaluation records (`History.traces`):
    the few small ones a model lists in its `traced` attribute, else none."""
    names = tuple(getattr(module, "traced", ()))
    known = dict(module.named_parameters())
    for n in names:
        if n not in known:
            raise ValueError(f"{type(module).__name__}.traced names {n!r}, not a parameter")
    return names


__all__ = ["build_mlp", "build_model", "param_groups", "traced_params"]
