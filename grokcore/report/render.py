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
import csv
import io
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

from grokcore.record import (
    VERDICT_RULE,
    Check,
    ClaimRecord,
    Verdict,
    is_positive,
    ruling,
    verdict_expected,
)
from grokcore.report import forest, papers

TEMPLATE = "template.html.j2"
SCHEMA_VERSION = 2  # 1: the unversioned files before it (display strings in the header)
log = logging.getLogger(__name__)
MINUS = "\u2212"  # typographic minus, so that "−0.97" reads as a number, not a dash


def fmt(x: Any) -> str:
    """A number in 3 significant digits, scientific when very large or small; "—" for None/NaN."""
    if x is None:
        return "—"
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
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
    """A table cell: numbers via `fmt`, lists as "a, b, c", mappings as "k: v; …", yes/no."""
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if isinstance(x, dict):
        return "; ".join(f"{k}: {fmt_value(v)}" for k, v in x.items()) or "—"
    if isinstance(x, list | tuple):
        return ", ".join(fmt_value(v) for v in x) or "—"
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
        expected=is_expected,
        checkvalue=check_value,
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


def is_expected(r: ClaimRecord) -> bool:
    """The verdict is the one the claim's spec records as known at this scale."""
    return verdict_expected(r)


def not_interpretable(r: ClaimRecord) -> bool:
    """The record's checks say nothing about the claim under the one verdict rule (a positive
    control failed, or a failed control leaves their SUPPORTED without meaning)."""
    return not ruling(r.verdict, r.checks, r.control).interpretable


def positive_failed(r: ClaimRecord) -> bool:
    """A positive control did not hold."""
    return any(is_positive(c) and c.verdict is not Verdict.SUPPORTED for c in r.control)


def failed_controls(r: ClaimRecord) -> list[str]:
    """The names of the controls (not positive ones) that did not hold."""
    return [c.name for c in r.control if not is_positive(c) and c.verdict is not Verdict.SUPPORTED]


def paper_value(r: ClaimRecord) -> str:
    """The paper's number for the claim's headline: its first check's, else the spec's (a
    NOT RUN record has no checks but keeps the paper's value); "" where the paper gives none."""
    if r.checks and r.checks[0].paper_value:
        return r.checks[0].paper_value
    return r.paper_value


def censored_count(r: ClaimRecord) -> tuple[int, int] | None:
    """(censored, runs) from the per-run table: runs that never generalized (`test_censored`)
    or never grokked (`grokked` false); None where the table says neither."""
    flags = []
    for run in r.runs:
        if "test_censored" in run:
            flags.append(bool(run["test_censored"]))
        elif "grokked" in run:
            flags.append(not run["grokked"])
    return (sum(flags), len(flags)) if flags else None


def check_value(c: Check, r: ClaimRecord | None = None) -> str:
    """A check's value with its CI ("0.54 [0.50, 0.58]"), or "not measured (k of n runs
    censored)" where the statistic is NaN: a number the data could not give is no number."""
    v = c.value
    if v is None or (isinstance(v, float) and math.isnan(v)):
        counts = censored_count(r) if r is not None else None
        return "not measured" + (f" ({counts[0]} of {counts[1]} runs censored)" if counts else "")
    return fmt(v) + (f" {fmt_ci(c.ci)}" if c.ci is not None else "")


def stand_in(r: ClaimRecord) -> bool:
    """The record's model is not the paper's (the quick tier's CPU stand-in)."""
    return r.scale == "quick" and any(row.name == "model" and row.deviates for row in r.table)


def n_seeds(r: ClaimRecord) -> int | None:
    """How many seeds the runs used (distinct `seed` values), or None if the runs lack it."""
    seeds = {run["seed"] for run in r.runs if "seed" in run}
    return len(seeds) or None


def strength(r: ClaimRecord) -> str:
    """How firm the verdict is, in words: the seeds, and our effect beside the paper's."""
    parts = []
    if (n := n_seeds(r)) is not None:
        parts.append(f"{n} seed{'s' if n != 1 else ''}" + (" (few)" if n <= 3 else ""))
    if r.checks:
        c = r.checks[0]
        parts.append(f"ours {check_value(c, r)} vs paper {c.paper_value or '—'}")
    if r.stability:
        parts.append(stability_text(r.stability))
    return " · ".join(parts)


