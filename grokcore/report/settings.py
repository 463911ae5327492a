"""A claim's settings as a readable table: setting | arm | ours | paper | why.

`settings_table` reads every config of each arm of a claim (a setting swept inside an
arm lists its values), flattens them to dotted names with short values
("optim.lr" -> "0.003", "batch_size" -> "full batch"), and fills the paper column
from the configs' `notes`: each note is a `Setting` that `grokcore.setups` attaches
where a value departs from the paper, with why. Where no note exists we follow the
paper, so paper = ours. At the quick tier the claim's paper-tier configs, where they can
be built, give the paper column instead: a stand-in borrowed from another paper's setup
would otherwise print that paper's values. Seeds are left out: they are per run.
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
NO_VALUE = "—"  # a value the paper does not give, or an arm lacks
_SWEPT_SHOWN = 6  # a swept setting lists this many of its values


def _cells(cfg: RunConfig) -> dict[str, Cell]:
    """One config's rows: its flat settings with its notes applied, then notes that match no
    row. A note named "optim.lr (η_D)" describes the row "optim.lr": it lends that row its
    paper value and reason instead of becoming a second, conflicting row."""
    notes = {n.name: n for n in cfg.notes}
    flat = flatten(cfg)
    for name in list(notes):
        base = name.split(" (", 1)[0]
        if base != name and base in flat and base not in notes:
            notes[base] = notes.pop(name)
        elif base != name and base in flat:
            notes.pop(name)  # the row has its own note: the qualified copy would contradict it
    cells: dict[str, Cell] = {}
    for name, ours in flat.items():
        note = notes.pop(name, None)
        cells[name] = (ours, note.paper, note.why) if note else (ours, ours, "")
    for name, note in notes.items():
        ran = _resolve(cfg, name)  # the value we ran, not the note's copy of it
        cells[name] = (note.ours if ran is None else ran, note.paper, note.why)
    return _composites(cells)


def _composites(cells: dict[str, Cell]) -> dict[str, Cell]:
    """A composite row ("task", "model") whose own paper value is ours while a sub-row
    ("task.p") says the paper differs would contradict that sub-row: it points to them."""
    out = dict(cells)
    for head in ("task", "model", "optim"):
        if head not in cells:
            continue
        ours, paper, why = cells[head]
        subs = [n for n, (o, p, _) in cells.items() if n.startswith(head + ".") and o != p]
        if paper == ours and subs:
            out[head] = (ours, f"ours, except {', '.join(subs)} (rows below)", why)
    return out


def _joined(values: Sequence[str]) -> str:
    """One text for a setting over several runs: the value, or the swept values in order."""
    unique = list(dict.fromkeys(values))
    if len(unique) == 1:
        return unique[0]
    shown = "; ".join(unique[:_SWEPT_SHOWN]) + ("; …" if len(unique) > _SWEPT_SHOWN else "")
    return f"swept: {shown} ({len(unique)} values)"


def _arm_cells(cfgs: Sequence[RunConfig]) -> dict[str, Cell]:
    """An arm's rows over all of its configs: a setting that varies shows its values."""
    per_cfg = [_cells(c) for c in cfgs]
    names = list(dict.fromkeys(n for cells in per_cfg for n in cells))
    out: dict[str, Cell] = {}
    for name in names:
        got = [cells[name] for cells in per_cfg if name in cells]
        why = next((w for _, _, w in got if w), "")
        out[name] = (_joined([o for o, _, _ in got]), _joined([p for _, p, _ in got]), why)
    return out


def _paper_value(cfgs: Sequence[RunConfig], name: str) -> str | None:
    """What the paper-tier configs (the claim's own paper's setup) hold at `name`: a
    paper-tier note's paper value, else the value they run; None where they hold none."""
    values = []
    for cfg in cfgs:
        note = next((n for n in cfg.notes if n.name == name), None)
        flat = flatten(cfg)
        if note is not None:
            values.append(note.paper)
        elif name in flat:
            values.append(flat[name])
        elif (ran := _resolve(cfg, name)) is not None:
            values.append(ran)
    return _joined(values) if values else None


def _paper_arm(arm: str, index: int, n_arms: int, paper: Mapping[str, Sequence[RunConfig]]):
    """The paper tier's configs for one arm: the same name, else the same place when both
    tiers have as many arms, else all of them (a value they share, or their sweep)."""
    if arm in paper and len(paper[arm]):
        return list(paper[arm])
    if len(paper) == n_arms:
        return list(list(paper.values())[index])
    return [c for cs in paper.values() for c in cs]


def _with_paper(cells: dict[str, Cell], paper_cfgs: Sequence[RunConfig]) -> dict[str, Cell]:
    """`cells` with the paper column read from the claim's own paper tier (`paper_cfgs`).

    A quick stand-in borrowed from another paper's setup (arn's claims on Nanda's
    transformer) carries that setup's notes, whose paper values are the other paper's: the
    paper tier's configs are the claim's paper. A row they do not hold is "—" unless a
    note of our own says what the paper gives there."""
    out: dict[str, Cell] = {}
    for name, (ours, noted, why) in cells.items():
        paper = _paper_value(paper_cfgs, name)
        if paper is None:
            paper = noted if noted != ours else NO_VALUE
        if paper != ours and not why:
            subs = {w for n, (_, _, w) in cells.items() if n.startswith(name + ".") and w}
            why = "; ".join(sorted(subs)) or "the quick tier's stand-in setup"
        out[name] = (ours, paper, why)
    return out


def settings_table(
    arms: Mapping[str, Sequence[RunConfig]],
    paper_arms: Mapping[str, Sequence[RunConfig]] | None = None,
) -> list[Setting]:
    """One row per setting over each arm's configs; one row per arm where arms differ.

    A setting equal (value, paper value and reason) in every arm is one row with arm "".
    A setting that varies inside an arm (a sweep) lists its values. An arm without any
    configs is skipped; a setting an arm lacks shows there as "—".

    paper_arms: the claim's configs at the paper tier, for a table of the quick tier: the
    paper column is then read from them (see `_with_paper`). Without them it is the notes'
    paper value, or ours where no note says otherwise.
    """
    present = {arm: list(cfgs) for arm, cfgs in arms.items() if len(cfgs)}
    per_arm = {arm: _arm_cells(cfgs) for arm, cfgs in present.items()}
    if paper_arms:
        per_arm = {
            arm: _with_paper(cells, _paper_arm(arm, i, len(present), paper_arms))
            for i, (arm, cells) in enumerate(per_arm.items())
        }
    names: list[str] = []  # the config's own settings first, then notes that match none
    for cfgs in present.values():
        names += [n for n in flatten(cfgs[0]) if n not in names]
    for cells in per_arm.values():
        names += [n for n in cells if n not in names]
    missing: Cell = (NO_VALUE, NO_VALUE, "")
    rows: list[Setting] = []
    for name in names:
        by_arm = {arm: cells.get(name, missing) for arm, cells in per_arm.items()}
        if len(set(by_arm.values())) == 1:
            ours, paper, why = next(iter(by_arm.values()))
            rows.append(Setting(name, ours, paper, why))
        else:
            rows += [Setting(name, o, p, w, arm=arm) for arm, (o, p, w) in by_arm.items()]
    return rows
