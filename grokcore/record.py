"""Claim records: what a claim test hands to the report.

A `ClaimRecord` is plain data (JSON round-trips through `to_dict`/`from_dict`)
so that it can travel from a pytest-xdist worker to the controller and into
`reports/results.json`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any


class Verdict(str, Enum):
    """Outcome of a claim (or of one check inside a claim)."""

    SUPPORTED = "SUPPORTED"  # the statistic's CI lies inside the claim's region
    REFUTED = "REFUTED"  # it lies outside
    INCONCLUSIVE = "INCONCLUSIVE"  # it straddles, or too many runs were censored
    NOT_RUN = "NOT RUN"  # skipped: scale, data or hardware
    ERROR = "ERROR"  # the claim test crashed; the traceback is in the record


@dataclass(frozen=True)
class Check:
    """One statistic tested against one region.

    name: what was measured, e.g. "slope of log t_test on log γ".
    value: the point estimate; ci: its confidence interval (None for exact counts
        that are judged directly); level: the CI's coverage.
    region: the claim's region in words, e.g. "CI contains −1".
    verdict: SUPPORTED / REFUTED / INCONCLUSIVE for this check alone.
    detail: one sentence of why (n, censored runs, p-value...).
    paper_value: the paper's own number, where it gives one.
    bounds: the region as numbers (lo, hi), ±inf for a one-sided region and (x, x) for
        "contains x"; None where the region is no interval ("excludes x") or was not given.
        The report's forest plot shades it.
    """

    name: str
    value: float
    ci: tuple[float, float] | None
    region: str
    verdict: Verdict
    level: float = 0.95
    detail: str = ""
    paper_value: str | None = None
    bounds: tuple[float, float] | None = None


@dataclass(frozen=True)
class Setting:
    """One row of a claim's settings table: the value we ran, the paper's, and why they differ.

    name: a dotted config path ("optim.lr", "task.p", "steps") or a plain label
        ("data source"); arm: which arm of the claim it describes ("" for all).
    ours / paper: values as text; paper == ours where we follow the paper.
    why: the reason for a difference, with its reference (empty when they agree).
    """

    name: str
    ours: str
    paper: str
    why: str = ""
    arm: str = ""

    @property
    def deviates(self) -> bool:
        return self.paper != self.ours


@dataclass(frozen=True)
class Figure:
    """A figure file written by the claim (PNG), with its caption."""

    path: str
    caption: str


@dataclass
class ClaimRecord:
    """Everything the report shows about one claim."""

    claim_id: str
    title: str  # the claim in one line
    paper: str  # short name from papers/README.md
    section: str  # e.g. "§3, Fig 2c"
    scale: str  # "quick" or "full"
    verdict: Verdict
    reason: str = ""  # why this verdict, in one or two sentences
    statement: str = ""  # the claim in words, as long as it needs
    checks: list[Check] = field(default_factory=list)
    control: list[Check] = field(default_factory=list)
    control_summary: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    deviations: list[str] = field(default_factory=list)  # how this scale differs from the paper
    table: list[Setting] = field(default_factory=list)  # setting | ours | paper | why
    figures: list[Figure] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)  # per-run numbers (a table)
    expectation: str = ""  # e.g. "xfail: known not to replicate because ..."
    traceback: str = ""
    duration_s: float = 0.0
    runs_trained: int = 0
    runs_cached: int = 0
    nodeid: str = ""
    # how the verdict holds across seed sets (quick tier at several --base-seed values):
    # {"verdicts": {base seed: verdict}, "same": k, "of": n, "fragile": bool, "why": text};
    # None until `grokcore.report.stability` fills it from those sessions' results.json
    stability: dict[str, Any] | None = None
    # the paper's number for the headline statistic (the spec's `paper_value`): the summary
    # shows it where the record has no checks of its own (NOT RUN, ERROR)
    paper_value: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict.value
        for group in ("checks", "control"):
            for c in d[group]:
                c["verdict"] = Verdict(c["verdict"]).value
                c["ci"] = list(c["ci"]) if c["ci"] is not None else None
                c["bounds"] = list(c["bounds"]) if c["bounds"] is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClaimRecord:
        d = dict(d)
        d["verdict"] = Verdict(d["verdict"])
        for group in ("checks", "control"):
            d[group] = [
                Check(
                    **{
                        **c,
                        "verdict": Verdict(c["verdict"]),
                        "ci": tuple(c["ci"]) if c["ci"] else None,
                        "bounds": _pair(c.get("bounds")),
                    }
                )
                for c in d.get(group, [])
            ]
        d["figures"] = [Figure(**f) for f in d.get("figures", [])]
        d["table"] = [Setting(**t) for t in d.get("table", [])]
        return cls(**d)


def verdict_expected(r: ClaimRecord) -> bool:
    """The verdict is the one the claim's spec records as known at this scale
    ("REFUTED expected at quick (strict): …", or an xfail that came out REFUTED)."""
    e = r.expectation
    return bool(e) and (
        e.startswith(f"{Verdict(r.verdict).value} expected")
        or (e.startswith("xfail") and Verdict(r.verdict) is Verdict.REFUTED)
    )


def _pair(x: Any) -> tuple[float, float] | None:
    """A JSON [lo, hi] back to a tuple; results.json's null for ±inf is restored before this."""
    return None if x is None else (float(x[0]), float(x[1]))


