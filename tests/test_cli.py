"""`grokcore train`: trains a config or a sweep, writes summary.json, plots and one history per
run; bad flags exit with code 2 and a message naming the problem."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from grokcore.cache import RunCache
from grokcore.cli import main
from grokcore.history import History
from grokcore.metrics import Phase

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ROW_KEYS = {
    "key",
    "seed",
    "condition",
    "t_train",
    "t_test",
    "phase",
    "final_train_acc",
    "final_test_acc",
}


def train(tmp_path: Path, out: str, *flags: str) -> tuple[int, Path]:
    argv = [
        "train", "--op", "x+y", "--p", "7", "--train-frac", "0.5", "--model", "embed-mlp",
        "--lr", "3e-3", "--steps", "300", "--device", "cpu",
        "--out", str(tmp_path / out), "--cache", str(tmp_path / "cache"), *flags,
    ]  # fmt: skip
    return main(argv), tmp_path / out


def summary(out: Path) -> list[dict]:
    return json.loads((out / "summary.json").read_text())


def test_train_writes_summary_plots_and_histories(tmp_path: Path):
    code, out = train(tmp_path, "one", "--weight-decay", "1", "--seeds", "0")
    assert code == 0
    [row] = summary(out)
    assert set(row) == ROW_KEYS
    assert row["seed"] == 0 and "γ=1.0" in row["condition"]
    assert row["phase"] in {p.value for p in Phase}
    assert row["t_train"] is None or 0 <= row["t_train"] <= 300
    assert row["t_test"] is None or 0 <= row["t_test"] <= 300
    for plot in ("curves.png", "loss.png"):
        assert (out / plot).read_bytes()[:8] == PNG_MAGIC

    [npz] = sorted(out.glob("*.npz"))
    assert npz.stem == row["key"]
    h = History.from_bytes(npz.read_bytes())
    assert h.budget == 300 and h.config["seed"] == 0
    assert h.config["optim"]["weight_decay"] == 1.0
    assert float(h.train_acc[-1]) == row["final_train_acc"]
    assert float(h.test_acc[-1]) == row["final_test_acc"]
    cached = RunCache(tmp_path / "cache").load(row["key"])
    assert cached is not None and (cached.batch_loss == h.batch_loss).all()


def counts(capsys) -> tuple[int, int]:
    """(trained, from cache) as the command's last line reports them."""
    line = capsys.readouterr().err.strip().splitlines()[-1]
    m = re.match(r"\[grokcore\] trained (\d+), from cache (\d+);", line)
    assert m, line
    return int(m[1]), int(m[2])


def test_sweep_is_the_product_and_reruns_from_the_cache(tmp_path: Path, capsys):
    code, out = train(tmp_path, "sweep", "--seeds", "0", "1", "--weight-decay", "0", "1")
    assert code == 0
    assert counts(capsys) == (4, 0)
    rows = summary(out)
    assert len(rows) == 4
    assert sorted((r["seed"], "γ=1.0" in r["condition"]) for r in rows) == [
        (0, False),
        (0, True),
        (1, False),
        (1, True),
    ]
    assert len({r["key"] for r in rows}) == 4
    assert sorted(p.stem for p in out.glob("*.npz")) == sorted(r["key"] for r in rows)

    code, again = train(tmp_path, "again", "--seeds", "0", "1", "--weight-decay", "0", "1")
    assert code == 0
    assert counts(capsys) == (0, 4)  # a fresh count per command, not the process's
    assert summary(again) == rows


def test_no_cache_leaves_the_cache_alone(tmp_path: Path):
    code, out = train(tmp_path, "nocache", "--seeds", "0", "--steps", "30", "--no-cache")
    assert code == 0
    assert len(summary(out)) == 1
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--op", "x/y", "--p", "100"], "p=100: division (x/y) needs a prime modulus"),
        (["--op", "x**y"], "unknown operation"),
        (["--train-frac", "1.5"], "train_frac=1.5: train fraction must lie in (0, 1)"),
        (["--task", "teacher-student"], "does not fit task TeacherStudentTask"),
    ],
    ids=["division-mod-composite", "unknown-op", "bad-frac", "model-task-mismatch"],
)
def test_bad_input_exits_2_with_a_message(tmp_path: Path, capsys, flags, message):
    code = main(["train", *flags, "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "c")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("grokcore: error: ")
    assert message in err
    assert not (tmp_path / "out").exists()


def test_train_help_lists_the_sweep_flags(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for flag in (
        "--seeds",
        "--weight-decay",
        "--init-scale",
        "--train-frac",
        "--lr",
        "--cache",
        "--no-cache",
    ):
        assert flag in text


def test_python_m_grokcore_help():
    done = subprocess.run(
        [sys.executable, "-m", "grokcore", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: grokcore")
    assert "train" in done.stdout
