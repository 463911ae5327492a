"""Figures for claim cards: learning curves, log-log fits, per-seed distributions.

Every function writes one PNG to `path` and returns it as a `Path`. The backend is
forced to Agg so that plotting works on headless workers and never opens a window.
Curves are drawn on a log step axis, the way the grokking papers draw them, because
the interesting events (fit, generalization) are orders of magnitude apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.lines import Line2D
from matplotlib.text import Text

from grokcore import metrics
from grokcore.history import History

if TYPE_CHECKING:
    from matplotlib.typing import ColorType  # matplotlib >= 3.8

DPI = 110
MAX_GRID = 300  # points on a group's common step grid; enough for smooth lines
# The report shows a figure at its own width up to the width of a card's content (the
# template: main 1100 px less 2 × 20 px of padding, the card's 2 × 20 px and its border),
# shrunk to it beyond. Text must stay legible at that width: at least MIN_TEXT_PX pixels.
REPORT_WIDTH_PX = 1000
MIN_TEXT_PX = 10.0
MAX_WIDTH_IN = REPORT_WIDTH_PX / DPI  # a figure this wide is shown unshrunk
RGB = tuple[float, float, float]


def _tab10() -> tuple[RGB, ...]:
    cmap = plt.get_cmap("tab10")
    assert isinstance(cmap, ListedColormap)
    # ten RGB tuples; the stub types `colors` as any array-like or colour
    return cast("tuple[RGB, ...]", cmap.colors)


COLORS = _tab10()
BOX_STYLE: dict[str, Any] = {  # keyword arguments of Axes.boxplot
    "medianprops": {"color": "0.2"},
    **{f"{part}props": {"color": "0.55"} for part in ("box", "whisker", "cap")},
}


def _color(i: int) -> RGB:
    return COLORS[i % len(COLORS)]


def shown_scale(fig: plt.Figure) -> float:
    """How much the report shrinks `fig`: 1 up to REPORT_WIDTH_PX, less beyond."""
    return min(1.0, REPORT_WIDTH_PX / (fig.get_figwidth() * DPI))


def text_px(fig: plt.Figure) -> float:
    """The height in pixels of the figure's smallest visible text, as the report shows it
    (font size in points at DPI, times `shown_scale`); inf for a figure without text."""
    sizes = [
        t.get_fontsize()
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and t.get_figure() is not None
    ]
    if not sizes:
        return float("inf")
    return float(min(sizes)) / 72 * DPI * shown_scale(fig)


def panel_grid(n: int, width: float, height: float, max_cols: int = 4) -> tuple[int, int]:
    """(rows, cols) for n panels of `width` inches, as many a row as fit MAX_WIDTH_IN (at
    least one, at most `max_cols`): a wide row would be shrunk below legible text."""
    cols = max(1, min(n, max_cols, int(MAX_WIDTH_IN // width)))
    return -(-max(n, 1) // cols), cols


def _save(fig: plt.Figure, path: str | Path, layout: bool = True) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if layout:
        fig.tight_layout()
    fig.savefig(path, dpi=DPI, format="png")
    plt.close(fig)
    return path


def _positive_steps(h: History) -> tuple[np.ndarray, np.ndarray]:
    """Steps usable on a log axis, and the indices they come from.

    Step 0 (the initialization) is shown at step 1 unless step 1 was evaluated too.
    """
    steps = np.asarray(h.steps, dtype=float)
    idx = np.arange(len(steps))
    if len(steps) > 1 and steps[0] == 0 and steps[1] == 1:
        idx = idx[1:]
    return np.maximum(steps[idx], 1.0), idx


def _common_grid(histories: Sequence[History]) -> np.ndarray:
    grid = np.unique(np.concatenate([_positive_steps(h)[0] for h in histories]))
    if len(grid) > MAX_GRID:
        grid = np.geomspace(grid[0], grid[-1], MAX_GRID)
    return grid


def _interp(h: History, attr: str, grid: np.ndarray) -> np.ndarray:
    """One curve on `grid`, linear in log step; NaN outside the run's evaluated range."""
    x, idx = _positive_steps(h)
    y = np.asarray(getattr(h, attr), dtype=float)[idx]
    lx, lg = np.log(x), np.log(grid)
    out = np.interp(lg, lx, y)
    out[(lg < lx[0] - 1e-12) | (lg > lx[-1] + 1e-12)] = np.nan
    return out


