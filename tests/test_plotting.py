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


# -- the marks the statistics read, zeros on a log axis, and text legible in the report -------


@pytest.fixture
def saved(monkeypatch) -> list:
    """Every figure the plotting functions save, kept for inspection after the call."""
    figs: list = []
    save = plotting._save

    def keep(fig, path, *args, **kwargs):
        figs.append(fig)
        return save(fig, path, *args, **kwargs)

    monkeypatch.setattr(plotting, "_save", keep)
    return figs


def _star_steps(fig, tau: float) -> list[float]:
    """The x of every star-marked point at height `tau` (the t_test marks) in a figure."""
    from matplotlib.collections import PathCollection

    found = []
    for ax in fig.axes:
        for c in ax.collections:
            if isinstance(c, PathCollection):
                for x, y in c.get_offsets():
                    if np.isclose(y, tau) and c.get_sizes()[0] >= 80:  # the stars
                        found.append(float(x))
    return found


def test_marks_are_the_timings_the_statistics_read(saved, tmp_path):
    from grokcore import metrics

    base = [make_history(50 * f, 900 * f) for f in (0.8, 1.0, 1.2)]
    late_fit = [make_history(200 * f, 600 * f) for f in (0.8, 1.0, 1.2)]  # D ≈ 2·t_train
    never = [make_history(60, 1e9)]  # fits, never generalizes: t_test censored, not marked
    marks = plotting.Marks(tau_train=0.9, tau_test=0.85, ratio=metrics.GROK_RATIO)
    panels = {"base": base, "batch 32": late_fit, "never": never}
    assert_png(plotting.plot_panels(panels, tmp_path / "p.png", marks=marks,
                                    notes={"batch 32": "0 of 3 grok"}))  # fmt: skip
    fig = saved[-1]
    want = [metrics.first_reach(h.steps, h.test_acc, 0.85, h.budget).step for h in base + late_fit]
    assert sorted(_star_steps(fig, 0.85)) == sorted(float(t) for t in want)
    # the grok line sits at (1 + 5) × the median t_train; batch 32's stars fall before it,
    # the base row's beyond it: the figure says what the verdict says
    line = marks.grok_line(late_fit)
    t_fit = np.median([metrics.first_reach(h.steps, h.train_acc, 0.9, h.budget).step
                       for h in late_fit])  # fmt: skip
    assert line == pytest.approx(6 * t_fit)
    assert all(t < line for t in want[3:])
    assert all(t > marks.grok_line(base) for t in want[:3])
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert "batch 32\n0 of 3 grok" in titles
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(text.startswith("grok line") for text in legend)


def test_curves_with_marks_and_their_bad_input(saved, groups, tmp_path):
    marks = plotting.Marks(0.9, 0.9)
    assert_png(plotting.plot_curves(groups, tmp_path / "c.png", marks=marks))
    assert _star_steps(saved[-1], 0.9)  # the stars are drawn
    with pytest.raises(ValueError, match="accuracy"):
        plotting.plot_curves(groups, tmp_path / "l.png", metric="loss", marks=marks)
    with pytest.raises(ValueError, match="tau_test"):
        plotting.Marks(0.9, 1.5)
    with pytest.raises(ValueError, match="ratio"):
        plotting.Marks(0.9, 0.9, ratio=0)


def test_zero_delays_are_drawn_on_the_log_axis(saved, tmp_path):
    # OG-CE: cross-entropy's delays are 0, MSE's thousands of steps
    samples = {"MSE": [2100.0, 3000.0, 4500.0], "CE": [0.0, 0.0, 0.0]}
    assert_png(plotting.plot_distributions(samples, tmp_path / "d.png", "delay D (steps)"))
    ax = saved[-1].axes[0]
    assert ax.get_yscale() == "symlog"
    points = np.concatenate([c.get_offsets() for c in ax.collections if len(c.get_offsets())])
    assert np.sum(points[:, 1] == 0) == 3  # every zero is a point on the axes
    lo, hi = ax.get_ylim()
    assert lo < 0 < 4500 < hi
    assert 0.0 in ax.get_yticks()
    assert "3 at 0" in ax.get_xticklabels()[1].get_text()
    # and all-positive data keeps its plain log axis
    plotting.plot_distributions({"a": [10.0, 100.0]}, tmp_path / "p.png", "D")
    assert saved[-1].axes[0].get_yscale() == "log"


def test_text_px_measures_the_shrink_of_a_wide_figure():
    import matplotlib.pyplot as plt

    # AR-SPIKE's old figure: four 3.4-inch panels in a row with 7-point legends
    fig, axes = plt.subplots(1, 4, figsize=(13.6, 3.3))
    axes[0].legend(handles=plotting.Marks(0.9, 0.9).keys(), fontsize=7)
    assert plotting.shown_scale(fig) == pytest.approx(1000 / (13.6 * plotting.DPI))
    assert plotting.text_px(fig) < plotting.MIN_TEXT_PX  # ≈ 7 px: the rule rejects it
    fig.set_figwidth(plotting.MAX_WIDTH_IN)
    assert plotting.text_px(fig) == pytest.approx(7 / 72 * plotting.DPI)  # ≈ 10.7 px
    plt.close(fig)
    assert plotting.panel_grid(4, 4.5, 3.4, max_cols=2) == (2, 2)
    assert plotting.panel_grid(1, 4.5, 3.4) == (1, 1)
    assert plotting.panel_grid(3, 3.0, 3.0, max_cols=4) == (1, 3)


