"""Render claim records to one self-contained HTML page, and store them as results.json.

The page inlines every figure as a base64 data URI so that it can be mailed or
archived as a single file. A figure that is missing on disk becomes a visible
note instead of an exception: a report with a hole is more useful than no report.
A partial session (interrupted, or claims without a verdict) says so in a banner.
The page opens with a forest plot of every claim's headline statistic against its
region (`grokcore.report.forest`); if it cannot be drawn, the page says why instead.

results.json is strict JSON (schema in docs/reliability.md): NaN and ±inf, which
JSON has no spelling for, are written as null and listed under "nonfinite" by
their path, and `load_results_json` puts them back.
"""

from __future__ import annotations

import base64
import json
import logging
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
from grokcore.report import forest

TEMPLATE = "template.html.j2"
SCHEMA_VERSION = 2  # 1: the unversioned files before it (display strings in the header)
log = logging.getLogger(__name__)
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


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 600 else f"{seconds / 60:.0f} min"


def _precision_text(used: object) -> str:
    """{"fp32": [...all...]} -> "fp32 (every claim)"; several -> "fp32: 12 claims; bf16: X"."""
    if not isinstance(used, dict) or not used:
        return "—"
    if len(used) == 1:
        return f"{next(iter(used))} (every claim that trained)"
    return "; ".join(
        f"{p}: {', '.join(ids) if len(ids) <= 3 else f'{len(ids)} claims'}"
        for p, ids in sorted(used.items(), key=lambda kv: -len(kv[1]))
    )


def _train_limit_text(minutes: float | None) -> str:
    if minutes is None:
        return "no limit"
    if minutes == 0:
        return "none: every verdict is judged from runs already in the run cache"
    return f"at most {minutes:g} min by grokcore.estimate; longer claims are NOT RUN"


def display_header(header: dict) -> list[tuple[str, str]]:
    """The header as (label, text) rows; keys without a known label are shown as they are."""
    h, rows = dict(header), []

    def take(key: str, label: str, show=fmt_value) -> None:
        if key in h:
            rows.append((label, show(h.pop(key))))

    take("date", "date", str)
    take("git_commit", "git commit", str)
    if "scale" in h and "scale_reason" in h:
        rows.append(("scale", f"{h.pop('scale')} ({h.pop('scale_reason')})"))
    take("device", "device", str)
    take("torch", "torch", str)
    take("seeds", "seeds", lambda n: "per-claim defaults" if n is None else str(n))
    take("base_seed", "first seed", str)
    take("train_limit_min", "training per claim (--train-limit)", _train_limit_text)
    take("wall_time_s", "wall time", _duration)
    if "runs_trained" in h and "runs_cached" in h:
        rows.append(
            ("runs trained / from cache", f"{h.pop('runs_trained')} / {h.pop('runs_cached')}")
        )
    if "claims_selected" in h and "claims_reported" in h:
        rows.append(
            (
                "claims with a verdict / selected",
                f"{h.pop('claims_reported')} / {h.pop('claims_selected')}",
            )
        )
    take("precision", "precision", _precision_text)
    take("interrupted", "interrupted", lambda b: "yes" if b else "no")
    take("stopped", "stopped because", lambda s: s or "—")
    take(
        "verdicts",
        "verdicts",
        lambda v: (
            ", ".join(f"{k}: {n}" for k, n in v.items() if n) if isinstance(v, dict) else str(v)
        ),
    )
    return rows + [(k, fmt_value(v)) for k, v in h.items()]


def banner(header: dict) -> str:
    """One sentence when the report is partial, else ""."""
    selected, reported = header.get("claims_selected"), header.get("claims_reported")
    gap = selected is not None and reported is not None and reported < selected
    if header.get("interrupted"):
        why = header.get("stopped") or "interrupted"
        text = f"Partial report: the session was {why}."
        if gap:
            text += (
                f" {reported} of {selected} selected claims reached a verdict; the rest are ERROR."
            )
        return text
    if gap:
        return (
            f"Partial report: {reported} of {selected} selected claims reached a verdict; "
            "the rest are ERROR (see their cards)."
        )
    return ""


def _forest(records: list[ClaimRecord]) -> dict[str, str] | None:
    """The summary figure as a data URI with its caption, or the reason it is missing."""
    if not records:
        return None
    try:
        png = forest.forest_png(records)
    except Exception as e:  # a report without its summary figure beats no report
        log.warning("forest plot failed: %s: %s", type(e).__name__, e)
        return {"src": "", "caption": forest.CAPTION, "error": f"{type(e).__name__}: {e}"}
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return {"src": src, "caption": forest.CAPTION, "error": ""}


def render_report(records: list[ClaimRecord], header: dict, path: str | Path) -> Path:
    """Write the HTML verdict report for `records` to `path` and return it."""
    path = Path(path)
    counts = Counter(Verdict(r.verdict) for r in records)
    html = (
        _environment()
        .get_template(TEMPLATE)
        .render(
            header=display_header(header),
            banner=banner(header),
            forest=_forest(records),
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


def _shared_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _atomic_write(path: Path, text: str) -> None:
    """Write via a temp file in the same directory so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _shared_mode())  # mkstemp's 0600 would hide the report from a web server
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _strict(obj: Any, path: str, found: dict[str, str]) -> Any:
    """`obj` with every non-finite float replaced by None, its path noted in `found`."""
    if isinstance(obj, dict):
        return {k: _strict(v, f"{path}/{_escape(str(k))}", found) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_strict(v, f"{path}/{i}", found) for i, v in enumerate(obj)]
    if isinstance(obj, float) and not math.isfinite(obj):
        found[path] = "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
        return None
    return obj


def _escape(key: str) -> str:  # JSON Pointer (RFC 6901)
    return key.replace("~", "~0").replace("/", "~1")


def _restore(payload: dict, nonfinite: dict[str, str]) -> None:
    for pointer, spelling in nonfinite.items():
        *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
        node: Any = payload
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if isinstance(node, list):
            node[int(last)] = float(spelling)
        else:
            node[last] = float(spelling)


def write_results_json(records: list[ClaimRecord], header: dict, path: str | Path) -> Path:
    """Store `{"schema_version", "header", "claims", "nonfinite"}` atomically at `path`.

    Strict JSON: NaN and ±inf become null, and "nonfinite" maps each one's JSON Pointer
    to "NaN", "Infinity" or "-Infinity".
    """
    path = Path(path)
    raw = {"header": header, "claims": [r.to_dict() for r in records]}
    plain = json.loads(json.dumps(raw, default=_json_default))  # numpy -> Python, tuples -> lists
    found: dict[str, str] = {}
    payload = {"schema_version": SCHEMA_VERSION, **_strict(plain, "", found), "nonfinite": found}
    text = json.dumps(payload, indent=1, ensure_ascii=False, allow_nan=False)
    _atomic_write(path, text + "\n")
    return path


def load_results_json(path: str | Path) -> tuple[list[ClaimRecord], dict]:
    """Inverse of `write_results_json`: the records and the header, non-finite values restored."""
    payload = json.loads(Path(path).read_text(encoding="utf-8"))
    _restore(payload, payload.get("nonfinite", {}))
    return [ClaimRecord.from_dict(c) for c in payload["claims"]], payload["header"]
