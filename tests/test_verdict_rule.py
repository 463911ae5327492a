"""The one verdict rule (record.VERDICT_RULE, `record.ruling`): every claim's controls act on
its verdict the same way, the report states the rule once, greys checks a failed control
leaves without meaning, and prints a statistic the data could not give as "not measured"."""

from __future__ import annotations

import re

import numpy as np
import pytest

from grokcore.record import (
    VERDICT_RULE,
    Check,
    ClaimRecord,
    Verdict,
    ruled_reason,
    ruling,
)
from grokcore.report import render_report
from grokcore.report.render import check_value, not_interpretable
from grokcore.verdicts import inverse_scaling
from tests.synthetic import synthetic

S, R, INC = Verdict.SUPPORTED, Verdict.REFUTED, Verdict.INCONCLUSIVE


def _check(name: str, verdict: Verdict, value: float = 0.5, detail: str = "") -> Check:
    return Check(name, value, (value - 0.1, value + 0.1), "region", verdict, detail=detail)


POS_OK = _check("positive control: the arm groks", S)
POS_FAIL = _check("positive control: the arm groks", INC, detail="0 of 3 runs")
NEG_FAIL = _check("large N flattens the U", R, detail="ratio 1.2")


@pytest.mark.parametrize("verdict", [S, R, INC])
def test_a_failed_positive_control_makes_any_verdict_inconclusive(verdict):
    r = ruling(verdict, [_check("main", verdict)], [POS_FAIL])
    assert r.verdict is INC and not r.interpretable
    assert "positive control failed" in r.note and "0 of 3 runs" in r.note
    # with a setup's prefix, as verdicts.merge names a merged claim's controls
    merged = Check(**{**POS_FAIL.__dict__, "name": f"x+y: {POS_FAIL.name}"})
    assert ruling(verdict, [_check("main", verdict)], [merged]).verdict is INC


def test_a_failed_control_takes_a_supported_to_inconclusive():
    # OG-LU: its checks hold, "N = 1000 flattens the U" does not (the H200's paper tier)
    r = ruling(S, [_check("argmin", S)], [POS_OK, NEG_FAIL])
    assert r.verdict is INC and not r.interpretable
    assert r.failed == ("large N flattens the U",)
    reason = ruled_reason("an L and a U", r, S)
    assert reason.startswith("control failed: large N flattens the U (REFUTED: ratio 1.2)")
    assert reason.endswith("The checks alone: an L and a U")


def test_a_failed_control_leaves_a_refuted_standing_and_says_so():
    # OG-INV at the quick tier: the slope is refuted, and γ = 0 runs generalize
    r = ruling(R, [_check("slope", R)], [POS_OK, NEG_FAIL])
    assert r.verdict is R and r.interpretable
    assert "cannot produce a REFUTED" in ruled_reason("not 1/γ", r, R)


def test_a_claim_that_applied_its_control_itself_is_left_as_it_was():
    # AR-SPIKE: `slingshot` already made its SUPPORTED checks INCONCLUSIVE and said why
    sgd = _check("SGD runs that fit with ≥ 1 spike", R)
    r = ruling(INC, [_check("Adam spikes", S)], [POS_OK, sgd])
    assert r.verdict is INC and not r.interpretable  # its SUPPORTED checks are greyed
    said = "control failed: SGD runs that fit with ≥ 1 spike — 6 of 6 runs"
    assert ruled_reason(said, r, INC) == said


def test_controls_that_hold_and_unjudged_records_change_nothing():
    assert ruling(S, [_check("main", S)], [POS_OK]) == ruling(S, [], [])
    assert ruling(S, [_check("main", S)], [POS_OK]).note == ""
    for v in (Verdict.NOT_RUN, Verdict.ERROR):
        assert ruling(v, [], [POS_FAIL]).verdict is v
    assert ruled_reason("why", ruling(S, [], []), S) == "why"


def test_og_inv_control_is_judged():
    """OG-INV's statistic with a γ = 0 control that generalizes: shown before, now judged."""
    gammas = np.repeat(np.geomspace(0.03, 1, 5), 3)
    j = inverse_scaling(gammas, [synthetic(60, 100 / g) for g in gammas],
                        control=[synthetic(60, 500)] * 3)  # fmt: skip
    assert j.verdict is S  # the slope alone
    r = ruling(j.verdict, j.checks, j.control)
    assert r.verdict is INC and "γ = 0" in r.note


def _record(cid: str, verdict: Verdict, checks: list[Check], control: list[Check], **kw):
    return ClaimRecord(cid, f"{cid} title", "omnigrok", "§1", "quick", verdict,
                       reason=kw.pop("reason", "why"), checks=checks, control=control,
                       **kw)  # fmt: skip


def test_the_report_states_the_rule_and_greys_without_badges(tmp_path):
    nan = Check("Spearman ρ(batch size, delay)", float("nan"), (float("nan"), float("nan")),
                "CI inside ρ > 0", INC, detail="23 of 24 runs never grokked")  # fmt: skip
    runs = [{"seed": i, "grokked": i == 0} for i in range(24)]
    records = [
        _record("LS-CORR", INC, [nan, _check("ρ(init)", R)], [POS_FAIL], runs=runs),
        _record("OG-LU", INC, [_check("argmin", S)], [POS_OK, NEG_FAIL]),
        _record("OG-DATA", S, [_check("ratio", S)], [POS_OK]),
    ]
    assert [not_interpretable(r) for r in records] == [True, True, False]
    assert check_value(nan, records[0]) == "not measured (23 of 24 runs censored)"
    html = render_report(records, {"scale": "quick"}, tmp_path / "index.html").read_text()
    assert VERDICT_RULE.split(". ")[0] in html
    text = re.sub(r"data:image/png;base64,[^\"]*", "", html)  # the figures' bytes aside
    assert not re.search(r"\bnan\b", text, re.IGNORECASE)
    assert "not measured (23 of 24 runs censored)" in html

    def card(cid: str) -> str:
        return html.split(f'id="claim-{cid}"', 1)[1].split("</article>", 1)[0]

    def checks_table(cid: str) -> str:
        return card(cid).split("<h3>Checks</h3>", 1)[1].split("<h3>Control</h3>", 1)[0]

    for cid in ("LS-CORR", "OG-LU"):  # greyed: no red or green badge among its checks
        table = checks_table(cid)
        assert "not interpretable" in table
        assert not re.search(r'class="badge v-(supported|refuted)"', table), cid
    assert "a positive control failed" in card("LS-CORR")
    assert "must not appear failed" in card("OG-LU")
    assert 'class="badge v-supported"' in checks_table("OG-DATA")


def test_an_unmeasured_rho_is_said_so_not_printed_as_nan():
    from grokcore.stats import Estimate
    from grokcore.verdicts.sweep import describe, fmt_rho

    nan = float("nan")
    assert fmt_rho(Estimate(nan, (nan, nan))) == "not measured"
    assert fmt_rho(Estimate(0.5, (0.41, 0.6)), 2) == "+0.50 [+0.41, +0.60]"
    assert describe({"batch_size": Estimate(nan, (nan, nan))})[
        "ρ(batch size, delay in epochs)"
    ].startswith("not measured (paper +")