def _spiky(h: History, seed: int) -> History:
    rng = np.random.default_rng(seed)
    loss = np.exp(-np.linspace(0, 12, h.budget)) + 1e-9
    loss[rng.integers(h.budget // 3, h.budget, 4)] = 1.0
    return History(**{**h.__dict__, "batch_loss": loss})


def test_every_multi_panel_figure_keeps_text_legible_in_the_report(saved, groups, tmp_path):
    """Each figure, at the width the report shows it (REPORT_WIDTH_PX at most), has no text
    smaller than MIN_TEXT_PX: wide figures wrap their panels into rows instead of shrinking."""
    hs = [h for g in groups.values() for h in g]
    plotting.plot_spikes([_spiky(h, i) for i, h in enumerate(hs[:4])], [[3000]] * 4,
                         tmp_path / "s.png", "AR-SPIKE", labels=["a", "b", "c", "d"])  # fmt: skip
    plotting.plot_arms({f"arm {i}": hs[:3] for i in range(4)}, tmp_path / "a.png", "RP-LATEWD",
                       arm_markers={"arm 1": {"decay on": 300}})  # fmt: skip
    plotting.plot_panels({f"row {i}": hs[:3] for i in range(5)}, tmp_path / "p.png",
                         marks=plotting.Marks(0.9, 0.9, 5.0))  # fmt: skip
    runs = [{"grokked": i % 3 > 0, "delay_epochs": 10.0 * (i + 1), "batch_size": 2 ** (i % 5),
             "weight_decay": 0.1 * (i % 4), "lr": 1e-3 * (1 + i % 3), "train_frac": 0.3 + 0.1 *
             (i % 4)} for i in range(24)]  # fmt: skip
    factors = ("batch_size", "weight_decay", "lr", "train_frac")
    plotting.plot_sweep_factors(runs, {f: f"{f}: ρ = +0.5 [+0.4, +0.6]" for f in factors},
                                tmp_path / "f.png", "LS-CORR")  # fmt: skip
    rows = [{"label": f"op {i}", "generalized": i, "n": 12, "share": i / 12,
             "share_ci": (max(i / 12 - 0.2, 0), min(i / 12 + 0.2, 1)), "bound": 0.8,
             "side": "at_least" if i % 2 else "at_most", "median_delay": 100.0 * (i + 1),
             "censored": i % 3} for i in range(12)]  # fmt: skip
    plotting.plot_shares(rows, tmp_path / "sh.png", "AR-OPS")
    plotting.plot_condition_grid(rows, tmp_path / "g.png", "OG-TS")
    plotting.plot_distributions({f"arm {i}": [10.0, 20.0, 0.0] for i in range(9)},
                                tmp_path / "d.png", "D")  # fmt: skip
    assert len(saved) == 7
    for fig in saved:
        name = fig.texts[0].get_text() if fig.texts else fig.axes[0].get_title()
        assert plotting.text_px(fig) >= plotting.MIN_TEXT_PX, (name, plotting.text_px(fig))
        assert fig.get_figwidth() * plotting.DPI <= plotting.REPORT_WIDTH_PX + 1e-6, name


def test_claim_figures_draw_what_their_cards_say(saved, tmp_path):
    """OG-CRIT draws its logistic fit, AR-FRAC both operations with their t_test marks, from
    the claims' own draw methods on synthetic runs (no training)."""
    from claims import REGISTRY
    from grokcore.spec import Scope
    from tests.synthetic import synthetic

    scope = Scope("quick")

    def figure(name: str, caption: str | None = None) -> Path:
        return tmp_path / f"{name}.png"

    crit = REGISTRY["OG-CRIT"]
    arms = crit.arms(scope)
    runs = {"fraction sweep": [synthetic(60, 500 if c.task.train_frac >= 0.3 else None)
                               for c in arms["fraction sweep"]]}  # fmt: skip
    j = crit.judge(scope, arms, runs)
    crit.draw(scope, arms, runs, j, figure)
    labels = [line.get_label() for line in saved[-1].axes[0].get_lines()]
    assert "logistic fit" in labels

    frac = REGISTRY["AR-FRAC"]
    arms = frac.arms(scope)
    runs = {n: [synthetic(60, 3000 * (1 - c.task.train_frac)) for c in cs]
            for n, cs in arms.items()}  # fmt: skip
    j = frac.judge(scope, arms, runs)
    before = len(saved)
    frac.draw(scope, arms, runs, j, figure)
    assert [f.axes[0].get_title() for f in saved[before:]] == [
        "x + y by train fraction",
        "x ÷ y by train fraction",
    ]
    for fig in saved[before:]:
        assert len(_star_steps(fig, 0.95)) == sum(len(cs) for cs in arms.values()) // 2
