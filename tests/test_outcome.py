"""The outcome policy, as the table in grokcore/outcome.py's docstring."""

from __future__ import annotations

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


def test_the_claims_expectation_table_is_well_formed():
    from claims.expectations import EXPECTED

    for (claim_id, scale), exp in EXPECTED.items():
        assert claim_id.isupper() and scale in ("quick", "full")
        assert isinstance(exp, Expectation) and len(exp.why) > 40
