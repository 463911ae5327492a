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
        assert "stale" in message and "expected" in message


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


def test_every_claim_spec_is_well_formed():
    """Every registered claim: a readable id, the catalogue's text, expectations with their
    reasons at known scales, and a quick-tier time."""
    from claims import REGISTRY

    assert len(REGISTRY) == 50  # 28 catalogue claims as 44 items, and 6 beyond-seed claims
    for spec in REGISTRY:
        assert CLAIM_ID.fullmatch(spec.id), spec.id
        assert spec.statistic and spec.setting, f"{spec.id}: the catalogue's row is missing"
        assert spec.quick_seconds >= 0
        for scale, exp in spec.expected.items():
            assert scale in ("quick", "full")
            assert isinstance(exp, Expectation) and len(exp.why) > 40


def test_quick_tier_hands_out_the_longest_claims_first():
    """claims/conftest.py orders quick-tier items by their specs' measured seconds, longest
    first; items without a spec (unit tests) keep their order after them."""
    from types import SimpleNamespace

    from claims import REGISTRY
    from claims.conftest import longest_first

    def item(name: str, claim: str | None):
        params = {"spec": REGISTRY[claim]} if claim else {}
        return SimpleNamespace(name=name, callspec=SimpleNamespace(params=params))

    items = [
        item("a", "LS-LAND"),
        item("b", None),
        item("c", "AR-FRAC"),
        item("d", None),
        item("e", "LS-MNIST[aug0.1]"),
    ]
    longest_first(items)  # type: ignore[arg-type]
    assert [i.name for i in items] == ["c", "e", "a", "b", "d"]
    seconds = {i: REGISTRY[i].quick_seconds for i in ("AR-FRAC", "LS-MNIST[aug0.1]", "LS-LAND")}
    assert seconds["AR-FRAC"] > seconds["LS-MNIST[aug0.1]"] > seconds["LS-LAND"]