def combine(verdicts: list[Verdict]) -> Verdict:
    """A claim holds if every check holds: any REFUTED refutes, any other doubt is INCONCLUSIVE."""
    if not verdicts:
        return Verdict.INCONCLUSIVE
    if Verdict.ERROR in verdicts:
        return Verdict.ERROR
    if Verdict.REFUTED in verdicts:
        return Verdict.REFUTED
    if all(v is Verdict.SUPPORTED for v in verdicts):
        return Verdict.SUPPORTED
    return Verdict.INCONCLUSIVE


# -- the one verdict rule: checks, then the controls --------------------------------------------

POSITIVE = "positive control"  # the words every positive control's check name holds
REPORTED_ONLY = "reported, not judged"  # a check shown beside the others, never combined

# The rule as the report's legend states it (grokcore.report.render); `ruling` applies it.
VERDICT_RULE = (
    "One rule decides every verdict. Each check compares a statistic's confidence interval "
    "with the claim's region: inside is SUPPORTED, outside REFUTED, straddling (or too many "
    "censored runs) INCONCLUSIVE. The checks together are SUPPORTED when all are, REFUTED "
    "when any is, else INCONCLUSIVE. Then the controls, each judged the same way: a positive "
    "control (an arm that must show the phenomenon) guards every verdict, so if one fails "
    "the claim is INCONCLUSIVE. A control where the effect must not appear guards a "
    "SUPPORTED: if it fails, the statistic would pass without the effect, so a SUPPORTED "
    "becomes INCONCLUSIVE; a REFUTED stands (a failed control cannot produce it) and the "
    "card says the control failed. Checks that a failed control leaves without meaning are "
    "greyed as not interpretable, without badges. A statistic that could not be computed "
    "(too many censored runs) reads 'not measured'."
)


def is_positive(c: Check) -> bool:
    """A positive control's check (its name holds "positive control", also with a setup's
    prefix, as `verdicts.merge` names them)."""
    return POSITIVE in c.name


@dataclass(frozen=True)
class Ruling:
    """What the controls make of a claim's verdict (`ruling`).

    verdict: the claim's verdict under the rule; note: what the controls did, in words, for
    the card's reason ("" when every control holds); interpretable: False where the checks
    say nothing about the claim (a positive control failed, or a failed control leaves a
    SUPPORTED without meaning), so the report greys them.
    """

    verdict: Verdict
    note: str = ""
    interpretable: bool = True
    failed: tuple[str, ...] = ()  # the names of the controls that did not hold


def ruling(verdict: Verdict, checks: Sequence[Check], control: Sequence[Check]) -> Ruling:
    """The one verdict rule (`VERDICT_RULE`), applied to a judged verdict and its controls.

    Idempotent: a judgement that already applied its positive control (`judge_checks`) or
    its control (AR-SPIKE's `slingshot`) is left as it was; one that did not (OG-LU's
    "large N flattens the U") is brought under the rule. NOT RUN and ERROR are left alone.
    """
    verdict = Verdict(verdict)
    if verdict in (Verdict.NOT_RUN, Verdict.ERROR):
        return Ruling(verdict)

    def named(cs: list[Check]) -> str:
        return "; ".join(f"{c.name} ({Verdict(c.verdict).value}: {c.detail})" if c.detail
                         else f"{c.name} ({Verdict(c.verdict).value})" for c in cs)  # fmt: skip

    failed = [c for c in control if Verdict(c.verdict) is not Verdict.SUPPORTED]
    positive = [c for c in failed if is_positive(c)]
    names = tuple(c.name for c in failed)
    if positive:
        note = f"positive control failed: {named(positive)}"
        return Ruling(Verdict.INCONCLUSIVE, note, False, tuple(c.name for c in positive))
    if not failed:
        return Ruling(verdict)
    judged = [Verdict(c.verdict) for c in checks if not c.name.startswith(REPORTED_ONLY)]
    if verdict is Verdict.SUPPORTED or (judged and combine(judged) is Verdict.SUPPORTED):
        return Ruling(
            Verdict.INCONCLUSIVE,
            f"control failed: {named(failed)}; the checks would pass without the effect, so "
            "their SUPPORTED cannot stand",
            False,
            names,
        )
    if verdict is Verdict.REFUTED:
        return Ruling(
            verdict,
            f"control failed too: {named(failed)}; a failed control cannot produce a "
            "REFUTED, which stands",
            failed=names,
        )
    return Ruling(verdict, f"control failed too: {named(failed)}", failed=names)


def ruled_reason(reason: str, r: Ruling, before: Verdict) -> str:
    """The card's reason with the ruling's note: first where the note changed the verdict,
    after it otherwise; unchanged where the reason already names every failed control."""
    if not r.note or (r.verdict is before and all(n in reason for n in r.failed)):
        return reason
    if r.verdict is not before:
        return f"{r.note}. The checks alone: {reason}" if reason else r.note
    return f"{reason}; {r.note}" if reason else r.note
