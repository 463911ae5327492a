"""Issue 25's done-when tests: the report a researcher can trust at a glance.

- an arn and a poster claim at the quick tier: the settings table's paper column holds that
  paper's values (from the claim's own paper tier) or "—", never Nanda's transformer setup;
- a partial report carries the partial banner and the judged / selected count;
- an expected REFUTED is marked expected in the summary and in the forest plot.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import pytest

from grokcore import setups
from grokcore.record import Check, ClaimRecord, Verdict
from grokcore.report import forest, render_report
from grokcore.report.settings import NO_VALUE, _resolve, flatten, settings_table
from grokcore.spec import Scope

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from claims.arn import ArOps
from claims.rnn_poster import RpLateWd

QUICK = Scope("quick", seeds_override=1)


def paper_values(cfgs, name: str) -> set[str]:
    """Every value the paper-tier configs give at `name`: flat settings and notes' paper."""
    out = set()
    for cfg in cfgs:
        flat = flatten(cfg)
        if name in flat:
            out.add(flat[name])
        elif (ran := _resolve(cfg, name)) is not None:  # "task.p": an attribute of the task
            out.add(ran)
        out |= {n.paper for n in cfg.notes if n.name == name}
    return out


def nanda_paper_column() -> dict[str, str]:
    """What the quick stand-in's own setup (Nanda's) says the paper is, row by row."""
    rows = settings_table({"": [setups.modular(seed=0, scale="quick")]})
    return {r.name: r.paper for r in rows}


@pytest.mark.parametrize(
    "spec, model_words",
    [(ArOps(), "Transformer: 2 layers"), (RpLateWd(), "LSTM")],
    ids=["arn AR-OPS", "rnn-poster RP-LATEWD"],
)
def test_quick_paper_column_is_the_claims_own_paper(spec, model_words, tmp_path):
    arms, paper_arms = spec.arms(QUICK), spec.paper_arms(QUICK)
    assert paper_arms, f"{spec.id}: its paper tier must be buildable here"
    table = settings_table(arms, paper_arms)
    record = ClaimRecord(
        claim_id=spec.id, title=spec.title, paper=spec.paper, section=spec.section,
        scale="quick", verdict=Verdict.SUPPORTED, table=table,
    )  # fmt: skip
    all_paper_cfgs = [c for cfgs in paper_arms.values() for c in cfgs]
    nanda = nanda_paper_column()
    by_name = {}
    for row in record.table:
        by_name.setdefault(row.name, row)
        allowed = paper_values(all_paper_cfgs, row.name) | {NO_VALUE}
        ok = (
            row.paper in allowed
            or row.paper.startswith("ours, except ")  # a composite pointing to its sub-rows
            or row.paper.startswith("swept: ")  # a setting swept inside the arm
        )
        assert ok, f"{spec.id} {row.name} [{row.arm}]: paper {row.paper!r} not in {allowed}"
        assert "Nanda" not in row.paper and "mod 113" not in row.paper
    # the rows where Nanda's setup and this paper differ: ours shows this paper's
    assert model_words in by_name["model"].paper
    assert "mod 97" in by_name["task"].paper
    for name in ("model", "steps", "dtype", "task.p", "task.train_frac"):
        if by_name[name].paper != NO_VALUE and nanda[name] not in paper_values(
            all_paper_cfgs, name
        ):
            assert by_name[name].paper != nanda[name], f"{spec.id} {name}: Nanda's value"
    # and the page shows it
    html = render_report([record], {"scale": "quick"}, tmp_path / "index.html").read_text()
    assert model_words in html
    assert "Nanda init" not in html


def _record(cid: str, verdict: Verdict, **kw) -> ClaimRecord:
    kw.setdefault(
        "checks",
        [
            Check("share generalizing", 0.1, (0.02, 0.3), "CI within [0.8, 1]", verdict,
                  bounds=(0.8, 1.0))
        ],
    )  # fmt: skip
    kw.setdefault("paper", "arn")
    return ClaimRecord(
        claim_id=cid, title=f"title {cid}", section="§4", scale="quick", verdict=verdict, **kw
    )