def _aggregate(
    histories: Sequence[History], attr: str, grid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median and spread over runs: inter-quartile range, or min–max below 4 runs."""
    ys = np.stack([_interp(h, attr, grid) for h in histories])
    med = np.nanmedian(ys, axis=0)
    if len(histories) >= 4:
        lo, hi = np.nanpercentile(ys, [25, 75], axis=0)
    else:
        lo, hi = np.nanmin(ys, axis=0), np.nanmax(ys, axis=0)
    return med, lo, hi


def _band_plot(ax, grid, histories, attr, color, linestyle, label=None) -> None:
    med, lo, hi = _aggregate(histories, attr, grid)
    ax.plot(grid, med, color=color, linestyle=linestyle, lw=1.6, label=label)
    if len(histories) > 1:
        ax.fill_between(grid, lo, hi, color=color, alpha=0.18, lw=0)


def _style(ax, title: str, ylabel: str, xlabel: str = "step", acc: bool = False) -> None:
    """The axes every curve figure shares: log step axis, light grid, small title."""
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if acc:
        ax.set_ylim(-0.02, 1.02)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="major", alpha=0.3)


def _split_legend(ax, names: Sequence[str], marks: Marks | None = None) -> None:
    """Legend with one colour per condition plus line-style keys for train/test (and the
    marks' keys, when the curves carry them)."""
    handles = [Line2D([], [], color=_color(i), lw=2) for i in range(len(names))]
    handles += [Line2D([], [], color="0.3", ls="--"), Line2D([], [], color="0.3", ls="-")]
    labels = [*names, "train", "test"]
    if marks is not None:
        keys = marks.keys()
        handles += keys
        labels += [str(k.get_label()) for k in keys]
    ax.legend(handles, labels, fontsize=8, frameon=False, loc="best")


@dataclass(frozen=True)
class Marks:
    """What a claim's statistic reads off accuracy curves, drawn on them.

    Each run's t_train (hollow circle: first evaluated step with train accuracy ≥
    `tau_train`) and t_test (star: test accuracy ≥ `tau_test`), found by
    `metrics.first_reach` as the statistics find them; the two thresholds as dotted lines;
    and, with `ratio`, the grok line at (1 + ratio) × the median t_train: a run groks by the
    delay rule D > ratio · t_train (`metrics.GROK_RATIO`) when its star lies beyond it.
    Censored timings (the curve never reaches its threshold) are not marked.
    """

    tau_train: float
    tau_test: float
    ratio: float | None = None

    def __post_init__(self) -> None:
        for name in ("tau_train", "tau_test"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"Marks.{name} must be in (0, 1], got {getattr(self, name)}")
        if self.ratio is not None and not self.ratio > 0:
            raise ValueError(f"Marks.ratio must be > 0 or None, got {self.ratio}")

    def timings(self, h: History) -> tuple[metrics.Timing, metrics.Timing]:
        """(t_train, t_test) of one run at these thresholds."""
        return (
            metrics.first_reach(h.steps, h.train_acc, self.tau_train, h.budget),
            metrics.first_reach(h.steps, h.test_acc, self.tau_test, h.budget),
        )

    def grok_line(self, histories: Sequence[History]) -> float | None:
        """The step of the grok line, (1 + ratio) × the median uncensored t_train; None
        without a ratio or a run that fits."""
        fits = [max(a.step, 1) for a, _ in map(self.timings, histories) if not a.censored]
        if self.ratio is None or not fits:
            return None
        return (1 + self.ratio) * float(np.median(fits))

    def keys(self) -> list[Line2D]:
        keys = [
            Line2D([], [], marker="o", ls="", mfc="none", mec="0.25",
                   label=f"t_train (train ≥ {self.tau_train:g})"),
            Line2D([], [], marker="*", ls="", ms=10, color="0.25",
                   label=f"t_test (test ≥ {self.tau_test:g})"),
        ]  # fmt: skip
        if self.ratio is not None:
            keys.append(
                Line2D([], [], color="0.25", ls="-.",
                       label=f"grok line: D = {self.ratio:g}·t_train (median)")
            )  # fmt: skip
        return keys


def _draw_marks(ax, histories: Sequence[History], marks: Marks, color: ColorType) -> None:
    for h in histories:
        a, b = marks.timings(h)
        if not a.censored:
            ax.scatter([max(a.step, 1)], [marks.tau_train], marker="o", s=34,
                       facecolors="none", edgecolors=[color], linewidths=1.3, zorder=4)  # fmt: skip
        if not b.censored:
            ax.scatter([max(b.step, 1)], [marks.tau_test], marker="*", s=90, color=[color],
                       edgecolors="0.1", linewidths=0.4, zorder=5)  # fmt: skip
    if (line := marks.grok_line(histories)) is not None:
        ax.axvline(line, color=color, ls="-.", lw=1.2, alpha=0.85)


def _threshold_lines(ax, marks: Marks) -> None:
    for tau in sorted({marks.tau_train, marks.tau_test}):
        ax.axhline(tau, color="0.55", ls=":", lw=0.9, zorder=1)


def plot_curves(
    groups: dict[str, list[History]],
    path: str | Path,
    title: str = "",
    metric: str = "acc",
    marks: Marks | None = None,
) -> Path:
    """Median train (dashed) and test (solid) accuracy or loss per condition, log step axis;
    with `marks`, each run's t_train, t_test and the grok line on the accuracy curves."""
    if metric not in ("acc", "loss"):
        raise ValueError(f"metric must be 'acc' or 'loss', got {metric!r}")
    if marks is not None and metric != "acc":
        raise ValueError("plot_curves: marks are read off accuracy curves (metric='acc')")
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for i, hs in enumerate(groups.values()):
        if not hs:
            continue
        grid = _common_grid(hs)
        _band_plot(ax, grid, hs, f"train_{metric}", _color(i), "--")
        _band_plot(ax, grid, hs, f"test_{metric}", _color(i), "-")
        if marks is not None:
            _draw_marks(ax, hs, marks, _color(i))
    _style(ax, title, "accuracy" if metric == "acc" else "loss", acc=metric == "acc")
    if metric == "loss":
        ax.set_yscale("log")
    if marks is not None:
        _threshold_lines(ax, marks)
    _split_legend(ax, list(groups), marks)
    return _save(fig, path)


def plot_zero_loss(
    groups: dict[str, list[History]], path: str | Path, title: str = "", tau: float | None = None
) -> Path:
    """Median share of training samples whose loss is exactly 0 (solid; `History.
    zero_loss_share`) and test accuracy (dotted) per condition, log step axis; `tau`: the
    test accuracy that counts as generalized, as a grey line."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for i, hs in enumerate(groups.values()):
        hs = [h for h in hs if len(h.zero_loss_share) == len(h.steps)]
        if not hs:
            continue
        grid = _common_grid(hs)
        _band_plot(ax, grid, hs, "zero_loss_share", _color(i), "-")
        _band_plot(ax, grid, hs, "test_acc", _color(i), ":")
    if tau is not None:
        ax.axhline(tau, color="0.6", lw=0.8, ls="--")
    _style(ax, title, "share of train losses exactly 0 / test accuracy", acc=True)
    handles = [Line2D([], [], color=_color(i), lw=2) for i in range(len(groups))]
    handles += [Line2D([], [], color="0.3", ls="-"), Line2D([], [], color="0.3", ls=":")]
    ax.legend(handles, [*groups, "zero-loss share", "test acc"], fontsize=8, frameon=False)
    return _save(fig, path)


def plot_loglog_fit(
    x: Sequence[float],
    y: Sequence[float],
    censored: Sequence[bool],
    slope: float,
    intercept: float | None,
    ci_band: tuple[float, float] | None,
    path: str | Path,
    xlabel: str,
    ylabel: str,
    title: str = "",
    reference_slope: float | None = -1,
    base: float = np.e,
) -> Path:
    """Points on log-log axes with the fit log y = intercept + slope·log x (logs in `base`).

    Censored points are hollow up-triangles at their censoring value (the true value is
    at least that). `intercept=None` puts the line through the centroid of all points in
    log space, which is where an OLS fit on them passes (`stats.loglog_slope` gives no
    intercept). The CI band and the reference line pass through the fitted line at the
    mean log x, so they show slopes only, not a second intercept.
    """
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    cens = np.asarray(censored, dtype=bool)
    ok = (xa > 0) & (ya > 0)
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    ax.scatter(xa[ok & ~cens], ya[ok & ~cens], s=22, color=_color(0), label="observed", zorder=3)
    if np.any(ok & cens):
        hollow: dict[str, Any] = {
            "marker": "^",
            "facecolors": "none",
            "edgecolors": _color(3),
            "zorder": 3,
        }
        ax.scatter(xa[ok & cens], ya[ok & cens], s=36, label="censored (≥)", **hollow)
    if np.any(ok):
        lb = np.log(base)
        lx = np.log(xa[ok]) / lb
        pad = 0.05 * max(np.ptp(lx), 1e-9)
        xs = np.linspace(lx.min() - pad, lx.max() + pad, 50)
        cx = float(lx.mean())
        cy = float(np.mean(np.log(ya[ok]) / lb)) if intercept is None else intercept + slope * cx

        def line(k: float) -> np.ndarray:
            return cy + k * (xs - cx)

        grid = base**xs
        ax.plot(grid, base ** line(slope), color=_color(0), lw=1.6, label=f"fit, slope {slope:.3g}")
        if ci_band is not None:
            a, b = line(ci_band[0]), line(ci_band[1])
            label = f"slope CI [{ci_band[0]:.3g}, {ci_band[1]:.3g}]"
            lo, hi = base ** np.minimum(a, b), base ** np.maximum(a, b)
            ax.fill_between(grid, lo, hi, color=_color(0), alpha=0.15, lw=0, label=label)
        if reference_slope is not None:
            label = f"reference slope {reference_slope:g}"
            ax.plot(grid, base ** line(reference_slope), color="0.35", ls=":", lw=1.4, label=label)
    else:
        ax.text(0.5, 0.5, "no positive data", ha="center", transform=ax.transAxes)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    return _save(fig, path)


def plot_distributions(
    samples: dict[str, Sequence[float]],
    path: str | Path,
    ylabel: str,
    title: str = "",
    log: bool = True,
    censored: dict[str, Sequence[bool]] | None = None,
) -> Path:
    """Box plot plus jittered per-seed points for each condition; censored points hollow.

    On a log axis a value ≤ 0 (a grokking delay of 0: test and train reached their
    thresholds at one evaluation) has no place, so where there is one the axis is symlog:
    linear through 0 up to the smallest positive value's decade, logarithmic beyond, with a
    line at 0, so zeros are drawn and not dropped.
    """
    names = list(samples)
    values = {n: np.asarray(samples[n], dtype=float) for n in names}
    every = np.concatenate([v[np.isfinite(v)] for v in values.values()] or [np.zeros(0)])
    symlog = log and bool(np.any(every <= 0))
    fig, ax = plt.subplots(figsize=(min(MAX_WIDTH_IN, max(3.2, 1.3 * len(names) + 1.6)), 4.0))
    rng = np.random.default_rng(0)  # fixed jitter, so the figure is reproducible
    labels = []
    for i, name in enumerate(names):
        v = values[name]
        c = np.asarray((censored or {}).get(name, np.zeros(len(v), bool)), dtype=bool)
        finite = np.isfinite(v) & ((v > 0) if log and not symlog else True)
        if np.any(finite):
            ax.boxplot(v[finite], positions=[i], widths=0.5, showfliers=False, **BOX_STYLE)
        jx = i + rng.uniform(-0.12, 0.12, len(v))
        m = finite & ~c
        ax.scatter(jx[m], v[m], s=20, color=_color(i), zorder=3)
        m = finite & c
        ax.scatter(jx[m], v[m], s=26, facecolors="none", edgecolors=_color(i), zorder=3)
        zeros = int(np.sum(finite & (v == 0)))
        labels.append(
            f"{name}\nn={len(v)}"
            + (f", {int(c.sum())} cens." if c.any() else "")
            + (f"\n{zeros} at 0" if symlog and zeros else "")
        )
    ax.set_xticks(range(len(names)), labels, fontsize=8)
    ax.set_xlim(-0.6, len(names) - 0.4)
    if symlog:
        positive = np.abs(every[every != 0])
        linthresh = 10 ** np.floor(np.log10(positive.min())) if positive.size else 1.0
        ax.set_yscale("symlog", linthresh=linthresh, linscale=0.6)
        ax.axhline(0, color="0.4", lw=0.8, zorder=1)
        top = max(float(every.max()), linthresh) * 2.5
        bottom = min(float(every.min()) * 2.5, -0.3 * linthresh)
        ax.set_ylim(bottom, top)
        up = linthresh * 10.0 ** np.arange(int(np.ceil(np.log10(top / linthresh))))
        down = -linthresh * 10.0 ** np.arange(int(np.ceil(np.log10(max(-bottom, 1e-300) /
                                                                   linthresh))))  # fmt: skip
        ax.set_yticks(sorted([0.0, *up, *(down if bottom < -linthresh else [])]))
    elif log:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel + (" (symlog: 0 drawn)" if symlog else ""))
    ax.set_title(title, fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    if censored and any(np.any(c) for c in censored.values()):
        key = Line2D([], [], marker="o", ls="", mfc="none", mec="0.3")
        ax.legend([key], ["censored (≥ value)"], fontsize=8, frameon=False)
    return _save(fig, path)


def plot_traces(
    histories: list[History],
    path: str | Path,
    align: Sequence[int] | None = None,
    title: str = "",
    band: tuple[float, float] | None = (0.9, 0.99),
) -> Path:
    """Test accuracy of many runs as thin lines, optionally in multiples of each run's t_test.

    With `band = (lo, hi)`, a run that reached `hi` and ends below `lo` (un-grokked) is red.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    n_bad = n_drawn = 0
    for i, h in enumerate(histories):
        x, idx = _positive_steps(h)
        y = np.asarray(h.test_acc, dtype=float)[idx]
        if align is not None:
            if align[i] is None or align[i] <= 0:
                continue  # a run that never generalized has no t_test to align on
            x = np.asarray(h.steps, dtype=float)[idx] / align[i]
            keep = x > 0
            x, y = x[keep], y[keep]
        bad = band is not None and np.any(y >= band[1]) and y[-1] < band[0]
        n_bad += bool(bad)
        n_drawn += 1
        style: dict[str, Any] = (
            {"color": "tab:red", "alpha": 0.9, "zorder": 3} if bad else {"alpha": 0.45}
        )
        ax.plot(x, y, lw=0.8, **{"color": _color(0), **style})
    extra = [Line2D([], [], color=_color(0), lw=1, label=f"runs ({n_drawn})")]
    if band is not None:
        extra.append(Line2D([], [], color="tab:red", lw=1, label=f"ends < {band[0]:g} ({n_bad})"))
        for level in band:
            ax.axhline(level, color="0.4", ls=":", lw=1)
    if align is not None:
        ax.axvline(1.0, color="0.4", ls="--", lw=1)
    _style(ax, title, "test accuracy", "step" if align is None else "step / t_test", acc=True)
    ax.legend(handles=extra, fontsize=8, frameon=False, loc="lower right")
    return _save(fig, path)


def plot_arms(
    arms: dict[str, list[History]],
    path: str | Path,
    title: str = "",
    markers: dict[str, float] | None = None,
    arm_markers: dict[str, dict[str, float]] | None = None,
) -> Path:
    """One panel per arm: median train/test accuracy, with dashed lines at named steps.

    `markers` are drawn on every panel; `arm_markers[arm]` only on that arm's panel.
    """
    names = list(arms)
    rows, cols = panel_grid(len(names), 4.4, 3.4, max_cols=2)
    fig, axes = plt.subplots(
        rows, cols, figsize=(4.4 * cols, 3.4 * rows), sharey=True, squeeze=False
    )
    flat = list(axes.flat)
    for ax in flat[len(names) :]:
        ax.set_visible(False)
    for i, (ax, name) in enumerate(zip(flat, names, strict=False)):
        hs = arms[name]
        if hs:
            grid = _common_grid(hs)
            _band_plot(ax, grid, hs, "train_acc", _color(0), "--", "train")
            _band_plot(ax, grid, hs, "test_acc", _color(1), "-", "test")
        here = {**(markers or {}), **((arm_markers or {}).get(name, {}))}
        for j, (label, step) in enumerate(here.items()):
            ax.axvline(max(step, 1), color=_color(j + 2), ls="--", lw=1.1, label=label)
        _style(ax, f"{name} (n={len(hs)})", "accuracy" if i % cols == 0 else "", acc=True)
        ax.legend(fontsize=8, frameon=False, loc="upper left")
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def plot_norm(groups: dict[str, list[History]], path: str | Path, title: str = "") -> Path:
    """Total parameter norm against log step per group; dotted line at each initial norm."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    handles = []
    for i, (name, hs) in enumerate(groups.items()):
        if not hs:
            continue
        grid = _common_grid(hs)
        _band_plot(ax, grid, hs, "norm", _color(i), "-")
        # the initial norm is the reference the claims compare the end of training to
        ax.axhline(float(np.median([h.norm[0] for h in hs])), color=_color(i), ls=":", lw=1)
        handles.append(Line2D([], [], color=_color(i), lw=2, label=name))
    handles.append(Line2D([], [], color="0.3", ls=":", label="initial norm"))
    _style(ax, title, "total weight norm ‖w‖")
    ax.legend(handles=handles, fontsize=8, frameon=False)
    return _save(fig, path)


# -- omnigrok figures: LU landscape, norm with timings, condition grid, critical fraction --------


def _median_spread(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per distinct x: median of y and its spread (IQR from 4 runs, else min–max)."""
    xs = np.unique(x)
    med, lo, hi = [], [], []
    for v in xs:
        ys = y[x == v]
        med.append(np.median(ys))
        q = [25, 75] if ys.size >= 4 else [0, 100]
        a, b = np.percentile(ys, q)
        lo.append(a)
        hi.append(b)
    return xs, np.array(med), np.array(lo), np.array(hi)


def plot_lu(
    alphas: Sequence[float],
    train_loss: Sequence[float],
    test_loss: Sequence[float],
    path: str | Path,
    title: str = "",
    argmin: float | None = None,
    control: tuple[Sequence[float], Sequence[float], Sequence[float]] | None = None,
    labels: tuple[str, str] = ("this N", "large N"),
) -> Path:
    """Reduced train ("L", dashed) and test ("U", solid) loss against α on a log axis.

    One point per run, the median line and its spread per α; a dotted vertical line at the
    argmin of the median test loss. `control = (alphas, train, test)` of large-N runs is drawn
    in grey (the flatter U). Non-finite losses (diverged runs) are left out.
    """
    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    # (label, alphas, train loss, test loss, test colour, train colour)
    sets: list[tuple[str, Sequence[float], Sequence[float], Sequence[float], ColorType, ColorType]]
    sets = [(labels[0], alphas, train_loss, test_loss, _color(0), _color(1))]
    if control is not None:
        sets.append((labels[1], *control, "0.45", "0.65"))
    positive = True
    for name, a_in, tr, te, c_test, c_train in sets:
        a = np.asarray(a_in, float)
        for y_in, color, ls, what in ((tr, c_train, "--", "train"), (te, c_test, "-", "test")):
            y = np.asarray(y_in, float)
            ok = np.isfinite(y) & (a > 0)
            if not ok.any():
                continue
            positive &= bool(np.all(y[ok] > 0))
            ax.scatter(a[ok], y[ok], s=9, color=color, alpha=0.5, lw=0)
            xs, med, lo, hi = _median_spread(a[ok], y[ok])
            ax.plot(xs, med, color=color, ls=ls, lw=1.6, marker="o", ms=3, label=f"{what}, {name}")
            ax.fill_between(xs, lo, hi, color=color, alpha=0.15, lw=0)
    if argmin is not None:
        ax.axvline(argmin, color="0.3", ls=":", lw=1.2, label=f"argmin α = {argmin:.3g}")
    ax.axvline(1.0, color="0.75", lw=0.8)
    ax.set_xscale("log")
    if positive:
        ax.set_yscale("log")
    ax.set_xlabel("α = ‖w‖ / ‖w0‖ (held fixed)")
    ax.set_ylabel("reduced loss")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    return _save(fig, path)


def plot_norm_timings(
    histories: Sequence[History],
    t_train: Sequence[int | None],
    t_test: Sequence[int | None],
    path: str | Path,
    title: str = "",
    control: Sequence[History] = (),
) -> Path:
    """Weight norm of each run against log step, with its t_train (circle) and t_test (star).

    A second panel shows the median train / test accuracy. Runs in `control` (γ = 0) are grey;
    the dotted line is the median initial norm. A None timing (censored) is not marked.
    """
    fig, (ax, ax2) = plt.subplots(
        2, 1, figsize=(6.4, 5.6), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    for h in control:
        x, idx = _positive_steps(h)
        ax.plot(x, np.asarray(h.norm, float)[idx], color="0.6", lw=0.9, alpha=0.8)
    for i, h in enumerate(histories):
        x, idx = _positive_steps(h)
        norm = np.asarray(h.norm, float)[idx]
        ax.plot(x, norm, color=_color(0), lw=0.9, alpha=0.7)
        for t, marker, color in ((t_train[i], "o", _color(1)), (t_test[i], "*", _color(2))):
            if t is not None:
                y = np.interp(np.log(max(t, 1)), np.log(x), norm)
                ax.scatter([max(t, 1)], [y], marker=marker, s=40, color=color, zorder=3)
    if histories:
        ax.axhline(float(np.median([h.norm[0] for h in histories])), color="0.3", ls=":", lw=1)
        grid = _common_grid(histories)
        _band_plot(ax2, grid, histories, "train_acc", _color(1), "--", "train")
        _band_plot(ax2, grid, histories, "test_acc", _color(2), "-", "test")
    keys = [
        Line2D([], [], color=_color(0), lw=1.5, label=f"runs ({len(histories)})"),
        Line2D([], [], marker="o", ls="", color=_color(1), label="t_train"),
        Line2D([], [], marker="*", ls="", ms=9, color=_color(2), label="t_test"),
        Line2D([], [], color="0.3", ls=":", label="initial norm"),
    ]
    if control:
        keys.append(Line2D([], [], color="0.6", lw=1.5, label=f"control ({len(control)})"))
    _style(ax, title, "total weight norm ‖w‖", xlabel="")
    ax.legend(handles=keys, fontsize=8, frameon=False)
    _style(ax2, "", "accuracy", acc=True)
    ax2.legend(fontsize=8, frameon=False, loc="upper left")
    return _save(fig, path)


def plot_condition_grid(table: Sequence[dict], path: str | Path, title: str = "") -> Path:
    """Per condition: share of seeds generalizing (with its CI) and median delay D.

    `table` rows hold "label", "share", "share_ci" (lo, hi), "median_delay", "censored" and
    "n" (`verdicts.condition_table` makes them). Bars with censored runs are hatched: their
    median D is a lower bound.
    """
    labels = [r["label"] for r in table]
    x = np.arange(len(table))
    fig, (a1, a2) = plt.subplots(
        1, 2, figsize=(min(MAX_WIDTH_IN, max(6.4, 1.1 * len(table) + 3)), 3.8)
    )
    share = np.array([r["share"] for r in table], float)
    lo = np.array([r["share_ci"][0] for r in table], float)
    hi = np.array([r["share_ci"][1] for r in table], float)
    colors = [_color(i) for i in range(len(table))]
    a1.bar(x, share, color=colors, alpha=0.8)
    a1.errorbar(x, share, yerr=[share - lo, hi - share], fmt="none", ecolor="0.2", capsize=3)
    for xi, r in zip(x, table, strict=True):
        a1.annotate(
            f"{r['generalized']}/{r['n']}", (xi, 0.01), ha="center", va="bottom", fontsize=7
        )
    a1.set_ylim(0, 1.05)
    a1.set_ylabel("share of seeds generalizing")
    delay = np.maximum(np.array([r["median_delay"] for r in table], float), 1)
    bars = a2.bar(x, delay, color=colors, alpha=0.8)
    for bar, r in zip(bars, table, strict=True):
        if r["censored"]:
            bar.set_hatch("//")
            top = (bar.get_x() + bar.get_width() / 2, bar.get_height())
            a2.annotate(f"{r['censored']} cens.", top, ha="center", va="bottom", fontsize=7)
    a2.set_yscale("log")
    a2.set_ylabel("median delay D (steps)")
    for ax in (a1, a2):
        ticks = [f"{lab}\nn={r['n']}" for lab, r in zip(labels, table, strict=True)]
        ax.set_xticks(x, ticks, fontsize=7, rotation=30)
        ax.grid(True, axis="y", alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def plot_critical_fraction(
    fractions: Sequence[float],
    generalized: Sequence[bool],
    path: str | Path,
    midpoint: float | None = None,
    slope: float | None = None,
    ci: tuple[float, float] | None = None,
    region: tuple[float, float] | None = None,
    title: str = "",
) -> Path:
    """Generalized (1) or not (0) per run against train fraction, with the logistic fit.

    Per-fraction shares are squares; the curve is sigmoid(slope · (f − midpoint)); the 50%
    point is a dashed line with its CI shaded, and the claim's region a light band.
    """
    f = np.asarray(fractions, float)
    y = np.asarray(generalized, bool).astype(float)
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    rng = np.random.default_rng(0)  # fixed jitter, so the figure is reproducible
    jit = 0.01 * max(np.ptp(f), 1e-9)
    jx, jy = f + rng.uniform(-jit, jit, f.size), y + rng.uniform(-0.03, 0.03, f.size)
    ax.scatter(jx, jy, s=16, color=_color(0), alpha=0.6, lw=0, label="runs")
    fs = np.unique(f)
    ax.plot(fs, [y[f == v].mean() for v in fs], "s", color=_color(1), label="share per fraction")
    if region is not None:
        ax.axvspan(*region, color="0.85", alpha=0.5, lw=0, label="claim region")
    if midpoint is not None and np.isfinite(midpoint):
        if slope is not None and np.isfinite(slope):
            xs = np.linspace(f.min(), f.max(), 200)
            p = 0.5 * (1 + np.tanh(slope * (xs - midpoint) / 2))  # the sigmoid, overflow-free
            ax.plot(xs, p, color=_color(1), lw=1.4, label="logistic fit")
        ax.axvline(midpoint, color=_color(3), ls="--", lw=1.2, label=f"50% point {midpoint:.3g}")
        if ci is not None and np.all(np.isfinite(ci)):
            ax.axvspan(*ci, color=_color(3), alpha=0.15, lw=0, label="95% CI")
    ax.set_ylim(-0.08, 1.08)
    ax.set_xlabel("train fraction")
    ax.set_ylabel("generalized (test accuracy ≥ τ in budget)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, frameon=False, loc="center right")
    return _save(fig, path)


def plot_shares(table: Sequence[dict], path: str | Path, title: str = "", ylabel: str = "") -> Path:
    """Per row (an operation, an arm): share of seeds generalizing, with its CI and bound.

    `table` rows hold "label", "generalized", "n", "share" and "share_ci" (lo, hi), and
    optionally the claim's "bound" with its "side" ("at_least" / "at_most"), drawn as a dashed
    tick over the bar (`verdicts.op_table` makes them). Rows expected not to generalize
    (side "at_most", e.g. arn's hard operations) are grey and hatched.
    """
    x = np.arange(len(table))
    fig, ax = plt.subplots(figsize=(min(MAX_WIDTH_IN, max(5.0, 0.9 * len(table) + 2.5)), 3.8))
    share = np.array([r["share"] for r in table], float)
    lo = np.array([r["share_ci"][0] for r in table], float)
    hi = np.array([r["share_ci"][1] for r in table], float)
    low_side = [r.get("side") == "at_most" for r in table]
    colors: list[ColorType] = ["0.6" if low else _color(0) for low in low_side]
    bars = ax.bar(x, share, color=colors, alpha=0.85)
    ax.errorbar(x, share, yerr=[share - lo, hi - share], fmt="none", ecolor="0.2", capsize=3)
    for xi, bar, r, low in zip(x, bars, table, low_side, strict=True):
        if low:
            bar.set_hatch("//")
        ax.annotate(
            f"{r['generalized']}/{r['n']}", (xi, 0.01), ha="center", va="bottom", fontsize=7
        )
        if r.get("bound") is not None:
            ax.hlines(r["bound"], xi - 0.42, xi + 0.42, colors=_color(3), linestyles="--", lw=1.2)
    keys = [
        Line2D([], [], color=_color(0), lw=6, alpha=0.85, label="should generalize"),
        Line2D([], [], color="0.6", lw=6, alpha=0.85, label="should not (hatched)"),
        Line2D([], [], color=_color(3), ls="--", lw=1.2, label="claim bound (≥ or ≤)"),
    ]
    shown = keys if any(low_side) else keys[::2]
    ax.legend(handles=shown, fontsize=7, frameon=False, loc="upper center", ncol=len(shown))
    ax.set_xticks(x, [str(r["label"]) for r in table], fontsize=7, rotation=30, ha="right")
    for tick, low in zip(ax.get_xticklabels(), low_side, strict=True):
        if low:  # the rows expected not to generalize, named in grey italics
            tick.set_color("0.4")
            tick.set_fontstyle("italic")
    ax.set_ylim(0, 1.2)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel(ylabel or "share of seeds generalizing (95% CP CI)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    return _save(fig, path)


def plot_panels(
    panels: dict[str, list[History]],
    path: str | Path,
    title: str = "",
    ncols: int = 3,
    marks: Marks | None = None,
    notes: dict[str, str] | None = None,
) -> Path:
    """A grid of small panels, one per condition (a table's rows), sharing the step and accuracy
    axes: median train (dashed) and test (solid) accuracy with their spread over seeds. With
    `marks`, each run's t_train, t_test and the grok line (`Marks`); `notes[name]` is a second
    title line for a panel (what the statistic made of its runs, say)."""
    names = [n for n, hs in panels.items() if hs]
    if not names:
        raise ValueError("plot_panels: no panel has runs")
    rows, cols = panel_grid(len(names), 4.4, 3.4, max_cols=ncols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(4.4 * cols, 3.4 * rows + 0.6), sharex=True, sharey=True,
        squeeze=False,
    )  # fmt: skip
    for i, name in enumerate(names):
        ax, hs = axes[i // cols][i % cols], panels[name]
        grid = _common_grid(hs)
        _band_plot(ax, grid, hs, "train_acc", _color(i), "--")
        _band_plot(ax, grid, hs, "test_acc", _color(i), "-")
        if marks is not None:
            _draw_marks(ax, hs, marks, _color(i))
            _threshold_lines(ax, marks)
        head = name if not (notes or {}).get(name) else f"{name}\n{notes[name]}"  # type: ignore[index]
        _style(ax, head, "accuracy" if i % cols == 0 else "", acc=True)
    for j in range(len(names), rows * cols):
        axes[j // cols][j % cols].set_visible(False)
    keys = [Line2D([], [], color="0.3", ls="--", label="train"),
            Line2D([], [], color="0.3", ls="-", label="test")]  # fmt: skip
    if marks is not None:
        keys += marks.keys()
    fig.legend(handles=keys, loc="lower center", ncol=min(len(keys), 5), fontsize=9,
               frameon=False)  # fmt: skip
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.07 if rows == 1 else 0.04, 1, 1))
    return _save(fig, path, layout=False)


def plot_sweep_factors(
    runs: Sequence[dict], titles: dict[str, str], path: str | Path, title: str = ""
) -> Path:
    """li-sakib Table 1 drawn: one panel per factor, the delay (epochs, log) of every sweep run
    against the factor's level (log), the median per level as a line, and runs that never
    grokked as grey triangles along the top. `titles` maps a factor (a key of the rows) to
    its panel title, e.g. "batch size: ρ = +0.54 [+0.50, +0.58]"."""
    if not runs:
        raise ValueError("plot_sweep_factors: no runs")
    names = list(titles)
    rows, cols = panel_grid(len(names), 4.4, 3.3, max_cols=2)
    fig, grid_axes = plt.subplots(
        rows, cols, figsize=(4.4 * cols, 3.3 * rows), sharey=True, squeeze=False
    )
    axes = list(grid_axes.flat)[: len(names)]
    for ax in list(grid_axes.flat)[len(names) :]:
        ax.set_visible(False)
    grok = [r for r in runs if r["grokked"]]
    d = np.array([max(r["delay_epochs"], 1e-2) for r in grok], float)  # log axis: D ≤ 0 at floor
    top = float(d.max()) * 3 if d.size else 1.0
    rng = np.random.default_rng(0)  # horizontal jitter only, so points at one level separate
    for i, (ax, name) in enumerate(zip(axes, names, strict=True)):
        x = np.array([r[name] for r in grok], float)
        jit = lambda n: np.exp(rng.uniform(-0.12, 0.12, n))  # noqa: E731
        ax.scatter(x * jit(len(x)), d, s=9, alpha=0.5, color=_color(i), lw=0)
        xs = sorted({r[name] for r in runs})
        med = [np.median(d[x == v]) if np.any(x == v) else np.nan for v in xs]
        ax.plot(xs, med, color="0.2", lw=1.4, marker="o", ms=3)
        xc = np.array([r[name] for r in runs if not r["grokked"]], float)
        ax.scatter(xc * jit(len(xc)), np.full(len(xc), top), marker="^", s=10, color="0.6")
        positive = [v for v in xs if v > 0]
        if positive and min(xs) > 0:
            ax.set_xscale("log")
        elif positive:  # a level 0 (no noise): linear near 0, log beyond the smallest level
            ax.set_xscale("symlog", linthresh=min(positive))
        ax.set_yscale("log")
        ax.set_title(titles[name], fontsize=9)
        ax.set_xlabel(name.replace("_", " "))
        ax.grid(True, which="major", alpha=0.3)
    for ax in grid_axes[:, 0]:
        ax.set_ylabel("delay (epochs); ▲ never grokked")
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


# -- li-sakib figures: a curve with the pre-grokking window marked; comprehension by ratio -------


def plot_window_curves(
    histories: Sequence[History],
    curve: str,
    t_train: Sequence[int | None],
    t_test: Sequence[int | None],
    path: str | Path,
    title: str = "",
    ylabel: str = "",
    log_y: bool = False,
) -> Path:
    """li-sakib Fig 2 / Fig 6: one curve per run (a `History` curve such as "test_loss", or
    "group/NAME" for a group norm) with its t_train (circle) and t_test (star), over a panel of
    the median train / validation accuracy. A None timing (censored) is not marked."""

    def values(h: History) -> np.ndarray:
        if curve.startswith("group/"):
            return np.asarray(h.group_norms[curve.split("/", 1)[1]], float)
        return np.asarray(getattr(h, curve), float)

    fig, (ax, ax2) = plt.subplots(
        2, 1, figsize=(6.4, 5.6), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    for i, h in enumerate(histories):
        x, idx = _positive_steps(h)
        y = values(h)[idx]
        ax.plot(x, y, color=_color(0), lw=0.9, alpha=0.7)
        for t, marker, color in ((t_train[i], "o", _color(1)), (t_test[i], "*", _color(2))):
            if t is not None:
                yt = np.interp(np.log(max(t, 1)), np.log(x), y)
                ax.scatter([max(t, 1)], [yt], marker=marker, s=40, color=color, zorder=3)
    if histories:
        grid = _common_grid(histories)
        _band_plot(ax2, grid, histories, "train_acc", _color(1), "--", "train")
        _band_plot(ax2, grid, histories, "test_acc", _color(2), "-", "validation")
    keys = [
        Line2D([], [], color=_color(0), lw=1.5, label=f"runs ({len(histories)})"),
        Line2D([], [], marker="o", ls="", color=_color(1), label="t_train"),
        Line2D([], [], marker="*", ls="", ms=9, color=_color(2), label="t_test"),
    ]
    _style(ax, title, ylabel or curve, xlabel="")
    if log_y:
        ax.set_yscale("log")
    ax.legend(handles=keys, fontsize=8, frameon=False)
    _style(ax2, "", "accuracy", acc=True)
    ax2.legend(fontsize=8, frameon=False, loc="upper left")
    return _save(fig, path)


def plot_band(
    table: Sequence[dict],
    path: str | Path,
    fit: Any = None,
    paper_band: tuple[float, float] | None = (20.0, 800.0),
    title: str = "",
) -> Path:
    """li-sakib Fig 4: share of confusion / comprehension / grokking runs against the train
    size / batch size ratio (log axis), from `verdicts.band.band_table` rows; the fitted peak
    of the comprehension share with its CI (`fit`, an Estimate) and the paper's band shaded."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    x = np.array([r["ratio"] for r in table], float)
    for i, cat in enumerate(("confusion", "comprehension", "grokking")):
        ax.plot(x, [r[cat] for r in table], marker="o", color=_color(i), lw=1.6, label=cat)
    for xi, r in zip(x, table, strict=True):
        ax.annotate(f"n={r['n']}", (xi, 1.03), ha="center", fontsize=7, color="0.4")
    if paper_band is not None:
        ax.axvspan(*paper_band, color="0.85", alpha=0.5, lw=0, label="paper's band (20–800)")
    if fit is not None and np.isfinite(fit.value):
        ax.axvline(fit.value, color=_color(1), ls="--", lw=1.2, label="fitted peak")
        if all(np.isfinite(fit.ci)):
            ax.axvspan(*fit.ci, color=_color(1), alpha=0.12, lw=0, label="its 95% CI")
    ax.set_xscale("log")
    ax.set_xlim(min(x.min(), paper_band[0] if paper_band else x.min()) / 1.5,
                max(x.max(), paper_band[1] if paper_band else x.max()) * 1.5)  # fmt: skip
    ax.set_ylim(-0.02, 1.1)
    ax.set_xlabel("train size / batch size")
    ax.set_ylabel("share of runs")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, frameon=False, loc="center left")
    return _save(fig, path)


def plot_rqi(rows: Sequence[dict], path: str | Path, threshold: float, title: str = "") -> Path:
    """omnigrok Fig 6e's question as runs answer it: per training size, each seed's
    representation quality (RQI) over training, with the generalized threshold. `rows` hold
    "size", "seed", "steps" and "rqi" (step 0 is left off the log axis)."""
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    sizes = sorted({r["size"] for r in rows})
    for i, size in enumerate(sizes):
        for seed in sorted({r["seed"] for r in rows if r["size"] == size}):
            mine = [r for r in rows if (r["size"], r["seed"]) == (size, seed) and r["steps"] > 0]
            xs, ys = zip(*sorted((r["steps"], r["rqi"]) for r in mine), strict=True)
            ax.plot(xs, ys, "-", color=_color(i), alpha=0.6, lw=1)
        ax.plot([], [], "-", color=_color(i), label=f"{size} pairs")
    ax.axhline(threshold, color="0.3", ls="--", lw=1, label=f"RQI = {threshold:g}")
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlabel("training steps")
    ax.set_ylabel("representation quality (RQI)")
    ax.legend(fontsize=7, frameon=True, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    return _save(fig, path)


def plot_loss_slices(slices: dict[str, Any], path: str | Path, title: str = "") -> Path:
    """li-sakib Fig 5: training-loss contours over a 2-D slice around each named optimum
    (`landscape.Slice`, one panel each, on one colour scale), the loss range in the title."""
    names = list(slices)
    width = min(4.4, (MAX_WIDTH_IN - 1.2) / max(len(names), 1))
    fig, axes = plt.subplots(
        1, len(names), figsize=(width * len(names) + 1.2, 4.2), squeeze=False,
        layout="constrained",
    )  # fmt: skip
    lo = min(float(np.min(s.loss)) for s in slices.values())
    hi = max(float(np.max(s.loss)) for s in slices.values())
    levels = np.linspace(lo, hi if hi > lo else lo + 1e-9, 21)
    for ax, name in zip(axes[0], names, strict=True):
        s = slices[name]
        cs = ax.contourf(s.a, s.b, s.loss.T, levels=levels, cmap="viridis")
        ax.contour(s.a, s.b, s.loss.T, levels=levels[::4], colors="w", linewidths=0.5)
        ax.plot(0, 0, "r*", ms=9)
        ax.set_title(f"{name}\nloss range {s.range:.3g}", fontsize=9)
        ax.set_xlabel("direction 1")
        ax.set_ylabel("direction 2")
    fig.colorbar(cs, ax=list(axes[0]), shrink=0.85, label="training loss")
    fig.suptitle(title, fontsize=10)  # constrained layout keeps it clear of the panels
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, format="png")
    plt.close(fig)
    return path


def plot_spikes(
    histories: Sequence[History],
    spikes: Sequence[Sequence[int]],
    path: str | Path,
    title: str = "",
    labels: Sequence[str] | None = None,
) -> Path:
    """arn Figs 4.3-4.4: one panel per run, its per-step training loss on a log axis (the
    maximum over ≤ 2,000 chunks, so spikes survive thinning) with its spikes marked, and test
    accuracy on a second axis."""
    n = max(len(histories), 1)
    rows, cols = panel_grid(n, 4.5, 3.4, max_cols=2)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.4 * rows), squeeze=False)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    for i, (ax, h) in enumerate(zip(flat, histories, strict=False)):
        loss = np.asarray(h.batch_loss, dtype=float)
        if loss.size:
            edges = np.unique(np.linspace(0, loss.size, min(loss.size, 2000) + 1).astype(int))
            peak = np.maximum.reduceat(np.nan_to_num(loss, nan=np.inf), edges[:-1])
            ax.plot(edges[:-1] + 1, np.maximum(peak, 1e-12), color=_color(0), lw=0.7)
        marks = [s for s in spikes[i] if 0 < s <= loss.size]
        if marks:
            ax.plot(marks, np.maximum(loss[np.asarray(marks) - 1], 1e-12), "rv", ms=5)
        ax.set_yscale("log")
        ylabel = "training loss (per step)" if i % cols == 0 else ""
        _style(ax, labels[i] if labels else f"run {i}", ylabel)
        acc = ax.twinx()
        x, idx = _positive_steps(h)
        acc.plot(x, np.asarray(h.test_acc, dtype=float)[idx], color=_color(1), lw=1.2)
        acc.set_ylim(-0.02, 1.02)
        if i % cols == cols - 1 or i == n - 1:
            acc.set_ylabel("test accuracy", color=_color(1))
    handles = [
        Line2D([], [], color=_color(0), lw=1, label="training loss"),
        Line2D([], [], color="r", marker="v", ls="", label="spike"),
        Line2D([], [], color=_color(1), lw=1, label="test accuracy"),
    ]
    axes[0][0].legend(handles=handles, fontsize=8, frameon=False, loc="lower left")
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)
