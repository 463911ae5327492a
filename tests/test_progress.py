"""Live training progress under xdist: workers publish a file, the controller prints lines."""

from __future__ import annotations

import pytest

from grokcore import progress

pytest_plugins = ["pytester"]


@pytest.fixture
def target(tmp_path, monkeypatch):
    monkeypatch.setattr(progress, "TARGET", progress.Target())
    progress.configure(tmp_path / ".progress", "gw3")
    progress.TARGET.claim = "OG-INV"
    return tmp_path / ".progress"


def test_publish_is_silent_until_configured(tmp_path, monkeypatch):
    monkeypatch.setattr(progress, "TARGET", progress.Target())
    progress.publish(runs=1, step=1, total=2)  # no directory: nothing, no error
    assert not list(tmp_path.iterdir())


def test_watcher_prints_each_new_state_once(target):
    watcher = progress.Watcher(target, print)
    progress.publish(phase="start", runs=30, total=100_000, estimate="12 min")
    assert watcher.poll() == ["[grokcore] gw3 OG-INV: 30 runs × 100,000 steps, estimated 12 min"]
    assert watcher.poll() == []  # unchanged: no line
    progress.publish(runs=30, step=41_000, total=100_000, rate=2310.4, left="ETA 4 min")
    assert watcher.poll() == [
        "[grokcore] gw3 OG-INV: 30 runs, step 41,000/100,000 (2,310 model-steps/s, ETA 4 min)"
    ]
    watcher.stop()
    assert not list(target.glob("*.json"))  # the files go with the session


def test_a_half_written_file_is_skipped(target):
    (target / "gw0.json").write_text('{"worker": "gw0", "ste')
    assert progress.Watcher(target, print).poll() == []


CLAIM = """
import pytest
from grokcore.config import MLP, RunConfig, TeacherStudentTask
from grokcore.record import Check, Verdict
from grokcore.verdicts import Judgement


@pytest.mark.claim("T-TRAIN", title="trains", paper="p", section="§1")
def test_trains(claim):
    cfg = RunConfig(task=TeacherStudentTask(d_in=2, d_out=2, n_train=8, n_test=8),
                    model=MLP(hidden=(4,), act="tanh"), loss="mse", steps=300, eval_points=5)
    claim.run({"a": [cfg]})
    check = Check(name="x", value=1.0, ci=None, region="x", verdict=Verdict.SUPPORTED)
    claim.finish(Judgement(Verdict.SUPPORTED, "ran", [check]), statement="trains")
"""


def test_controller_shows_worker_progress(pytester: pytest.Pytester, monkeypatch):
    monkeypatch.delenv("GROKCORE_SESSION", raising=False)
    monkeypatch.setenv("GROKCORE_PROGRESS_EVERY", "0.2")
    pytester.makeconftest('pytest_plugins = ["grokcore.plugin"]\n')
    pytester.makepyfile(test_claims=CLAIM)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "xdist", "-n", "1", "--scale", "quick",
        "--run-cache", str(pytester.path / "cache"),
        "--report", str(pytester.path / "out" / "index.html"),
    )  # fmt: skip
    result.stdout.fnmatch_lines(["*[[]grokcore[]] gw0 T-TRAIN: 1 runs × 300 steps*"])
