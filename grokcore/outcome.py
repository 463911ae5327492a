"""The outcome policy: a claim's verdict, and what is expected of it, -> the test's outcome.

A pure function, so the whole policy reads (and is tested) as one table
(tests/test_outcome.py):

| verdict      | expected: nothing | expected REFUTED      | expected INCONCLUSIVE |
|--------------|-------------------|-----------------------|-----------------------|
| SUPPORTED    | pass              | fail (stale)          | fail (stale)          |
| REFUTED      | fail              | xfail                 | fail                  |
| INCONCLUSIVE | fail              | fail (stale)          | pass                  |

An expectation is strict, like `xfail_strict`: a claim that stops behaving as recorded
fails until its spec's `expected` row (claims/) is updated, so the table never goes
stale silently. NOT RUN (a skip) and ERROR (a crash) never reach this policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from grokcore.record import Verdict


class Outcome(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    XFAIL = "xfail"


@dataclass(frozen=True)
class Expectation:
    """A known outcome of one claim at one scale, and why (never the numbers: the report
    prints those, and they change whenever the core does)."""

    verdict: Verdict
    why: str

    def __post_init__(self) -> None:
        if self.verdict not in (Verdict.REFUTED, Verdict.INCONCLUSIVE):
            raise ValueError(f"only REFUTED or INCONCLUSIVE can be expected, not {self.verdict}")
        if not self.why.strip():
            raise ValueError("an expectation needs its reason")


def outcome(verdict: Verdict, expected: Expectation | None) -> tuple[Outcome, str]:
    """The test outcome of `verdict`, and a one-line message for the test report."""
    if verdict in (Verdict.NOT_RUN, Verdict.ERROR):
        raise ValueError(f"{verdict.value} is a skip or a crash, not a concluded verdict")
    if expected is not None:
        if verdict is expected.verdict:
            if verdict is Verdict.REFUTED:
                return Outcome.XFAIL, f"REFUTED as expected: {expected.why}"
            return Outcome.PASS, f"{verdict.value} as expected: {expected.why}"
        return Outcome.FAIL, (
            f"expected {expected.verdict.value} but is {verdict.value}: the expectation is "
            "stale, update the claim spec's `expected` (claims/)"
        )
    if verdict is Verdict.SUPPORTED:
        return Outcome.PASS, "SUPPORTED"
    return Outcome.FAIL, verdict.value
