"""The report's summary figure: every claim's headline statistic against its region.

A forest plot of small multiples: one row per claim, each with its own x-scale,
because the statistics have different units (a slope, a ratio of steps, a share).
A row shows the claim's first check: the point estimate coloured by the claim's
verdict, its CI as a bar, and the region it is judged against shaded (a line for
"contains x", nothing for "excludes x", whose region is no interval). Claims that
were NOT RUN, crashed, or have no statistic are listed without a point.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from grokcore.record import Check, ClaimRecord, Verdict, verdict_expected

__all__ = ["CAPTION", "forest_plot", "forest_png"]

DPI = 110
ROW_INCHES = 0.72
REGION_COLOR = "#1a7f37"
# The report's badge colours, so that a point reads like the verdict beside it
VERDICT_COLORS = {
    Verdict.SUPPORTED: "#1a7f37",
    Verdict.REFUTED: "#cf222e",
    Verdict.INCONCLUSIVE: "#d4a72c",
    Verdict.NOT_RUN: "#8c959f",
    Verdict.ERROR: "#6e1f5c",
}
CAPTION = (
    "Each claim's headline statistic (dot, coloured by the claim's verdict) with its "
    "confidence interval (bar) against the region the claim predicts (shaded; a line where "
    "the claim is a single value). Every row has its own x-scale, since the statistics have "
    "different units; a zero-width CI shows as a tick. Rows are grouped by paper, with "
    "LS-MNIST's table of MNIST variations in a panel of its own. An expected verdict says "
    "'(expected)'; an INCONCLUSIVE row whose dot lies inside its region says why. Claims "
    "that were not run or crashed are listed without a point."
)


def _finite(*xs: float | None) -> list[float]:
    return [float(x) for x in xs if x is not None and math.isfinite(x)]


def _limits(c: Check) -> tuple[float, float]:
    """An x-range that shows the point, the CI and the region's finite ends, padded."""
    xs = _finite(c.value, *(c.ci or ()), *(c.bounds or ()))
    if not xs:
        return -1.0, 1.0
    lo, hi = min(xs), max(xs)
    pad = 0.12 * (hi - lo) if hi > lo else 0.5 * max(abs(lo), 1.0)
    return lo - pad, hi + pad


def _draw_check(ax: Axes, c: Check, verdict: Verdict) -> None:
    x0, x1 = _limits(c)
    if c.bounds is not None:
        lo, hi = c.bounds
        if lo == hi and math.isfinite(lo):
            ax.axvline(lo, color=REGION_COLOR, lw=2, alpha=0.6)
        elif max(lo, x0) < min(hi, x1):  # a one-sided region runs off the edge of the axis
            ax.axvspan(max(lo, x0), min(hi, x1), color=REGION_COLOR, alpha=0.15, lw=0)
    color = VERDICT_COLORS.get(verdict, "0.3")
    if c.ci is not None and all(map(math.isfinite, c.ci)):
        ax.hlines(0, min(c.ci), max(c.ci), color=color, lw=2.5)
        if max(c.ci) - min(c.ci) <= 0.01 * (x1 - x0):  # a zero-width CI: ticks at its ends
            ax.plot(list(c.ci), [0, 0], "|", color=color, ms=14, mew=2, zorder=2)
    if math.isfinite(c.value):
        ax.plot([c.value], [0], "o", color=color, ms=7, mec="white", mew=0.8, zorder=3)
    else:
        ax.text(
            0.5,
            0.5,
            "no estimate (NaN)",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=8,
            style="italic",
            color="0.3",
        )
    ax.set_xlim(x0, x1)
    ax.set_ylim(-1, 1)
    ax.tick_params(axis="x", labelsize=7.5, length=2, pad=1)
    ax.locator_params(axis="x", nbins=6)


def verdict_text(r: ClaimRecord) -> str:
    """The verdict as the row says it: "REFUTED (expected)" where the spec expects it."""
    v = Verdict(r.verdict).value
    return f"{v} (expected)" if verdict_expected(r) else v


def _row_label(r: ClaimRecord) -> str:
    name = r.checks[0].name if r.checks else ""
    return f"{r.claim_id}\n{_wrap(name, LABEL_CHARS, 2)}" if name else r.claim_id


def _note(r: ClaimRecord) -> str:
    """The text shown instead of a point."""
    verdict = Verdict(r.verdict)
    if verdict in (Verdict.NOT_RUN, Verdict.ERROR):
        why = r.reason.splitlines()[0] if r.reason else ""
        if len(why) > 90:
            why = why[:89] + "…"
        return f"{verdict.value}" + (f": {why}" if why else "")
    return f"{verdict.value}: no statistic recorded"


