"""The outcome policy, as the table in grokcore/outcome.py's docstring."""

from __future__ import annotations

import re

import pytest

from grokcore.outcome import Expectation, Outcome, outcome
from grokcore.record import Verdict

S, R, INC = Verdict.SUPPORTED, Verdict.REFUTED, Verdict.INCONCLUSIVE
EXP_R = Expectation(R, "known not to replicate at this scale")
EXP_I = Expectation(INC, "the positive control cannot pass at this scale")

TABLE = [
    # verdict, expected, outcome
    (S, None, Outcome.PASS),
    (R, None, Outcome.FAIL),
    (INC, None, Outcome.FAIL),
    (S, EXP_R, Outcome.FAIL),
    (R, EXP_R, Outcome.XFAIL),
    (INC, EXP_R, Outcome.FAIL),
    (S, EXP_I, Outcome.FAIL),
    (R, EXP_I, Outcome.FAIL),
    (INC, EXP_I, Outcome.PASS),
]


@pytest.mark.parametrize(("verdict", "expected", "want"), TABLE)
def test_policy_table(verdict, expected, want):
    got, message = outcome(verdict, expected)
    assert got is want
    if expected is not None and verdict is not expected.verdict:
        assert "stale" in message and "claims/expectations.py" in message


@pytest.mark.parametrize("verdict", [Verdict.NOT_RUN, Verdict.ERROR])
def test_skips_and_crashes_are_not_verdicts_to_judge(verdict):
    with pytest.raises(ValueError):
        outcome(verdict, None)


def test_expectations_say_why_and_expect_only_failures():
    with pytest.raises(ValueError, match="reason"):
        Expectation(R, " ")
    with pytest.raises(ValueError, match="only REFUTED or INCONCLUSIVE"):
        Expectation(S, "it works")


CLAIM_ID = re.compile(r"[A-Z]{2}-[A-Z0-9]+(\[[a-z0-9.]+\])?")


def test_the_claims_expectation_table_is_well_formed():
    from claims.expectations import EXPECTED

    for (claim_id, scale), exp in EXPECTED.items():
        assert CLAIM_ID.fullmatch(claim_id), claim_id
        assert scale in ("quick", "full")
        assert isinstance(exp, Expectation) and len(exp.why) > 40


_COLLECT_CLAIM_IDS = """
import json, sys
import pytest

class Ids:
    def __init__(self):
        self.ids = set()

    def pytest_collection_modifyitems(self, items):
        for item in items:
            marker = item.get_closest_marker("claim")
            if marker is not None:
                self.ids.add(marker.args[0])

ids = Ids()
code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "claims/"], plugins=[ids])
print(json.dumps(sorted(ids.ids)))
sys.exit(int(code))
"""


def test_every_expectation_and_timing_names_a_collected_claim():
    """A row whose key matches no claim (a renamed claim, a typo like `LS-MNIST[2K]`) would
    silently stop applying; every key of EXPECTED and QUICK_SECONDS must name a claim that
    `pytest claims/` collects."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from claims.conftest import QUICK_SECONDS
    from claims.expectations import EXPECTED

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", _COLLECT_CLAIM_IDS],
        cwd=root, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    collected = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert len(collected) > 30
    assert {claim_id for claim_id, _ in EXPECTED} <= collected
    assert set(QUICK_SECONDS) <= collected


def test_quick_tier_hands_out_the_longest_claims_first():
    """claims/conftest.py orders quick-tier items by their measured seconds, longest first;
    unlisted items (unit tests, new claims) keep their order after them."""
    from types import SimpleNamespace

    from claims.conftest import QUICK_SECONDS, longest_first

    def item(name: str, claim: str | None):
        marker = SimpleNamespace(args=(claim,)) if claim else None
        return SimpleNamespace(name=name, get_closest_marker=lambda _: marker)

    items = [
        item("a", "LS-LAND"),
        item("b", None),
        item("c", "AR-FRAC"),
        item("d", "NEW-CLAIM"),
        item("e", "LS-MNIST[aug0.1]"),
    ]
    longest_first(items)  # type: ignore[arg-type]
    assert [i.name for i in items] == ["c", "e", "a", "b", "d"]
    assert QUICK_SECONDS["AR-FRAC"] > QUICK_SECONDS["LS-MNIST[aug0.1]"] > QUICK_SECONDS["LS-LAND"]
