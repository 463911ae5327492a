"""grokcore.report.stability: verdicts across seed sets -> stability.json -> the card."""

from __future__ import annotations

import json

from grokcore.record import ClaimRecord, Verdict
from grokcore.report import render_report, write_results_json
from grokcore.report.render import load_stability
from grokcore.report.stability import main, stability


def test_stability_counts_same_verdicts_and_flags_flips():
    sessions = [
        (0, {"A": "SUPPORTED", "B": "SUPPORTED", "C": "NOT RUN"}),
        (100, {"A": "SUPPORTED", "B": "REFUTED", "C": "ERROR"}),
        (200, {"A": "SUPPORTED", "B": "SUPPORTED"}),
    ]
    table = stability(sessions, why={"B": "seed 101 never memorizes"})
    assert table["A"] == {
        "verdicts": {"0": "SUPPORTED", "100": "SUPPORTED", "200": "SUPPORTED"},
        "same": 3, "of": 3, "most_common": "SUPPORTED", "fragile": False, "why": "",
    }  # fmt: skip
    b = table["B"]
    assert (b["same"], b["of"], b["most_common"], b["fragile"]) == (2, 3, "SUPPORTED", True)
    assert b["why"] == "seed 101 never memorizes"
    assert "C" not in table  # NOT RUN / ERROR sessions say nothing about the seeds


def _results(path, base_seed, verdicts):
    recs = [
        ClaimRecord(claim_id=c, title=c, paper="arn", section="", scale="quick", verdict=Verdict(v))
        for c, v in verdicts.items()
    ]
    write_results_json(recs, {"scale": "quick", "base_seed": base_seed}, path)
    return recs


def test_cli_writes_stability_json_that_the_report_shows(tmp_path, capsys):
    paths = []
    for seed, verdict in ((0, "SUPPORTED"), (100, "REFUTED"), (200, "SUPPORTED")):
        p = tmp_path / f"s{seed}" / "results.json"
        p.parent.mkdir()
        recs = _results(p, seed, {"A": verdict, "B": "SUPPORTED"})
        paths.append(str(p))
    out = tmp_path / "report" / "stability.json"
    out.parent.mkdir()
    assert main([str(out), *paths, "--why", "A=flips on seed set 100"]) == 0
    assert "2 claims, 1 fragile: A" in capsys.readouterr().out
    table = json.loads(out.read_text())
    assert table["A"]["verdicts"] == {"0": "SUPPORTED", "100": "REFUTED", "200": "SUPPORTED"}
    html = render_report(recs, {"scale": "quick"}, out.parent / "index.html").read_text()
    assert "same verdict at 2 of 3 seed sets — fragile: flips on seed set 100" in html
    assert "same verdict at 3 of 3 seed sets" in html


def test_bad_input_is_a_one_line_error(tmp_path, capsys):
    bad = tmp_path / "results.json"
    bad.write_text("{not json")
    assert main([str(tmp_path / "out.json"), str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("grokcore: error: cannot read a results.json") and "\n" not in err
    assert not (tmp_path / "out.json").exists()


def test_unreadable_stability_file_is_ignored(tmp_path):
    (tmp_path / "stability.json").write_text("[broken")
    rec = ClaimRecord(claim_id="A", title="", paper="", section="", scale="quick",
                      verdict=Verdict.SUPPORTED)  # fmt: skip
    load_stability([rec], tmp_path)
    assert rec.stability is None
