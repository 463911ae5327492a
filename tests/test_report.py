"""The HTML report shows every verdict, inlines figures, escapes text; results.json round-trips."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import numpy as np
import pytest

from grokcore.record import Check, ClaimRecord, Figure, Setting, Verdict
from grokcore.report import load_results_json, render_report, write_results_json
from grokcore.report.render import fmt, fmt_ci

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HEADER = {
    "date": "2024-05-01",
    "git commit": "abc1234",
    "scale": "quick (CPU only)",
    "seeds": [0, 1, 2],
    "wall time": "12 min",
    "runs": {"trained": 40, "cached": 8},
}


def check(verdict: Verdict, value: float = -0.97, ci=(-1.12, -0.83), **kw) -> Check:
    return Check(
        name="slope of log t_test on log γ",
        value=value,
        ci=ci,
        region="CI contains −1",
        verdict=verdict,
        **kw,
    )


@pytest.fixture
def records(tmp_path: Path) -> list[ClaimRecord]:
    fig = tmp_path / "fig.png"
    fig.write_bytes(PNG_MAGIC + b"\x00" * 64)
    return [
        ClaimRecord(
            claim_id="OG-INV",
            title="t_test scales as 1/γ",
            paper="omnigrok",
            section="§2, Fig 2c",
            scale="quick",
            verdict=Verdict.SUPPORTED,
            reason="CI [−1.12, −0.83] contains −1.",
            statement="Time to generalize scales as 1/γ.",
            checks=[
                check(Verdict.SUPPORTED, paper_value="≈ −1"),
                check(Verdict.SUPPORTED, value=0.05, ci=(-0.1, 0.2)),
            ],
            control=[check(Verdict.SUPPORTED, value=math.nan, ci=None)],
            control_summary="γ=0 runs never generalize (0/6).",
            settings={
                "p": 113,
                "gammas": [0.03, 0.1, 1.0],
                "opt": {"lr": 1e-3, "betas": [0.9, 0.98]},
            },
            deviations=["3 seeds instead of 10", "budget 1e4 steps, not 1e5"],
            figures=[Figure(str(fig), "t_test against γ")],
            runs=[
                {"seed": 0, "gamma": 0.1, "t_test": 4000},
                {"seed": 1, "gamma": 1.0, "censored": True},
            ],
            duration_s=12.5,
            runs_trained=18,
            runs_cached=0,
            nodeid="claims/test_omnigrok.py::test_og_inv",
        ),
        ClaimRecord(
            claim_id="OG-CE",
            title="CE removes grokking",
            paper="omnigrok",
            section="App E",
            scale="quick",
            verdict=Verdict.REFUTED,
            reason="<script>alert('x')</script> & more",
            checks=[check(Verdict.REFUTED, value=0.8, ci=(0.5, 1.3), paper_value="< 0.25")],
            figures=[Figure(str(tmp_path / "nope.png"), "a figure that was never written")],
        ),
        ClaimRecord(
            claim_id="LS-BAND",
            title="comprehension band",
            paper="li-sakib",
            section="§3.2",
            scale="quick",
            verdict=Verdict.INCONCLUSIVE,
            reason="too many censored runs",
            checks=[check(Verdict.INCONCLUSIVE)],
            expectation="xfail: needs the full grid",
        ),
        ClaimRecord(
            claim_id="OG-QM9",
            title="QM9 late drop",
            paper="omnigrok",
            section="§4",
            scale="quick",
            verdict=Verdict.NOT_RUN,
            reason="QM9 data not available offline",
        ),
        ClaimRecord(
            claim_id="AR-SPIKE",
            title="slingshot spikes",
            paper="arn",
            section="§4.3",
            scale="quick",
            verdict=Verdict.ERROR,
            reason="the claim test crashed",
            traceback="Traceback (most recent call last):\n  ...\nValueError: <bad>",
        ),
    ]


def test_report_contains_every_claim_and_verdict(records, tmp_path):
    out = render_report(records, HEADER, tmp_path / "out" / "index.html")
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert "grokcore verdict report" in html
    for r in records:
        assert r.claim_id in html
        assert f'id="claim-{r.claim_id}"' in html
        assert f'href="#claim-{r.claim_id}"' in html
    for v in Verdict:
        assert f">{v.value}<" in html
    for key in HEADER:
        assert key in html
    assert "Where these settings differ from the paper or its reference code, and why" in html
    assert "xfail: needs the full grid" in html
    assert "QM9 data not available offline" in html
    assert "−0.97 [−1.12, −0.83]" in html  # the main statistic in the summary table


def test_report_figures_inlined_or_marked_missing(records, tmp_path):
    html = render_report(records, HEADER, tmp_path / "index.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2  # the forest plot and one claim figure
    assert f"figure missing: {tmp_path / 'nope.png'}" in html
    body = html.split("<body>")[1]
    assert "<img src" in html and 'src="http' not in body  # self-contained (links may be http)


def test_report_escapes_html(records, tmp_path):
    html = render_report(records, HEADER, tmp_path / "index.html").read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "ValueError: &lt;bad&gt;" in html


def test_report_of_no_records(tmp_path):
    html = render_report([], {}, tmp_path / "empty.html").read_text(encoding="utf-8")
    assert "SUPPORTED: 0" in html


def test_results_json_round_trip(records, tmp_path):
    path = write_results_json(records, HEADER, tmp_path / "reports" / "results.json")
    loaded, header = load_results_json(path)
    assert header == HEADER
    assert [r.claim_id for r in loaded] == [r.claim_id for r in records]

    # NaN != NaN, so compare the JSON text of the dicts rather than the dicts
    def dump(rs: list[ClaimRecord]) -> str:
        return json.dumps([r.to_dict() for r in rs], sort_keys=True)

    assert dump(loaded) == dump(records)
    assert loaded[0].checks[0].ci == (-1.12, -0.83)
    assert loaded[3].verdict is Verdict.NOT_RUN
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]  # no temp file left


def test_results_json_accepts_numpy_values(tmp_path):
    rec = ClaimRecord(
        "X",
        "t",
        "p",
        "s",
        "quick",
        Verdict.SUPPORTED,
        settings={"n": np.int64(3), "a": np.arange(3)},
        runs=[{"t": np.float32(1.5)}],
    )
    loaded, _ = load_results_json(write_results_json([rec], {}, tmp_path / "r.json"))
    assert loaded[0].settings == {"n": 3, "a": [0, 1, 2]}
    assert loaded[0].runs == [{"t": 1.5}]


@pytest.mark.parametrize(
    ("x", "want"),
    [
        (None, "—"),
        (math.nan, "—"),
        (-0.97, "−0.97"),
        (0.123456, "0.123"),
        (1234.0, "1230"),
        (3, "3"),
        (2.5e-5, "2.50e−5"),
        (1.5e7, "1.50e7"),
        (0.0, "0"),
        (True, "yes"),
        ("n/a", "n/a"),
    ],
)
def test_fmt(x, want):
    assert fmt(x) == want


def test_fmt_ci():
    assert fmt_ci((-1.12, -0.83)) == "[−1.12, −0.83]"
    assert fmt_ci(None) == "—"


# -- settings table, region bounds, forest plot --------------------------------------


def test_report_settings_table_highlights_deviations_and_escapes(records, tmp_path):
    records[0].table = [
        Setting("optim.lr", "0.003", "0.001", why="<script>alert('why')</script>", arm="quick"),
        Setting("steps", "6,000", "6,000"),
    ]
    html = render_report(records, HEADER, tmp_path / "index.html").read_text(encoding="utf-8")
    start = html.index('<table class="settings">')
    table = html[start : html.index("</table>", start)]
    assert "<th>setting</th><th>arm</th><th>ours</th><th>paper</th><th>why</th>" in table
    assert table.count('class="deviates"') == 1
    deviating = table.split('<tr class="deviates">')[1].split("</tr>")[0]
    assert "optim.lr" in deviating and "0.001" in deviating and "quick" in deviating
    assert "&lt;script&gt;alert(&#39;why&#39;)&lt;/script&gt;" in table
    assert "<script>" not in html
    # the extra parameters stay below, as a small key/value table
    assert html.index('<table class="kv">') > start
    assert "gammas" in html


def test_judge_sets_region_bounds():
    from grokcore.stats import Estimate, Region, judge

    est = Estimate(0.5, (0.4, 0.6))
    assert judge(est, Region.below(1), "s").bounds == (-math.inf, 1)
    assert judge(est, Region.above(0), "s").bounds == (0, math.inf)
    assert judge(est, Region.inside(0, 1), "s").bounds == (0, 1)
    assert judge(est, Region.contains(-1), "s").bounds == (-1, -1)
    assert judge(est, Region.excludes(0), "s").bounds is None


def test_check_bounds_round_trip_results_json(records, tmp_path):
    records[0].checks = [
        check(Verdict.SUPPORTED, bounds=(-math.inf, 0.25)),
        check(Verdict.SUPPORTED, bounds=(0.5, math.inf)),
        check(Verdict.SUPPORTED, bounds=(-1.0, -1.0)),
        check(Verdict.SUPPORTED),
    ]
    path = write_results_json(records, HEADER, tmp_path / "results.json")

    def strict(token: str):
        raise AssertionError(f"results.json is not strict JSON: {token}")

    json.loads(path.read_text(encoding="utf-8"), parse_constant=strict)
    loaded, _ = load_results_json(path)
    bounds = [c.bounds for c in loaded[0].checks]
    assert bounds == [(-math.inf, 0.25), (0.5, math.inf), (-1.0, -1.0), None]
    assert loaded[0].checks == records[0].checks
    # a record written before bounds existed still loads
    d = records[1].to_dict()
    del d["checks"][0]["bounds"]
    assert ClaimRecord.from_dict(d).checks[0].bounds is None


def test_report_opens_with_forest_plot(records, tmp_path):
    html = render_report(records, HEADER, tmp_path / "index.html").read_text(encoding="utf-8")
    forest = html.index('<figure class="forest">')
    assert forest < html.index('id="claim-')  # at the top, before the cards
    img = html[forest:].split('src="data:image/png;base64,')[1].split('"')[0]
    assert base64.b64decode(img).startswith(PNG_MAGIC)
    assert "its own x-scale" in html  # the caption


def test_report_of_only_not_run_and_error_claims(records, tmp_path):
    html = render_report(records[3:], HEADER, tmp_path / "i.html").read_text(encoding="utf-8")
    assert '<figure class="forest">' in html and "could not be drawn" not in html
    assert "NOT RUN: 1" in html and "ERROR: 1" in html


def test_forest_plot_failure_leaves_a_visible_note(records, tmp_path, monkeypatch, caplog):
    from grokcore.report import forest

    def broken(_records):
        raise RuntimeError("<no display>")

    monkeypatch.setattr(forest, "forest_png", broken)
    html = render_report(records, HEADER, tmp_path / "index.html").read_text(encoding="utf-8")
    assert "summary figure could not be drawn: RuntimeError: &lt;no display&gt;" in html
    assert all(f'id="claim-{r.claim_id}"' in html for r in records)
    assert "forest plot failed" in caplog.text


def test_forest_plot_file(records, tmp_path):
    from grokcore.report.forest import forest_plot

    records[0].checks = [check(Verdict.SUPPORTED, bounds=(-math.inf, 0.25))]
    records[1].checks = [check(Verdict.REFUTED, value=math.nan, ci=None, bounds=(0.0, math.inf))]
    path = forest_plot(records, tmp_path / "forest.png")
    assert path.read_bytes().startswith(PNG_MAGIC)
