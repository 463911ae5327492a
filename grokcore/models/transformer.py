"""Decoder-only transformers for `x ∘ y`: Nanda et al. 2023, Power et al. 2022, Lee et al. 2024.

One module covers the three references; `grokcore.config.Transformer` picks the variant.

Nanda (`tokens="nanda"`, `init="nanda"`), after mechanistic-interpretability-grokking/
progress-measures-paper `transformers.py` @23d2c64:
- reads `x y =` with "=" = token p (`gen_train_test`: pairs `(i, j, p)`), answer at "=";
- one vocabulary of p+1 for the embedding rows *and* the logits (`Config.d_vocab = p+1`,
  line 48, used by `Embed` and `Unembed`); targets are < p, so the "=" logit is simply
  never the right answer, exactly as in Nanda's loss;
- init: every matrix N(0, 1/d_model) (W_E :165, W_pos :183, W_K/Q/V/O :212-215, W_in :242,
  and W_out :244, which divides by √d_model, not by its fan-in √d_mlp), the unembed
  N(0, 1/d_vocab) (:174), MLP biases zero (:243, :245). The draws follow that file's order
  from the state `build_model` seeded, so seed s holds the numbers Nanda's
  `Transformer(Config())` draws after `torch.manual_seed(s)` (in our layouts).

Power (`Transformer.power()`), after openai/grok `grok/transformer.py` @3d64b1d:
- post-LN blocks `a1 = LN(x + attn(x))`, `a2 = LN(a1 + ffn(a1))` (:230, :234), no final LN;
- no biases outside LayerNorm (:89-91, :142, :192-194, :318);
- fixed sinusoidal positions, a buffer and not a parameter (:304-305, formula :329-331), so
  they are neither trained, decayed, scaled by α nor counted in ‖w‖;
- PyTorch's default init (`Embedding` N(0, 1), `Linear` Kaiming-uniform);
- the sequence `<eos> x op y = c <eos>` (`grok/data.py:357`), teacher-forced
  (`data.py:469-470`): the model reads `<eos> x op y = c` and the logits at "=" and at c
  predict the right-hand side `[c, <eos>]`, where openai/grok puts its loss and accuracy
  (`training.py:306-317`; a row is right only if both tokens are, :265).

Grokfast (`Transformer.grokfast()`), after ironjr/grokfast `main.py` @93b2248 (`Block`,
`Decoder`), the model of Lee et al. 2024's algorithmic runs:
- reads `x op y =` (`multiplication_mod_p_data` stacks `[x, op, y, eq, result]` and the
  model is fed `input[:-1]`), eq_token = p, op_token = p+1, `num_tokens = p+2` rows for the
  embedding and the logits; the loss reads the logits at "=" (`logits[-1]`);
- `Block.forward`: `x = self.ln_1(x)`, `x = x + attn(x, x, x, causal mask)`, `x = x +
  mlp(ln_2(x))`: the attention's residual starts from the *normed* stream
  (`layer_norm="pre_normed"`), then `ln_f` and an unbiased `head`;
- `nn.MultiheadAttention(128, 4)` with its in/out projection biases (`attn_bias`), a GELU MLP
  128-512-128 with biases, learned positions `nn.Embedding(5, 128)` (row 5 is never read);
- PyTorch's defaults for those modules (`init="torch"`): embeddings N(0, 1), Q, K, V
  Xavier-uniform with zero biases, the rest as `nn.Linear`.
Its forward equals a copy of grokfast's `Decoder` (tests/test_models.py).

Teacher forcing needs the answer in the input, so the model says how to lay out a dataset:
`inputs(x, y)` and `targets(y)` are parameter-free and the trainer calls them once.

Every forward must run as `vmap(functional_call(module, params_and_buffers, ...))` over
an ensemble: no in-place ops on parameters, no branches on tensor values, and attention
written out (F.scaled_dot_product_attention has no vmap batching rule).

The forward computes only what the loss and accuracy read: the logits at the last `n_read`
positions (Nanda's "=", Power's "=" and c). Earlier blocks run at every position, since the
last block's keys and values need them all; the last block computes its keys and values at
every position but its queries, attention output, MLP (and the final LN and unembed) only
at the read positions. A forward pass then costs 0.46× the FLOPs of the full one for
Nanda's model at p = 113 and 0.72× for Power's at p = 97 (`grokcore.estimate.forward_flops`).
The outputs equal the full computation's up to rounding (`tests/test_positions.py`);
`full = True` runs that full computation.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from grokcore.config import Transformer


def sinusoidal_positions(n_ctx: int, d_model: int) -> torch.Tensor:
    """openai/grok `Transformer._position_encoding`: sin(pos/10000^(i/d)) at even i,
    cos(pos/10000^((i-1)/d)) at odd i, i.e. each sin/cos pair shares one frequency."""
    pos = torch.arange(n_ctx, dtype=torch.float64)[:, None]
    i = torch.arange(d_model, dtype=torch.float64)
    odd = i % 2 == 1
    angle = pos / 10000 ** ((i - odd.double()) / d_model)
    table = torch.where(odd, angle.cos(), angle.sin())
    # Built in float64 like openai/grok's numpy rows; it trains in float32 (`.float()`).
    return table.to(torch.get_default_dtype())


class Block(nn.Module):
    """Causal multi-head attention and a ReLU (or GELU) MLP, each in a residual, with LN as
    configured."""

    def __init__(self, cfg: Transformer):
        super().__init__()
        d = cfg.d_model
        self.n_heads = cfg.n_heads
        self.post_ln = cfg.layer_norm == "post"
        # grokfast `Block.forward`: `x = self.ln_1(x); x = x + attn(x)`: the residual is normed
        self.normed_residual = cfg.layer_norm == "pre_normed"
        self.gelu = cfg.act == "gelu"
        # Q, K, V in one matrix so "attention QKV norm" (li-sakib §3.4) is one parameter.
        # Its default init equals openai/grok's per-head Wq/Wk/Wv: the fan-in is d either way.
        # With attn_bias it is nn.MultiheadAttention's in_proj (rows Q, K, V) and its init.
        self.qkv = nn.Linear(d, 3 * d, bias=cfg.attn_bias)
        self.attn_out = nn.Linear(d, d, bias=cfg.attn_bias)
        if cfg.attn_bias:  # nn.MultiheadAttention._reset_parameters
            nn.init.xavier_uniform_(self.qkv.weight)
            nn.init.zeros_(self.qkv.bias)
            nn.init.zeros_(self.attn_out.bias)
        self.mlp_in = nn.Linear(d, cfg.d_mlp, bias=cfg.bias)
        self.mlp_out = nn.Linear(cfg.d_mlp, d, bias=cfg.bias)
        norm = cfg.layer_norm != "none"
        self.ln1 = nn.LayerNorm(d) if norm else nn.Identity()
        self.ln2 = nn.LayerNorm(d) if norm else nn.Identity()

    def attend(self, h: torch.Tensor, n_read: int | None = None) -> torch.Tensor:
        """Causal self-attention over `h` (b, t, d); with `n_read`, only the last `n_read`
        positions query (b, n_read, d out), while keys and values cover all t."""
        b, t, d = h.shape

        def heads(z: torch.Tensor) -> torch.Tensor:
            # (b, t', d) -> (b, heads, t', d_head); head j owns rows j*d_head.. of Q, K, V
            return z.view(b, z.shape[1], self.n_heads, d // self.n_heads).transpose(1, 2)

        if n_read is None:
            q, k, v = (heads(z) for z in self.qkv(h).split(d, dim=-1))
        else:  # the rows of qkv.weight are Q, then K, then V: one parameter either way
            w, bias = self.qkv.weight, self.qkv.bias
            bq, bkv = (None, None) if bias is None else (bias[:d], bias[d:])
            # contiguous: vmap's batched linear folds (b, n_read) into one matrix only then
            q = heads(F.linear(h[:, -n_read:].contiguous(), w[:d], bq))
            k, v = (heads(z) for z in F.linear(h, w[d:], bkv).split(d, dim=-1))
        tq = q.shape[-2]
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
        # the query rows are positions t-tq..t-1 of the causal mask
        causal = torch.ones(t, t, dtype=torch.bool, device=h.device).tril()[t - tq :]
        att = scores.masked_fill(~causal, float("-inf")).softmax(-1) @ v
        return self.attn_out(att.transpose(1, 2).reshape(b, tq, d))

    def mlp(self, h: torch.Tensor) -> torch.Tensor:
        z = self.mlp_in(h)
        return self.mlp_out(F.gelu(z) if self.gelu else torch.relu(z))

    def forward(self, h: torch.Tensor, n_read: int | None = None) -> torch.Tensor:
        """The block at every position (b, t, d), or with `n_read` only at the last `n_read`
        positions (b, n_read, d): what a last block needs when the loss reads only those."""
        if n_read is None:
            if self.post_ln:  # openai/grok: the residual stream itself is normalised
                h = self.ln1(h + self.attend(h))
                return self.ln2(h + self.mlp(h))
            if self.normed_residual:
                h = self.ln1(h)
                h = h + self.attend(h)
            else:
                h = h + self.attend(self.ln1(h))
            return h + self.mlp(self.ln2(h))
        if self.post_ln:
            keep = h[:, -n_read:]  # the residual stream at the read positions
            h = self.ln1(keep + self.attend(h, n_read))
            return self.ln2(h + self.mlp(h))
        normed = self.ln1(h)
        keep = (normed if self.normed_residual else h)[:, -n_read:]
        h = keep + self.attend(normed, n_read)
        return h + self.mlp(self.ln2(h))


class TransformerNet(nn.Module):
    """Token (+ position) embeddings, `n_layers` blocks, an untied unembed to `d_vocab` logits.

    `forward` returns (B, d_vocab) logits at "=" for Nanda tokens and (B, 2, d_vocab) logits
    at "=" and c for Power tokens: the last `n_read` positions, the only ones the loss and
    accuracy read, and the only ones the last block computes beyond its keys and values.
    `p` is the modulus; `n_out` (the task's classes) only has to fit in the vocabulary.
    """

    # True runs the last block at every position and slices the read ones afterwards: the
    # same function, at the full cost (tests and bench/bench_positions.py compare with it).
    # Not a config field: it changes no result beyond rounding, so no cache key.
    full: bool = False

    def __init__(self, cfg: Transformer, p: int, n_out: int):
        super().__init__()
        rng = torch.get_rng_state()
        self.p = p
        self.power = cfg.tokens == "power"
        self.grokfast = cfg.tokens == "grokfast"
        n_pos = None  # position rows, when more than the n_ctx used (grokfast's seq_len=5)
        if self.power:  # numbers 0..p-1, then op, "=", <eos>
            self.op, self.eq, self.eos = p, p + 1, p + 2
            n_tokens, self.n_ctx, self.n_read = p + 3, 6, 2
        elif self.grokfast:  # numbers 0..p-1, then "=" (eq_token = p), op (op_token = p+1)
            self.eq, self.op = p, p + 1
            n_tokens, self.n_ctx, self.n_read, n_pos = p + 2, 4, 1, 5
        else:  # numbers 0..p-1, then "="
            self.eq = p
            n_tokens, self.n_ctx, self.n_read = p + 1, 3, 1
        self.d_vocab = cfg.vocab if cfg.vocab is not None else n_tokens
        if self.d_vocab < max(n_tokens, n_out):
            raise ValueError(
                f"Transformer.vocab={cfg.vocab}: needs at least {max(n_tokens, n_out)} tokens "
                f"for p={p} with tokens={cfg.tokens!r} and {n_out} classes"
            )
        self.d_model = cfg.d_model
        self.embed_noise = cfg.embed_noise
        self.learned_pos = cfg.positions == "learned"

        self.embed = nn.Embedding(self.d_vocab, cfg.d_model)
        if self.learned_pos:
            rows = torch.randn(n_pos or self.n_ctx, cfg.d_model)
            # grokfast `nn.Embedding(seq_len=5, dim)`: N(0, 1) rows, the 5th never read
            unit = self.grokfast and cfg.init == "torch"
            self.pos = nn.Parameter(rows if unit else rows / cfg.d_model**0.5)
        else:
            # A function of the shape only, so it stays out of the state dict.
            self.register_buffer(
                "pos_table", sinusoidal_positions(self.n_ctx, cfg.d_model), persistent=False
            )
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        final = cfg.layer_norm in ("pre", "pre_normed")
        self.ln_f = nn.LayerNorm(cfg.d_model) if final else nn.Identity()
        self.unembed = nn.Linear(cfg.d_model, self.d_vocab, bias=False)

        if cfg.init == "nanda":
            # Rewind so Nanda's draws start at the seeded state, as in his constructor.
            torch.set_rng_state(rng)
            self._nanda_init()

    @torch.no_grad()
    def _nanda_init(self) -> None:
        """progress-measures-paper `transformers.py` @23d2c64, in its draw order and layouts.

        Nanda stores W_E and W_U as (d_model, d_vocab) and W_K/Q/V as (heads, d_head,
        d_model); a same-sized randn fills the same numbers, so a transpose or a reshape
        maps them onto the `nn.Embedding` / `nn.Linear` (out, in) layout here.
        """
        d, v = self.d_model, self.d_vocab

        def randn(*shape: int, fan: int) -> torch.Tensor:
            return torch.randn(*shape) / math.sqrt(fan)

        self.embed.weight.copy_(randn(d, v, fan=d).T)  # W_E, :165
        if self.learned_pos:
            self.pos.copy_(randn(*self.pos.shape, fan=d))  # W_pos, :183
        for block in self.blocks:
            assert isinstance(block, Block)  # an nn.ModuleList yields plain Modules to mypy
            w_k, w_q, w_v = (randn(d, d, fan=d) for _ in range(3))  # :212-214, K first
            block.qkv.weight.copy_(torch.cat([w_q, w_k, w_v]))
            block.attn_out.weight.copy_(randn(d, d, fan=d))  # W_O, :215
            d_mlp = block.mlp_in.out_features
            block.mlp_in.weight.copy_(randn(d_mlp, d, fan=d))  # W_in, :242
            # W_out, :244: scaled by d_model although its fan-in is d_mlp (REFERENCES N1a)
            block.mlp_out.weight.copy_(randn(d, d_mlp, fan=d))
            for lin in (block.mlp_in, block.mlp_out):
                if lin.bias is not None:
                    lin.bias.zero_()  # b_in, b_out, :243, :245
        self.unembed.weight.copy_(randn(d, v, fan=v).T)  # W_U, :174, scaled by d_vocab

    # -- data layout ----------------------------------------------------------------------
    def inputs(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The model's input rows for operand pairs `x` (N, 2) with answers `y` (N,).

        Power: (N, 3) `[x, y, c]`, since teacher forcing reads the answer c; Nanda: `x`.
        """
        return torch.cat([x, y[:, None]], dim=1) if self.power else x

    def targets(self, y: torch.Tensor) -> torch.Tensor:
        """The model's targets for answers `y` (N,): Power (N, 2) `[c, <eos>]`; Nanda `y`."""
        return torch.stack([y, torch.full_like(y, self.eos)], dim=1) if self.power else y

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Token ids (B, n_ctx): Nanda `x y =`; Power `<eos> x op y = c` from `[x, y, c]`;
        grokfast `x op y =`."""
        a, b = x[:, :1], x[:, 1:2]
        if self.grokfast:
            return torch.cat([a, torch.full_like(a, self.op), b, torch.full_like(a, self.eq)], 1)
        if self.power:
            c = x[:, 2:3]
            fill = lambda tok: torch.full_like(a, tok)  # noqa: E731
            return torch.cat([fill(self.eos), a, fill(self.op), b, fill(self.eq), c], dim=1)
        return torch.cat([a, b, torch.full_like(a, self.eq)], dim=1)

    def noise_shape(self, batch: int) -> tuple[int, ...] | None:
        """Shape of the standard-normal embedding noise one training batch needs (or None).

        The trainer draws it from a generator seeded by the run's config and passes it in,
        so noisy runs are reproducible and a batched member equals its single run.
        """
        if self.embed_noise <= 0:
            return None
        return (batch, self.n_ctx, self.d_model)

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        h = self.embed(self.tokens(x))
        if noise is not None:
            h = h + self.embed_noise * noise
        # The buffer may arrive in another dtype than the parameters (float64 runs).
        h = h + (self.pos[: self.n_ctx] if self.learned_pos else self.pos_table.to(h.dtype))
        *early, last = self.blocks
        for block in early:
            h = block(h)
        n = self.n_read  # "=" (Nanda), or "=" and c, which predict the rhs [c, <eos>] (Power)
        h = last(h)[:, -n:] if self.full else last(h, n)
        if not self.power:
            return self.unembed(self.ln_f(h[:, 0]))
        # contiguous (a no-op unless `full`): on the strided slice, vmap's batched linear
        # cannot fold (B, 2) into one matrix and its weight gradient takes a (d, vocab) outer
        # product per sample, a (K·B, d, vocab) temporary (bench/README.md, "Power
        # transformer's unembed")
        return self.unembed(self.ln_f(h.contiguous()))
