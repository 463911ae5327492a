"""A claim's settings as a readable table: setting | arm | ours | paper | why.

`settings_table` reads the first config of each arm of a claim (the arms differ in
the swept knob, not in the rest), flattens it to dotted names with short values
("optim.lr" -> "0.003", "batch_size" -> "full batch"), and fills the paper column
from the configs' `notes`: each note is a `Setting` that `grokcore.setups` attaches
where a value departs from the paper, with why. Where no note exists we follow the
paper, so paper = ours. Seeds are left out: they are per run, not per setting.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from grokcore.config import (
    MLP,
    EmbedMLP,
    MnistTask,
    ModularTask,
    OneHotMLP,
    Optimizer,
    Recurrent,
    RunConfig,
    TeacherStudentTask,
    Transformer,
)
from grokcore.record import Setting

__all__ = ["describe_model", "describe_task", "flatten", "settings_table"]

_OPTIMIZERS = {"adamw": "AdamW", "adam": "Adam", "sgd": "SGD"}
_LOSSES = {"ce": "cross-entropy", "mse": "MSE"}


def value_text(x: Any) -> str:
    """A config value in short text: 0.003, 6,000, yes/no, "0.9, 0.98", "—" for None."""
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}" if abs(x) >= 1000 else str(x)
    if isinstance(x, float):
        if x.is_integer() and abs(x) < 1e6:
            return value_text(int(x))
        return f"{x:.6g}".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")
    if isinstance(x, tuple | list):
        return ", ".join(value_text(v) for v in x)
    return str(x)


def describe_task(task: Any) -> str:
    """The task in one phrase, e.g. "x+y mod 31, train fraction 0.5"."""
    v = value_text
    if isinstance(task, ModularTask):
        return f"{task.op} mod {task.p}, train fraction {v(task.train_frac)}"
    if isinstance(task, TeacherStudentTask):
        return (
            f"teacher-student: {task.d_in} → {task.d_out}, teacher width {task.width}, "
            f"{v(task.n_train)} train / {v(task.n_test)} test, correct below {v(task.threshold)}"
        )
    if isinstance(task, MnistTask):
        n_test = "all remaining" if task.n_test is None else v(task.n_test)
        return f"MNIST ({task.source}): {v(task.n_train)} train, {n_test} test"
    return _fields_text(task)


def describe_model(model: Any) -> str:
    """The model in one phrase, e.g. "Transformer: 1 layer, d_model 128, 4 heads, d_mlp 512"."""
    if isinstance(model, Transformer):
        layers = f"{model.n_layers} layer" + ("s" if model.n_layers != 1 else "")
        parts = [
            layers,
            f"d_model {model.d_model}",
            f"{model.n_heads} heads",
            f"d_mlp {model.d_mlp}",
        ]
        if model.layer_norm != "none":
            parts.append(f"{model.layer_norm}-LN")
        if not model.bias:
            parts.append("no biases")
        if model.positions != "learned":
            parts.append(f"{model.positions} positions")
        if model.tokens != "nanda":
            parts.append(f"{model.tokens.capitalize()} tokens")
        if model.vocab is not None:
            parts.append(f"vocab {model.vocab}")
        if model.embed_noise:
            parts.append(f"embedding noise {value_text(model.embed_noise)}")
        parts.append({"nanda": "Nanda init", "torch": "PyTorch init"}[model.init])
        return "Transformer: " + ", ".join(parts)
    if isinstance(model, EmbedMLP):
        return f"embedding MLP: embed {model.d_embed}, {model.depth} ReLU layers of {model.width}"
    if isinstance(model, OneHotMLP):
        return f"one-hot MLP: width {model.width}, {model.act} activation"
    if isinstance(model, MLP):
        return f"MLP: hidden {'-'.join(map(str, model.hidden))}, {model.act}"
    if isinstance(model, Recurrent):
        return f"{model.cell.upper()}: embed {model.d_embed}, hidden {model.hidden}"
    return _fields_text(model)


def _fields_text(obj: Any) -> str:
    """Fallback for a config class this module does not know: "Name(a=1, b=2)"."""
    if dataclasses.is_dataclass(obj):
        fields = ", ".join(
            f"{f.name} {value_text(getattr(obj, f.name))}" for f in dataclasses.fields(obj)
        )
        return f"{type(obj).__name__}: {fields}"
    return str(obj)


def _optim_rows(o: Optimizer) -> dict[str, str]:
    rows = {"optim.name": _OPTIMIZERS.get(o.name, o.name), "optim.lr": value_text(o.lr)}
    if o.name == "sgd":
        rows["optim.momentum"] = value_text(o.momentum)
    else:
        rows["optim.betas"] = value_text(o.betas)
        rows["optim.eps"] = value_text(o.eps)
    rows["optim.weight_decay"] = value_text(o.weight_decay)
    if o.wd_on_at is not None:  # a decay schedule only where there is one
        rows["optim.wd_on_at"] = f"step {value_text(o.wd_on_at)}"
    if o.wd_off_at is not None:
        rows["optim.wd_off_at"] = f"step {value_text(o.wd_off_at)}"
    rows["optim.warmup_steps"] = value_text(o.warmup_steps)
    return rows


def flatten(cfg: RunConfig) -> dict[str, str]:
    """The settings of one run as {dotted name: short text}, in reading order, without seeds."""
    batch = "full batch" if cfg.batch_size is None else value_text(cfg.batch_size)
    return {
        "task": describe_task(cfg.task),
        "model": describe_model(cfg.model),
        **_optim_rows(cfg.optim),
        "steps": value_text(cfg.steps),
        "batch_size": batch,
        "init_scale": value_text(cfg.init_scale),
        "constrain_norm": value_text(cfg.constrain_norm),
        "loss": _LOSSES.get(cfg.loss, cfg.loss),
        "dtype": cfg.dtype,
        "precision": cfg.precision,
    }


def _resolve(cfg: RunConfig, name: str) -> str | None:
    """The value at a dotted path the flat rows do not show (e.g. "task.p"), or None."""
    obj: Any = cfg
    for part in name.split("."):
        fields = {f.name for f in dataclasses.fields(obj)} if dataclasses.is_dataclass(obj) else ()
        if part not in fields:
            return None
        obj = getattr(obj, part)
    return None if dataclasses.is_dataclass(obj) else value_text(obj)


Cell = tuple[str, str, str]  # ours, paper, why


def _cells(cfg: RunConfig) -> dict[str, Cell]:
    """One arm's rows: its flat settings with its notes applied, then notes that match no row."""
    notes = {n.name: n for n in cfg.notes}
    cells: dict[str, Cell] = {}
    for name, ours in flatten(cfg).items():
        note = notes.pop(name, None)
        cells[name] = (ours, note.paper, note.why) if note else (ours, ours, "")
    for name, note in notes.items():
        ran = _resolve(cfg, name)  # the value we ran, not the note's copy of it
        cells[name] = (note.ours if ran is None else ran, note.paper, note.why)
    return cells


def settings_table(arms: Mapping[str, Sequence[RunConfig]]) -> list[Setting]:
    """One row per setting from the first config of each arm; one row per arm where arms differ.

    A setting equal (value, paper value and reason) in every arm is one row with arm "".
    An arm without any configs is skipped; a setting an arm lacks shows there as "—".
    """
    firsts = {arm: cfgs[0] for arm, cfgs in arms.items() if len(cfgs)}
    per_arm = {arm: _cells(cfg) for arm, cfg in firsts.items()}
    names: list[str] = []  # the config's own settings first, then notes that match none
    for cfg in firsts.values():
        names += [n for n in flatten(cfg) if n not in names]
    for cells in per_arm.values():
        names += [n for n in cells if n not in names]
    missing: Cell = ("—", "—", "")
    rows: list[Setting] = []
    for name in names:
        by_arm = {arm: cells.get(name, missing) for arm, cells in per_arm.items()}
        if len(set(by_arm.values())) == 1:
            ours, paper, why = next(iter(by_arm.values()))
            rows.append(Setting(name, ours, paper, why))
        else:
            rows += [Setting(name, o, p, w, arm=arm) for arm, (o, p, w) in by_arm.items()]
    return rows
