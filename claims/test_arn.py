"""arn — Arn, "Investigating Grokking – Late Generalisation in Deep Learning" (ETH thesis, 2023)."""

from __future__ import annotations

import pytest

from grokcore import plotting, setups
from grokcore.verdicts import no_ungrokking

# x*y is left out at quick scale: in a pilot it generalized only at ~5,500 steps, too late to
# train 3× past it on a CPU budget.
OPS = ("x+y", "x-y", "x/y")


def _configs(scale: str, op: str, seeds: list[int]) -> list:
    if scale == "full":
        # arn's own regime (REFERENCES P8): openai/grok's Power model, p = 97, γ = 0.01,
        # batch 512, float32, one split for all seeds. Nanda's full-batch setting suppresses
        # the loss spikes ("slingshots") that un-grokking would follow.
        return [setups.power_arn(seed=s, op=op) for s in seeds]
    # 15,000 steps: the quick model generalizes by ≈ 5k, and the claim needs 3× past it
    return [setups.modular(seed=s, op=op, scale=scale, steps=15_000) for s in seeds]


@pytest.mark.gpu
@pytest.mark.claim(
    "AR-NOUNGROK",
    paper="arn",
    section="§4.4",
    title="No un-grokking: a model that generalized never settles back",
)
def test_ar_noungrok(claim):
    # 0 of n un-grokked gives a one-sided 95% CP upper bound < 0.1 only for n >= 29,
    # so the claim trains 33 runs (11 seeds of 3 operations).
    seeds = claim.seeds(11)
    arms = claim.run({op: _configs(claim.scale, op, seeds) for op in OPS})
    hs = [h for op in OPS for h in arms[op]]
    labels = [f"{op} seed {s}" for op in OPS for s in seeds]
    j = no_ungrokking(hs, labels)
    plotting.plot_traces(
        hs,
        claim.figure("traces", "x = steps / step of first test accuracy ≥ 0.99; lines at "
                     "0.9 and 0.99"),
        align=[r["t_high"] for r in j.runs],
        title="test accuracy after first reaching 0.99",
    )  # fmt: skip
    plotting.plot_curves(
        arms,
        claim.figure("curves", "train (dashed) / test (solid) accuracy per operation, median "
                     "and spread"),
        title=f"operations mod {claim.arms[OPS[0]][0].task.p}",
    )  # fmt: skip
    claim.finish(
        j,
        statement="Once a model generalizes it never settles in a worse-generalizing state: "
        "among runs trained at least 3× past their generalization step, the rate of runs whose "
        "test accuracy falls below 0.9 after reaching 0.99 and stays there is bounded below "
        "0.1 (one-sided 95% Clopper–Pearson). Transient dips are counted separately.",
        settings={"operations": list(OPS), "seeds per op": len(seeds), "high": 0.99,
                  "low": 0.9, "multiple": 3, "spike factor": 100},
        control_summary="Positive control: enough runs qualify, and their training loss "
        "spikes at least once after the fit (else nothing could un-grok them).",
    )  # fmt: skip