LS_MNIST = "LS-MNIST["  # li-sakib's MNIST-variations table: many rows, their own panel
LABEL_CHARS = 38  # the left label's lines are wrapped at this many characters
SIDE_CHARS = 40  # the right-hand verdict text's lines


def groups(records: Sequence[ClaimRecord]) -> list[tuple[str, list[ClaimRecord]]]:
    """The rows grouped by paper, in the order the papers first appear; LS-MNIST's rows
    (one per variation of li-sakib's MNIST table) form a panel of their own after them."""
    out: dict[str, list[ClaimRecord]] = {}
    for r in records:
        key = (
            f"{r.paper}: MNIST variations (LS-MNIST)"
            if r.claim_id.startswith(LS_MNIST)
            else r.paper
        )
        out.setdefault(key, []).append(r)
    keys = sorted(out, key=lambda k: "MNIST variations" in k)  # stable: LS-MNIST last
    return [(k, out[k]) for k in keys]


def _wrap(text: str, width: int, lines: int) -> str:
    wrapped = textwrap.wrap(text, width) or [""]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = wrapped[-1][: width - 1].rstrip() + "…"
    return "\n".join(wrapped)


def _inside(c: Check) -> bool:
    """The point estimate lies inside the claim's region."""
    if c.bounds is None or not math.isfinite(c.value):
        return False
    return c.bounds[0] <= c.value <= c.bounds[1]


def side_text(r: ClaimRecord) -> str:
    """The right-hand text of a row: the verdict, its region, and why an INCONCLUSIVE row
    whose dot sits inside its region is not SUPPORTED."""
    c = r.checks[0]
    lines = [verdict_text(r), _wrap(c.region, SIDE_CHARS, 2)]
    if Verdict(r.verdict) is Verdict.INCONCLUSIVE and _inside(c):
        why = c.detail or (r.reason.splitlines()[0] if r.reason else "")
        if why:
            lines.append(_wrap(f"why: {why}", SIDE_CHARS, 1))
    elif c.bounds is None:
        lines.append("(region is no interval: not shaded)")
    return "\n".join(lines)


def _draw(records: Sequence[ClaimRecord]) -> plt.Figure:
    grouped = groups(records)
    n_rows = len(records) + len(grouped)  # a heading row per group
    fig = plt.figure(figsize=(11, 0.5 + ROW_INCHES * n_rows))
    try:
        _fill(fig, grouped, n_rows)
    except BaseException:
        plt.close(fig)
        raise
    return fig


def _fill(fig: plt.Figure, grouped: list[tuple[str, list[ClaimRecord]]], n_rows: int) -> None:
    grid = fig.add_gridspec(n_rows, 1, hspace=1.1)
    i = 0
    for title, rows in grouped:
        head = fig.add_subplot(grid[i, 0])
        head.axis("off")
        head.text(-0.42, 0.1, title, transform=head.transAxes, ha="left", va="center",
                  fontsize=10, fontweight="bold")  # fmt: skip
        i += 1
        for r in rows:
            _fill_row(fig.add_subplot(grid[i, 0]), r)
            i += 1
    fig.subplots_adjust(
        left=0.34,
        right=0.68,
        top=1 - 0.25 / fig.get_figheight(),
        bottom=0.3 / fig.get_figheight(),
    )


def _fill_row(ax: Axes, r: ClaimRecord) -> None:
    verdict = Verdict(r.verdict)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.text(
        -0.02, 0.5, _row_label(r), transform=ax.transAxes, ha="right", va="center", fontsize=8.5
    )
    if r.checks and verdict not in (Verdict.NOT_RUN, Verdict.ERROR):
        c = r.checks[0]
        _draw_check(ax, c, verdict)
        ax.text(1.02, 0.5, side_text(r), transform=ax.transAxes, ha="left", va="center",
                fontsize=7.5, color=VERDICT_COLORS[verdict])  # fmt: skip
    else:
        ax.set_xticks([])
        ax.spines["bottom"].set_visible(False)
        ax.text(0.0, 0.5, _note(r), transform=ax.transAxes, ha="left", va="center",
                fontsize=8.5, color=VERDICT_COLORS.get(verdict, "0.3"), style="italic")  # fmt: skip


def forest_png(records: Sequence[ClaimRecord]) -> bytes:
    """The forest plot of `records` as PNG bytes (one row per record, in order)."""
    if not records:
        raise ValueError("a forest plot needs at least one claim")
    fig = _draw(records)
    try:
        buf = io.BytesIO()
        # "tight": no label is clipped at the figure's edge, however long
        fig.savefig(buf, dpi=DPI, format="png", bbox_inches="tight", pad_inches=0.15)
    finally:
        plt.close(fig)
    return buf.getvalue()


def forest_plot(records: Sequence[ClaimRecord], path: str | Path) -> Path:
    """Write the forest plot of `records` to `path` (PNG) and return it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(forest_png(records))
    return path