def stability_text(st: dict) -> str:
    """'same verdict at 3 of 3 seed sets', with 'fragile' and why where it flips."""
    text = f"same verdict at {st.get('same', '?')} of {st.get('of', '?')} seed sets"
    if st.get("fragile"):
        text += " — fragile" + (f": {st['why']}" if st.get("why") else "")
    return text


def command(r: ClaimRecord, header: dict) -> str:
    """The command line that reproduces this card (from the repository's root)."""
    args = [f"--scale {r.scale}", f"-k '{r.claim_id}'", "-p no:cacheprovider"]
    if header.get("seeds"):
        args.append(f"--seeds {header['seeds']}")
    if header.get("base_seed"):
        args.append(f"--base-seed {header['base_seed']}")
    return "python3 -m pytest claims/ " + " ".join(args)


def _card(record: ClaimRecord, out_dir: Path, header: dict | None = None) -> dict[str, Any]:
    """What the template needs for one claim, beyond the record itself."""
    columns: list[str] = []
    for run in record.runs:
        columns += [k for k in run if k not in columns]
    return {
        "r": record,
        "expected": is_expected(record),
        "uninterpretable": not_interpretable(record),
        "positive_failed": positive_failed(record),
        "failed_controls": failed_controls(record),
        "stand_in": stand_in(record),
        "strength": strength(record),
        "paper_value": paper_value(record),
        "command": command(record, header or {}),
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
        reported, selected = h.pop("claims_reported"), h.pop("claims_selected")
        if "claims_judged" in h:
            rows.append(("claims judged / selected", f"{h.pop('claims_judged')} / {selected}"))
        rows.append(("claims with a record / selected", f"{reported} / {selected}"))
    if "plan_training_s" in h:
        secs = h.pop("plan_training_s")
        runs = h.pop("runs_trained_by_plan", None)
        rows.append(("training in this session", f"{fmt(runs)} runs in {_duration(secs or 0)}"))
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


def judged(records: list[ClaimRecord]) -> int:
    """Claims with a verdict on the claim (not NOT RUN, not ERROR)."""
    done = (Verdict.SUPPORTED, Verdict.REFUTED, Verdict.INCONCLUSIVE)
    return sum(Verdict(r.verdict) in done for r in records)


def training_text(header: dict) -> str:
    """The training this session did, e.g. "12 runs trained (3 min), 40 read from the cache"."""
    trained, cached = header.get("runs_trained"), header.get("runs_cached")
    if trained is None:
        return ""
    secs = header.get("plan_training_s")
    took = f" ({_duration(secs)} in the plan)" if secs else ""
    return f"{trained} runs trained{took}, {cached or 0} read from the run cache"


def partial_banner(records: list[ClaimRecord], header: dict) -> str:
    """The partial banner: judged / selected, what is missing, the training it took; or ""."""
    selected = header.get("claims_selected") or len(records)
    n, missing = judged(records), Counter(Verdict(r.verdict) for r in records)
    # the old one-line banner leads where the session was cut short; a mere gap is said below
    text = banner(header) if header.get("interrupted") else ""
    if n >= selected and not text:
        return ""
    gaps = [f"{missing[v]} {v.value}" for v in (Verdict.NOT_RUN, Verdict.ERROR) if missing[v]]
    line = f"Partial report: {n} / {selected} selected claims judged"
    line += f" ({', '.join(gaps)})" if gaps else ""
    if training := training_text(header):
        line += f"; {training}"
    if missing[Verdict.NOT_RUN]:
        line += ". Each NOT RUN card gives the command that finishes it"
    line += "."
    if text:  # the session was cut short: that first, then the counts
        return f"{text} {line.removeprefix('Partial report: ')}"
    return line


def latest_example(out_dir: Path, root: Path | None = None) -> tuple[str, str] | None:
    """(name, href) of the newest published paper-tier report under reports/examples/."""
    root = root or Path(__file__).resolve().parents[2]
    found = sorted(
        (d for d in (root / "reports" / "examples").glob("*") if (d / "index.html").is_file()),
        key=lambda d: d.name,
    )
    paper = [d for d in found if "cpu" not in d.name] or found
    if not paper:
        return None
    target = paper[-1] / "index.html"
    try:
        href = os.path.relpath(target, out_dir.resolve())
    except ValueError:  # another drive (Windows)
        href = target.as_uri()
    return f"reports/examples/{paper[-1].name}", href


def tier_banner(header: dict, out_dir: Path) -> dict[str, str] | None:
    """The quick tier's banner: what this tier is, and where the paper-scale verdicts are."""
    if header.get("scale") != "quick":
        return None
    text = (
        "Quick tier: CPU stand-ins of each claim's setting (smaller models, tasks and "
        "budgets, each change in the card's settings table). It is a regression check of "
        "the suite, not a replication: paper-scale verdicts are in the paper tier."
    )
    ex = latest_example(out_dir)
    return {"text": text, "name": ex[0] if ex else "", "href": ex[1] if ex else ""}


def banner(header: dict) -> str:
    """One sentence when the session was cut short or claims lack a verdict, else ""."""
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


SUMMARY_CSV = "summary.csv"
SUMMARY_COLUMNS = (
    "claim", "paper", "section", "title", "verdict", "expected", "stand_in", "statistic",
    "value", "ci_lo", "ci_hi", "paper_value", "seeds", "stability", "reason",
)  # fmt: skip


def summary_rows(records: list[ClaimRecord]) -> list[dict[str, Any]]:
    """The summary table as plain values, one dict a claim (the CSV beside the report)."""
    rows = []
    for r in records:
        c = r.checks[0] if r.checks else None
        rows.append(
            {
                "claim": r.claim_id,
                "paper": r.paper,
                "section": r.section,
                "title": r.title,
                "verdict": Verdict(r.verdict).value,
                "expected": "yes" if is_expected(r) else "no",
                "stand_in": "yes" if stand_in(r) else "no",
                "statistic": c.name if c else "",
                "value": "" if c is None else c.value,
                "ci_lo": "" if c is None or c.ci is None else c.ci[0],
                "ci_hi": "" if c is None or c.ci is None else c.ci[1],
                "paper_value": paper_value(r),
                "seeds": n_seeds(r) or "",
                "stability": stability_text(r.stability) if r.stability else "",
                "reason": r.reason,
            }
        )
    return rows


def write_summary_csv(records: list[ClaimRecord], path: str | Path) -> Path:
    """The summary table as CSV at `path` (written atomically)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(summary_rows(records))
    _atomic_write(Path(path), buf.getvalue())
    return Path(path)


def _papers(records: list[ClaimRecord]) -> list[dict[str, Any]]:
    """Each paper of the report once, in full, with its claims' verdict counts."""
    out = []
    for short in dict.fromkeys(r.paper for r in records):
        mine = [r for r in records if r.paper == short]
        counts = Counter(Verdict(r.verdict).value for r in mine)
        out.append(
            {
                "p": papers.paper(short),
                "n": len(mine),
                "counts": ", ".join(
                    f"{v.value}: {counts[v.value]}" for v in Verdict if counts[v.value]
                ),
                "ids": [r.claim_id for r in mine],
            }
        )
    return out


def render_report(records: list[ClaimRecord], header: dict, path: str | Path) -> Path:
    """Write the HTML verdict report for `records` to `path` (and summary.csv beside it)."""
    path = Path(path)
    header = {**header, "claims_judged": judged(records)}
    load_stability(records, path.parent)
    counts = Counter(Verdict(r.verdict) for r in records)
    expected = Counter(Verdict(r.verdict) for r in records if is_expected(r))
    write_summary_csv(records, path.with_name(SUMMARY_CSV))
    html = (
        _environment()
        .get_template(TEMPLATE)
        .render(
            header=display_header(header),
            banner=partial_banner(records, header),
            tier=tier_banner(header, path.parent),
            rule=VERDICT_RULE,
            forest=_forest(records),
            records=records,
            cards=[_card(r, path.parent, header) for r in records],
            counts=[(v, counts.get(v, 0), expected.get(v, 0)) for v in Verdict],
            papers=_papers(records),
            summary_csv=SUMMARY_CSV,
            results_json="results.json",
        )
    )
    _atomic_write(path, html)
    return path


STABILITY_FILE = "stability.json"


def load_stability(records: list[ClaimRecord], out_dir: Path) -> None:
    """Fill each record's `stability` from stability.json beside the report, if there is one.

    The file (written by `python3 -m grokcore.report.stability`, from the results.json of
    quick-tier sessions at several --base-seed values) maps claim id -> {"verdicts": {base
    seed: verdict}, "same": k, "of": n, "fragile": bool, "why": text}. A record that already
    carries a stability keeps it; an unreadable file is a warning, not a failure."""
    f = out_dir / STABILITY_FILE
    if not f.is_file():
        return
    try:
        table = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        log.warning("%s not read: %s", f, e)
        return
    for r in records:
        if r.stability is None and isinstance(table.get(r.claim_id), dict):
            r.stability = table[r.claim_id]


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
