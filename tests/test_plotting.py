"""Every plotting function writes a readable PNG from synthetic grokking curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grokcore import plotting
from grokcore.history import History

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_history(t_train: float, t_test: float, n: int = 60, budget: int = 10_000) -> History:
    """Sigmoid accuracies in log step: the train curve rises at t_train, test at t_test."""
    steps = np.concatenate([[0], np.unique(np.geomspace(1, budget, n).astype(np.int64))])
    ls = np.log(np.maximum(steps, 1))

    def rise(t: float) -> np.ndarray:
        return 1 / (1 + np.exp(-4 * (ls - np.log(t))))

    train_acc, test_acc = rise(t_train), 0.95 * rise(t_test)
    norm = 10 + 5 * rise(t_train) - 8 * rise(t_test)
    return History(
        steps=steps,
        train_loss=2.0 * (1 - train_acc) + 1e-4,
        train_acc=train_acc,
        test_loss=2.0 * (1 - test_acc) + 0.1,
        test_acc=test_acc,
        norm=norm,
        budget=budget,
    )


def assert_png(path: Path) -> None:
    assert path.exists()
    assert path.stat().st_size > 5_000
    assert path.read_bytes()[:8] == PNG_MAGIC


@pytest.fixture(scope="module")
def groups() -> dict[str, list[History]]:
    rng = np.random.default_rng(0)
    return {
        f"γ={g}": [
            make_history(50 * rng.uniform(0.7, 1.4), 300 / g * rng.uniform(0.7, 1.4))
            for _ in range(k)
        ]
        for g, k in ((0.1, 5), (1.0, 3))
    }


@pytest.mark.parametrize("metric", ["acc", "loss"])
def test_plot_curves(groups, tmp_path, metric):
    out = plotting.plot_curves(groups, tmp_path / f"curves_{metric}.png", "curves", metric=metric)
    assert_png(out)


def test_plot_curves_mixed_step_grids(tmp_path):
    # runs of one group evaluated at different steps, and with different budgets
    hs = [
        make_history(40, 900, n=60),
        make_history(50, 1200, n=23, budget=3_000),
        make_history(30, 700, n=97, budget=20_000),
    ]
    assert len({len(h.steps) for h in hs}) == 3
    assert_png(plotting.plot_curves({"mixed": hs, "single": hs[:1]}, tmp_path / "mixed.png"))


def test_plot_curves_rejects_unknown_metric(groups, tmp_path):
    with pytest.raises(ValueError, match="metric"):
        plotting.plot_curves(groups, tmp_path / "x.png", metric="norm")


def test_plot_loglog_fit(tmp_path):
    rng = np.random.default_rng(1)
    gamma = np.repeat(np.geomspace(0.03, 1, 6), 3)
    t = 500 / gamma * np.exp(rng.normal(0, 0.2, len(gamma)))
    censored = t > 10_000
    t[censored] = 10_000
    out = plotting.plot_loglog_fit(
        gamma,
        t,
        censored,
        slope=-0.97,
        intercept=np.log(500),
        ci_band=(-1.12, -0.83),
        path=tmp_path / "fit.png",
        xlabel="weight decay γ",
        ylabel="t_test",
        title="OG-INV",
    )
    assert_png(out)
    out = plotting.plot_loglog_fit(
        gamma,
        t,
        np.zeros(len(t), bool),
        -1.0,
        None,  # through the centroid, as OLS would
        None,
        tmp_path / "fit10.png",
        "γ",
        "t",
        reference_slope=None,
        base=10.0,
    )
    assert_png(out)


def test_plot_distributions(tmp_path):
    rng = np.random.default_rng(2)
    samples = {"MSE": rng.lognormal(8, 0.3, 6), "CE": rng.lognormal(5, 0.5, 6)}
    cens = {"MSE": [False, False, False, False, True, True], "CE": [False] * 6}
    out = plotting.plot_distributions(
        samples, tmp_path / "d.png", "delay D (steps)", "OG-CE", censored=cens
    )
    assert_png(out)
    assert_png(plotting.plot_distributions(samples, tmp_path / "lin.png", "D", log=False))


def test_plot_traces(groups, tmp_path):
    hs = [h for g in groups.values() for h in g]
    t_test = [int(np.argmax(h.test_acc >= 0.9)) or 1 for h in hs]
    align = [int(h.steps[i]) for h, i in zip(hs, t_test, strict=True)]
    align[0] = 0  # a censored run is skipped, not divided by zero
    assert_png(plotting.plot_traces(hs, tmp_path / "aligned.png", align=align, title="traces"))
    assert_png(plotting.plot_traces(hs, tmp_path / "raw.png", band=None))


def test_plot_arms(groups, tmp_path):
    arms = {"γ=0": groups["γ=1.0"], "late on": groups["γ=0.1"], "early off": groups["γ=1.0"][:1]}
    out = plotting.plot_arms(
        arms,
        tmp_path / "arms.png",
        "RP-LATEWD",
        markers={"memorized": 100},
        arm_markers={"late on": {"wd on at 2000": 2000}},
    )
    assert_png(out)


def test_plot_norm(groups, tmp_path):
    assert_png(plotting.plot_norm(groups, tmp_path / "sub" / "norm.png", "OG-NORM"))
