"""Task data: every task becomes train/test tensors plus what the model needs to know."""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from grokcore.config import (
    ImdbTask,
    MnistTask,
    ModularTask,
    PairSumTask,
    Qm9Task,
    Task,
    TeacherStudentTask,
)
from grokcore.data.modular import modular_table, split_indices
from grokcore.data.toy import pair_split, pair_table, template_vectors


@dataclass(frozen=True, eq=False)
class TaskData:
    """Train and test tensors of one task instance.

    kind: "classification" (integer labels, accuracy = exact match of the argmax) or
    "regression" (vector targets, a sample is correct when its squared error, mean
    over outputs, is below `threshold`).
    n_in: vocabulary size for token tasks, input width for vector tasks.
    n_out: number of classes, or output width.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    kind: str
    n_in: int
    n_out: int
    threshold: float = 0.0
    source: str = ""
    templates: torch.Tensor | None = None  # (classes, d): a regression's targets are rows of
    #   it and a prediction is correct when its nearest row is the target's (not `threshold`)


def pool_images(x: torch.Tensor, k: int) -> torch.Tensor:
    """Average-pool flattened square images (n, side²) by k: (n, (side/k)²). k = 1 is x."""
    if k == 1:
        return x
    side = math.isqrt(x.shape[1])
    images = x.reshape(len(x), 1, side, side)
    return torch.nn.functional.avg_pool2d(images, k).reshape(len(x), (side // k) ** 2)


@functools.lru_cache(maxsize=64)
def build_data(task: Task, seed: int) -> TaskData:
    """Build (and memoize: members of an ensemble share tensors) the data of `task` for `seed`."""
    if isinstance(task, MnistTask) and task.augment:  # the engine augments each step's batch:
        return build_data(dataclasses.replace(task, augment=0.0), seed)  # same images
    if isinstance(task, ModularTask):
        x, y = modular_table(task)
        tr, te = split_indices(len(y), task.train_frac, seed)
        return TaskData(
            x[tr],
            y[tr],
            x[te],
            y[te],
            "classification",
            task.p,
            task.p,
            source=f"{task.op} mod {task.p}",
        )
    if isinstance(task, TeacherStudentTask):
        from grokcore.data.teacher import teacher_student_data

        xtr, ytr, xte, yte = teacher_student_data(task, seed)
        return TaskData(
            xtr,
            ytr,
            xte,
            yte,
            "regression",
            task.d_in,
            task.d_out,
            threshold=task.threshold,
            source="teacher-student",
        )
    if isinstance(task, MnistTask):
        from grokcore.data.mnist import load_mnist

        s = load_mnist(
            task.n_train, seed, source=task.source, data_dir=task.data_dir, n_test=task.n_test
        )
        x_train, x_test = pool_images(s.x_train, task.pool), pool_images(s.x_test, task.pool)
        source = s.source if task.pool == 1 else f"{s.source}, pooled {task.pool}×{task.pool}"
        return TaskData(
            x_train, s.y_train, x_test, s.y_test, "classification", task.n_in, 10, source=source
        )
    if isinstance(task, PairSumTask):
        x, y = pair_table(task.p)
        tr, te = pair_split(task, seed)
        if task.targets:  # train_add.py: MSE onto a random template per sum, nearest scores
            t = template_vectors(task, seed)
            return TaskData(
                x[tr], t[y[tr]], x[te], t[y[te]], "regression", task.p, task.targets,
                source=f"i+j, i<=j<{task.p}, onto N(0, I_{task.targets}) templates",
                templates=t,
            )  # fmt: skip
        return TaskData(
            x[tr],
            y[tr],
            x[te],
            y[te],
            "classification",
            task.p,  # digits 0..p-1 index the embeddings E_i
            task.n_classes,  # sums 0..2p-2 (App D), one logit each
            source=f"i+j, i<=j<{task.p}",
        )
    if isinstance(task, ImdbTask):
        from grokcore.data.imdb import load_imdb

        r = load_imdb(task.n_train, task.n_test, seed, task.data_dir, task.vocab, task.seq_len)
        # one logit: BCE (omnigrok App A); tokens 0 (padding) .. vocab
        return TaskData(
            r.x_train, r.y_train, r.x_test, r.y_test, "classification", task.vocab + 1, 1,
            source=r.source,
        )  # fmt: skip
    if isinstance(task, Qm9Task):
        from grokcore.data.qm9 import NODE_FEATURES, load_qm9

        q = load_qm9(task.n_train, task.n_test, seed, task.data_dir, task.graphs)
        return TaskData(
            q.x_train, q.y_train, q.x_test, q.y_test, "regression", NODE_FEATURES, 1,
            threshold=task.threshold, source=q.source,
        )  # fmt: skip
    raise TypeError(f"unknown task config {type(task).__name__}")


def missing_data(tasks: Iterable[Task]) -> str | None:
    """Why the dataset of one of `tasks` is not on this machine, naming the files it expects
    (`DataUnavailable`'s message), or None. Only looks for files: nothing is loaded.

    Claims call it before training (a claim without its data is NOT RUN, not an ERROR
    halfway through); full MNIST, IMDb and QM9 are never downloaded.
    """
    from grokcore.data.imdb import find_imdb
    from grokcore.data.mnist import DataUnavailable, find_mnist
    from grokcore.data.qm9 import find_qm9

    for task in set(tasks):
        try:
            if isinstance(task, MnistTask) and task.source == "full":
                find_mnist(task.data_dir)
            elif isinstance(task, ImdbTask):
                find_imdb(task.data_dir)
            elif isinstance(task, Qm9Task):
                find_qm9(task.data_dir)
        except DataUnavailable as exc:
            return str(exc)
    return None


__all__ = [
    "TaskData",
    "build_data",
    "missing_data",
    "modular_table",
    "pair_split",
    "pair_table",
    "split_indices",
]