def test_partial_report_has_banner_and_judged_over_selected(tmp_path):
    records = [
        _record("AR-A", Verdict.SUPPORTED),
        _record("AR-B", Verdict.NOT_RUN, checks=[], reason="plan stopped: training limit"),
        _record("AR-C", Verdict.REFUTED),
    ]
    header = {"scale": "quick", "claims_selected": 5, "claims_reported": 3,
              "runs_trained": 4, "runs_cached": 10}  # fmt: skip
    html = render_report(records, header, tmp_path / "index.html").read_text()
    assert re.search(r"\.partial\s*\{", html), "the partial banner's CSS"
    banner = re.search(r'<section class="panel partial" role="alert"><strong>(.*?)</strong>', html)
    assert banner, "a partial report carries the partial banner"
    assert "2 / 5 selected claims judged" in banner.group(1)
    assert "1 NOT RUN" in banner.group(1)
    assert "4 runs trained" in banner.group(1)
    assert "<dt>claims judged / selected</dt><dd>2 / 5</dd>" in html


def test_complete_report_has_no_partial_banner(tmp_path):
    records = [_record("AR-A", Verdict.SUPPORTED), _record("AR-C", Verdict.REFUTED)]
    header = {"scale": "quick", "claims_selected": 2, "claims_reported": 2}
    html = render_report(records, header, tmp_path / "index.html").read_text()
    assert 'class="panel partial"' not in html


def _forest_texts(records) -> list[str]:
    fig = forest._draw(records)
    try:
        return [t.get_text() for ax in fig.axes for t in ax.texts]
    finally:
        forest.plt.close(fig)


def test_expected_refuted_is_marked_in_summary_and_forest(tmp_path):
    expected = _record(
        "AR-X", Verdict.REFUTED,
        expectation="REFUTED expected at quick (strict): the stand-in does not grok x^3+xy",
    )  # fmt: skip
    surprise = _record("AR-Y", Verdict.REFUTED)
    html = render_report([expected, surprise], {"scale": "quick"}, tmp_path / "index.html")
    text = html.read_text()
    summary = text[text.index("<h2>At a glance</h2>") : text.index("<h2>Papers</h2>")]
    rows = {cid: row for row in summary.split("<tr>") for cid in ("AR-X", "AR-Y") if cid in row}
    assert "REFUTED (expected)" in rows["AR-X"]
    assert "expected" not in rows["AR-Y"]
    assert "REFUTED: 2 (1 expected)" in summary  # the count badge
    texts = _forest_texts([expected, surprise])
    assert any(t.startswith("REFUTED (expected)") for t in texts)
    assert sum("(expected)" in t for t in texts) == 1
    csv = (tmp_path / "summary.csv").read_text().splitlines()
    assert csv[1].startswith("AR-X,") and ",REFUTED,yes," in csv[1]
    assert ",REFUTED,no," in csv[2]


def test_card_parts_greyed_checks_stand_in_strength_command_papers(tmp_path):
    from grokcore.record import Setting

    failed_positive = _record(
        "AR-P", Verdict.INCONCLUSIVE,
        control=[Check("positive control: runs spike", 0.0, None, "≥ 1", Verdict.REFUTED)],
        runs=[{"seed": 0}, {"seed": 1}],
    )  # fmt: skip
    stand_in = _record(
        "AR-S", Verdict.SUPPORTED,
        table=[Setting("model", "embedding MLP", "Transformer: 2 layers", why="CPU")],
        runs=[{"seed": s} for s in range(5)],
    )  # fmt: skip
    html = render_report(
        [failed_positive, stand_in], {"scale": "quick", "seeds": 5}, tmp_path / "index.html"
    ).read_text()
    card_p = html[html.index('id="claim-AR-P"') : html.index('id="claim-AR-S"')]
    card_s = html[html.index('id="claim-AR-S"') :]
    assert 'class="uninterpretable"' in card_p and "Not interpretable" in card_p
    assert "uninterpretable" not in card_s
    assert "stand-in model" in card_s and "stand-in model" not in card_p
    assert "5 seeds · ours 0.1 [0.02, 0.3] vs paper —" in card_s
    assert "2 seeds (few)" in card_p
    assert "python3 -m pytest claims/ --scale quick -k &#39;AR-S&#39;" in card_s
    assert "--seeds 5" in card_s
    assert html.count('<dt id="paper-arn">') == 1  # the paper in full, once
    assert "Investigating Grokking" in html


