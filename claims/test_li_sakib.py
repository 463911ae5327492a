"""li-sakib — Li & Sakib, "ECE 826 Project – Grokking" (UW–Madison report)."""

from __future__ import annotations

import pytest

from grokcore import plotting, setups
from grokcore.verdicts import decay_halving, delay_dominates

PAPER = "li-sakib"
CURVES = "train (dashed) / test (solid) accuracy, median and spread over seeds"


@pytest.mark.claim(
    "LS-DIV",
    paper=PAPER,
    section="§3, Fig 2",
    title="A 2-layer transformer groks x ÷ y at a 30/70 split, with a delay of thousands of steps",
)
def test_ls_div(claim):
    seeds = claim.seeds(6)
    arms = claim.run(
        {
            "30/70": [setups.li_sakib(seed=s, scale=claim.scale) for s in seeds],
            # control (li-sakib §3.2): with 70% of the table the model comprehends instead
            "70/30": [setups.li_sakib(seed=s, train_frac=0.7, scale=claim.scale) for s in seeds],
        }
    )
    j = delay_dominates(arms["30/70"], arms["70/30"])
    plotting.plot_curves(arms, claim.figure("curves", CURVES), title="x ÷ y: 30/70 vs 70/30")
    claim.finish(
        j,
        statement="Trained on 30% of the x ÷ y table, the transformer fits the training set "
        "first and generalizes thousands of steps later (D > 5·t_train in most seeds); with "
        "70% of the table it does not grok.",
        settings={"seeds per arm": len(seeds), "grokking": "D > 5·t_train"},
        control_summary="70/30 runs must not grok (comprehension).",
    )


@pytest.mark.claim(
    "LS-WD2",
    paper=PAPER,
    section="§3.4, Fig 8",
    title="Raising weight decay from 1 to 2 roughly halves the delay; much larger stops fitting",
)
def test_ls_wd2(claim):
    seeds = claim.seeds(4)
    gammas = (1.0, 2.0, 10.0)
    arms = claim.run(
        {
            f"γ = {g:g}": [
                setups.li_sakib(seed=s, weight_decay=g, scale=claim.scale) for s in seeds
            ]
            for g in gammas
        }
    )
    hs = [h for g in gammas for h in arms[f"γ = {g:g}"]]
    j = decay_halving([g for g in gammas for _ in seeds], hs)
    plotting.plot_curves(arms, claim.figure("curves", CURVES), title="x ÷ y at 30/70 by γ")
    claim.finish(
        j,
        statement="Doubling the weight decay from 1 to 2 roughly halves the grokking delay "
        "(D(2)/D(1) in [0.3, 0.8]); a much larger weight decay keeps the model from fitting.",
        settings={"gammas": list(gammas), "seeds per γ": len(seeds)},
        deviations=["γ = 10 stands for the paper's unnamed 'much larger' weight decay"],
    )
