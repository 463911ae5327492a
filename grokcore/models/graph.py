"""Graph convolutional net for QM9 polarizability (omnigrok §4 Fig 5, App A; REFERENCES Q1).

Reference: Omnigrok `qm9/grokking/qm9-grokking.ipynb`, `ExampleNet`: `NNConv(11, 32, nn)`
and `NNConv(32, 16, nn)` (torch_geometric, sum aggregation, root weight, bias), each edge
network `Linear(4, 32) → ReLU → Linear(32, in·out)`; ReLU after each convolution;
`global_add_pool`; `Linear(16, 32) → ReLU → Linear(32, 1)`. App A: "2 convolutional layers
with ReLU activation, followed by a linear layer".

NNConv computes x'_i = W_root x_i + b + Σ_{j→i} x_j Θ(e_ij) with Θ(e) the edge network's
output viewed as (in, out). QM9's edge features are one-hot bond types, so Θ takes only 4
values Θ_t = net(onehot_t), and the sum is exactly Σ_t (A_t X) Θ_t over the dense adjacency
A_t of bond type t. That is what runs here, on molecules padded to a fixed atom count
(`grokcore/data/qm9.py` packs features, adjacency and a real-atom mask into one tensor), so
a batch is a plain tensor and the model batches under `torch.func.vmap`. Init as PyG:
the edge networks and head `nn.Linear` defaults, W_root U(±1/√in) (PyG's "uniform", the same
bound as `nn.Linear`'s default), conv bias 0. The parameter count equals the notebook's.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from grokcore.config import GraphConv

BOND_TYPES = 4  # QM9 edge features: single, double, triple, aromatic


class EdgeConv(nn.Module):
    """torch_geometric `NNConv(d_in, d_out, net)` for one-hot edge types, on dense adjacency."""

    def __init__(self, d_in: int, d_out: int, edge_hidden: int):
        super().__init__()
        self.d_in, self.d_out = d_in, d_out
        self.net = nn.Sequential(
            nn.Linear(BOND_TYPES, edge_hidden), nn.ReLU(), nn.Linear(edge_hidden, d_in * d_out)
        )
        self.root = nn.Linear(d_in, d_out, bias=False)
        self.bias = nn.Parameter(torch.zeros(d_out))

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        """x (B, N, d_in), adj (B, N, T, N) with adj[b, i, t, j] = bond j→i of type t."""
        theta = self.net(torch.eye(BOND_TYPES, dtype=x.dtype, device=x.device))
        theta = theta.view(BOND_TYPES, self.d_in, self.d_out)
        ax = torch.einsum("bitj,bjf->btif", adj, x)  # neighbours' features summed per bond type
        return torch.einsum("btif,tfo->bio", ax, theta) + self.root(x) + self.bias


class GraphConvNet(nn.Module):
    """Packed molecules (B, N, F + T·N + 1) -> (B, n_out) predictions (layout: data/qm9.py)."""

    def __init__(self, cfg: GraphConv, n_features: int, n_out: int):
        super().__init__()
        self.n_features = n_features
        dims = [n_features, *cfg.widths]
        self.convs = nn.ModuleList(
            EdgeConv(a, b, cfg.edge_hidden) for a, b in itertools.pairwise(dims)
        )
        if cfg.head is None:
            self.head = nn.Sequential(nn.Linear(dims[-1], n_out))
        else:
            self.head = nn.Sequential(
                nn.Linear(dims[-1], cfg.head), nn.ReLU(), nn.Linear(cfg.head, n_out)
            )

    def forward(self, packed: torch.Tensor) -> torch.Tensor:
        b, n, _ = packed.shape
        x = packed[..., : self.n_features]
        adj = packed[..., self.n_features : self.n_features + BOND_TYPES * n]
        adj = adj.reshape(b, n, BOND_TYPES, n)
        mask = packed[..., -1:]  # 1 for a real atom: padding must not enter the pooled sum
        for conv in self.convs:
            x = F.relu(conv(x, adj))
        return self.head((x * mask).sum(1))  # global_add_pool