def test_forest_groups_by_paper_with_ls_mnist_in_its_own_panel():
    records = [
        _record("LS-MNIST[base]", Verdict.SUPPORTED, paper="li-sakib"),
        _record("OG-INV", Verdict.SUPPORTED, paper="omnigrok"),
        _record("LS-CORR", Verdict.SUPPORTED, paper="li-sakib"),
        _record("LS-MNIST[ce]", Verdict.SUPPORTED, paper="li-sakib"),
    ]
    got = [(title, [r.claim_id for r in rows]) for title, rows in forest.groups(records)]
    assert got == [
        ("omnigrok", ["OG-INV"]),
        ("li-sakib", ["LS-CORR"]),
        ("li-sakib: MNIST variations (LS-MNIST)", ["LS-MNIST[base]", "LS-MNIST[ce]"]),
    ]  # papers in order of first appearance, LS-MNIST last
    texts = _forest_texts(records)
    assert "li-sakib: MNIST variations (LS-MNIST)" in texts and "omnigrok" in texts


def test_forest_draws_zero_width_ci_unbounded_rows_and_the_reason_inside_region():
    zero = _record(
        "OG-CE", Verdict.SUPPORTED,
        checks=[Check("delay ratio", 0.0, (0.0, 0.0), "CI below 0.25", Verdict.SUPPORTED,
                      bounds=(-math.inf, 0.25))],
    )  # fmt: skip
    unbounded = _record(
        "AR-N", Verdict.SUPPORTED,
        checks=[Check("rate", 0.01, (0.0, 0.05), "excludes 0.5", Verdict.SUPPORTED)],
    )  # fmt: skip
    inside = _record(
        "AR-I", Verdict.INCONCLUSIVE,
        checks=[Check("share", 0.9, (0.5, 1.0), "CI within [0.8, 1]", Verdict.INCONCLUSIVE,
                      detail="6 of 6 runs; CI [0.5, 1] straddles 0.8", bounds=(0.8, 1.0))],
    )  # fmt: skip
    long_name = _record(
        "AR-L", Verdict.SUPPORTED,
        checks=[Check("a very long statistic name " * 4, 0.9, (0.85, 0.95), "CI within [0.8, 1]",
                      Verdict.SUPPORTED, bounds=(0.8, 1.0))],
    )  # fmt: skip
    fig = forest._draw([zero, unbounded, inside, long_name])
    try:
        rows = {ax.texts[0].get_text().split("\n")[0]: ax for ax in fig.axes if ax.texts}
        # the zero-width CI: a tick at its ends besides the dot
        ticks = [ln for ln in rows["OG-CE"].lines if ln.get_marker() == "|"]
        assert ticks and list(ticks[0].get_xdata()) == [0.0, 0.0]
        # a row without bounds still has its dot and CI, and says its region is not shaded
        assert any(ln.get_marker() == "o" for ln in rows["AR-N"].lines)
        assert rows["AR-N"].collections, "the CI bar"
        assert "not shaded" in rows["AR-N"].texts[1].get_text()
        # an INCONCLUSIVE dot inside its region says why
        assert "why: 6 of 6 runs" in rows["AR-I"].texts[1].get_text()
        # long labels are wrapped, not run off the figure
        label = rows["AR-L"].texts[0].get_text().split("\n")
        assert len(label) <= 3 and all(len(line) <= forest.LABEL_CHARS for line in label)
    finally:
        forest.plt.close(fig)
    png = forest.forest_png([zero, unbounded, inside, long_name])
    assert png.startswith(b"\x89PNG")
