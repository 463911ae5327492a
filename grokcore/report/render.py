"""Render claim records to one self-contained HTML page, and store them as results.json.

The page inlines every figure as a base64 data URI so that it can be mailed or
archived as a single file. A figure that is missing on disk becomes a visible
note instead of an exception: a report with a hole is more useful than no report.
"""

from __future__ import annotations

import base64
import json
import math
import os
import tempfile
from collections import Counter
from collections.abc import Iterable
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from grokcore.record import ClaimRecord, Verdict

TEMPLATE = "template.html.j2"
MINUS = "\u2212"  # typographic minus, so that "−0.97" reads as a number, not a dash


def fmt(x: Any) -> str:
    """A number in 3 significant digits, scientific when very large or small; "—" for None/NaN."""
    if x is None:
        return "—"
    if isinstance(x, bool | np.bool_):
        return str(bool(x))
    if isinstance(x, Integral):
        return str(int(x)).replace("-", MINUS)
    if not isinstance(x, Real):
        return str(x)
    x = float(x)
    if math.isnan(x):
        return "—"
    if math.isinf(x):
        return "∞" if x > 0 else f"{MINUS}∞"
    a = abs(x)
    if a == 0:
        s = "0"
    elif a >= 1e5 or a < 1e-3:
        mant, exp = f"{x:.2e}".split("e")
        s = f"{mant}e{int(exp)}"
    elif a >= 100:
        # round to 3 significant digits but keep it a plain integer: 1234 -> 1230
        s = f"{round(x, 2 - math.floor(math.log10(a))):.0f}"
    else:
        s = f"{x:.3g}"
    return s.replace("-", MINUS)


def fmt_ci(ci: Iterable[float] | None) -> str:
    """A confidence interval as "[lo, hi]", or "—"."""
    if ci is None:
        return "—"
    lo, hi = ci
    return f"[{fmt(lo)}, {fmt(hi)}]"


def fmt_value(x: Any) -> str:
    """A table cell: numbers via `fmt`, containers as compact JSON, the rest as text."""
    if isinstance(x, dict | list | tuple):
        return json.dumps(x, separators=(", ", ": "), default=_json_default, ensure_ascii=False)
    return fmt(x)


def verdict_text(v: Verdict | str) -> str:
    return Verdict(v).value


def verdict_class(v: Verdict | str) -> str:
    return "v-" + Verdict(v).name.lower().replace("_", "-")


def _environment() -> jinja2.Environment:
    # FileSystemLoader on this directory works whether or not grokcore is installed
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent),
        autoescape=jinja2.select_autoescape(("html", "html.j2")),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(
        fmt=fmt,
        ci=fmt_ci,
        cell=fmt_value,
        vtext=verdict_text,
        vclass=verdict_class,
    )
    return env


def _figure_src(path: str, out_dir: Path) -> str | None:
    """The figure as a data URI, or None if it cannot be read."""
    candidates = [Path(path)]
    if not Path(path).is_absolute():
        candidates.append(out_dir / path)  # figures stored next to the report
    for p in candidates:
        try:
            data = p.read_bytes()
        except OSError:
            continue
        return "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return None


def _card(record: ClaimRecord, out_dir: Path) -> dict[str, Any]:
    """What the template needs for one claim, beyond the record itself."""
    columns: list[str] = []
    for run in record.runs:
        columns += [k for k in run if k not in columns]
    return {
        "r": record,
        "figures": [
            {"caption": f.caption, "path": f.path, "src": _figure_src(f.path, out_dir)}
            for f in record.figures
        ],
        "run_columns": columns,
    }


def render_report(records: list[ClaimRecord], header: dict, path: str | Path) -> Path:
    """Write the HTML verdict report for `records` to `path` and return it."""
    path = Path(path)
    counts = Counter(Verdict(r.verdict) for r in records)
    html = (
        _environment()
        .get_template(TEMPLATE)
        .render(
            header=header,
            records=records,
            cards=[_card(r, path.parent) for r in records],
            counts=[(v, counts.get(v, 0)) for v in Verdict],
        )
    )
    _atomic_write(path, html)
    return path


def _json_default(o: Any) -> Any:
    # numpy scalars and arrays leak into settings and run tables from metric code
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def _atomic_write(path: Path, text: str) -> None:
    """Write via a temp file in the same directory so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_results_json(records: list[ClaimRecord], header: dict, path: str | Path) -> Path:
    """Store `{"header": ..., "claims": [record.to_dict(), ...]}` atomically at `path`."""
    path = Path(path)
    payload = {"header": header, "claims": [r.to_dict() for r in records]}
    text = json.dumps(payload, indent=1, default=_json_default, ensure_ascii=False)
    _atomic_write(path, text + "\n")
    return path


def load_results_json(path: str | Path) -> tuple[list[ClaimRecord], dict]:
    """Inverse of `write_results_json`: the records and the header."""
    payload = json.loads(Path(path).read_text(encoding="utf-8"))
    return [ClaimRecord.from_dict(c) for c in payload["claims"]], payload["header"]
