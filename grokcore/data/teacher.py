"""Omnigrok §3 teacher-student regression data."""

from __future__ import annotations

import torch

from grokcore import seeds
from grokcore.config import MLP, TeacherStudentTask


def teacher_student_data(task: TeacherStudentTask, seed: int) -> tuple[torch.Tensor, ...]:
    """(x_train, y_train, x_test, y_test): N(0, I) inputs labelled by a default-init teacher."""
    from grokcore.models import build_mlp  # models import data's TaskData; avoid a cycle

    g = seeds.generator(seeds.TEACHER_INPUTS, seed)
    n = task.n_train + task.n_test
    x = torch.randn(n, task.d_in, generator=g)
    teacher = build_mlp(
        MLP(hidden=(task.width, task.width), act="tanh"),
        task.d_in,
        task.d_out,
        seed=seeds.TEACHER + seed,
    )
    with torch.no_grad():
        y = teacher(x)
    return x[: task.n_train], y[: task.n_train], x[task.n_train :], y[task.n_train :]
