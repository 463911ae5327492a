"""Beyond the curves: a claim about runs continued from other runs' final weights (issue 24).

BX-UNGROK: Varma, Shah, Kenton, Kramár, Kumar 2023, "Explaining grokking through circuit
efficiency" (arXiv 2309.02390), "ungrokking": a network that has grokked, trained further on
a training set D' smaller than the critical size, regresses to low test accuracy; the
critical size does not depend on weight decay (the catalogue's row). The continued runs are
`config.Continuation`s of the grokked runs (`grokcore.runs` trains or reads the parents
first); the statistic is `grokcore.verdicts.continued`.
"""

from __future__ import annotations

import dataclasses

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from grokcore.config import Continuation, RunConfig
from grokcore.outcome import Expectation
from grokcore.spec import Arms, Card, ClaimSpec, Runs, Scope
from grokcore.verdicts.continued import ungrok_verdict
from grokcore.verdicts.judgement import Judgement

from .beyond_weights import _nanda

LOW = 0.5  # a continued run un-groks when its final test accuracy ends below this
MOST, FEW = 0.8, 0.2  # un-grokked share: ≥ MOST at the smallest D', ≤ FEW at D' = D
TAU = 0.95  # positive control: a parent grokked (final test accuracy ≥ TAU)
PARENTS = "parents (grokked, γ = 1)"

# D' grids, the last the whole training split D: the quick stand-in (p = 31 at 50%: D = 480
# pairs), Nanda's setup (p = 113 at 30%: D = 3,831). The quick grid is from a pilot (seeds
# 0-1, γ 1 and 0.3, 4,000 steps, 2026-12-07): D' ≤ 144 un-grokked, 192 half-way (final test
# 0.2-0.7, Varma et al.'s "semi-grokking"), 288 and 480 stayed grokked. The paper tier's is
# a guess spanning 10% of D to D (no run of it yet).
SIZES = {"quick": (48, 96, 192, 288, 480), "full": (400, 800, 1600, 2400, 3831)}
# γ while continuing. In the pilot the drop settled by ≈ 1,000 steps at γ = 1 and took ≈ 3×
# longer at γ = 0.3 (the LU time ln α/(lr·γ), omnigrok §2), so the quick tier's second γ is
# 2, not 0.3: both settle within one 2,000-step budget, which one ensemble per D' trains.
GAMMAS = {"quick": (1.0, 2.0), "full": (1.0, 2.0)}
CHILD_STEPS = {"quick": 2000, "full": 20_000}
EVAL_POINTS = 40  # the continued runs' log-spaced evaluations (plus 10 on a regular grid)


def parents(scope: Scope) -> list[RunConfig]:
    """BX-FOURIER's γ = 1 runs, which are OG-NORM's with their final weights kept: the plan
    trains them once for all three claims."""
    return _nanda(scope, 1.0)


def children(scope: Scope, size: int, gamma: float) -> list[RunConfig]:
    """Each parent continued for CHILD_STEPS on D' = `size` of its training split (the whole
    split at its size), at weight decay `gamma`, with a fresh optimizer: its own AdamW, the
    parent's lr and β, from step 1 (the parent's moments are not kept, so nothing is carried
    but the weights)."""
    full = SIZES[scope.scale][-1]
    out = []
    for p in parents(scope):
        out.append(
            p.replace(
                optim=dataclasses.replace(p.optim, weight_decay=gamma),
                steps=CHILD_STEPS[scope.scale],
                start=Continuation(p, "fresh", None if size == full else size),
                keep_params=False,
                eval_points=EVAL_POINTS,
                eval_every=CHILD_STEPS[scope.scale] // 10,
            )
        )
    return out


def arm(size: int, gamma: float) -> str:
    return f"γ = {gamma:g}, D' = {size}"


def smallest(scope: Scope) -> list[RunConfig]:
    """The continued runs at the smallest D', every γ: the runs that must un-grok, which
    AR-NOUNGROK's detector must flag (its positive control)."""
    return [c for g in GAMMAS[scope.scale] for c in children(scope, SIZES[scope.scale][0], g)]


class BxUngrok(ClaimSpec):
    id = "BX-UNGROK"
    paper = "varma"
    section = "ungrokking (arXiv 2309.02390)"
    title = "A grokked net continued on a smaller training set un-groks below a critical size"
    setting = (
        "Nanda's 1-layer transformer on x+y mod p; grok on the full split, then continue from "
        "its final weights on random subsets D' (well below to D), at 2 weight decays"
    )
    statistic = (
        "share of continued runs with final test accuracy < 0.5: ≥ 80% at the smallest D', "
        "≤ 20% at D' = D; critical D' within one grid step across weight decays"
    )
    control = "continuing on the full D (no drop)"
    # 60 continued runs (5 ensembles of 12 × 2,000 steps): 66 s of CPU, 112 s wall on the
    # shared 2-core machine with an empty cache for them (2026-12-07); the 6 parents are
    # OG-NORM's and BX-FOURIER's runs, which the plan trains once for all three claims
    quick_seconds = 60
    # quick: SUPPORTED (2026-12-07, seeds 0-5): 6/6 un-grok at D' = 48 at both γ, 0/6 at D,
    # critical D' 192 at both γ (final test 0.12-0.90 there: half-way, "semi-grokking")
    expected: dict[str, Expectation] = {}

    def arms(self, scope: Scope) -> Arms:
        out: Arms = {PARENTS: parents(scope)}
        for g in GAMMAS[scope.scale]:
            for d in SIZES[scope.scale]:
                out[arm(d, g)] = children(scope, d, g)
        return out

    def _cells(self, scope: Scope, arms: Arms, runs: Runs) -> dict[tuple[int, float], list[float]]:
        grokked = [bool(h.test_acc[-1] >= TAU) for h in runs[PARENTS]]
        return {
            (d, g): [
                float(h.test_acc[-1]) for h, ok in zip(runs[arm(d, g)], grokked, strict=True) if ok
            ]
            for g in GAMMAS[scope.scale]
            for d in SIZES[scope.scale]
        }

    def judge(self, scope: Scope, arms: Arms, runs: Runs) -> Judgement:
        return ungrok_verdict(
            self._cells(scope, arms, runs),
            [float(h.test_acc[-1]) for h in runs[PARENTS]],
            sizes=SIZES[scope.scale],
            gammas=GAMMAS[scope.scale],
            low=LOW, most=MOST, few=FEW, tau=TAU,
        )  # fmt: skip

    def draw(self, scope, arms, runs, j, figure) -> None:
        sizes, cells = SIZES[scope.scale], self._cells(scope, arms, runs)
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
        for i, g in enumerate(GAMMAS[scope.scale]):
            med = [np.median(cells[(d, g)]) if cells[(d, g)] else np.nan for d in sizes]
            a.plot(sizes, med, "o-", color=f"C{i}", label=f"γ = {g:g} (median)")
            for d in sizes:
                ys = cells[(d, g)]
                a.scatter([d * (1 + 0.02 * (i - 0.5))] * len(ys), ys, s=8, color=f"C{i}", alpha=0.5)
        a.axhline(LOW, color="grey", lw=0.8, ls=":")
        a.set(xlabel="D' (training pairs after the continuation)", ylabel="final test accuracy",
              title="test accuracy after continuing on D'", ylim=(-0.03, 1.03))  # fmt: skip
        a.legend(fontsize=8)
        small = arm(sizes[0], GAMMAS[scope.scale][0])
        for h, c in zip(runs[small], arms[small], strict=True):
            b.plot(h.steps, h.test_acc, lw=1, label=f"seed {c.seed}")
        b.set(xlabel="steps after the parent's end", ylabel="test accuracy",
              title=f"{small}: test accuracy while continuing")  # fmt: skip
        b.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(figure("ungrok", "final test accuracy after continuing each grokked parent "
                           "on D' pairs (one line per γ; dots: runs), and the smallest D''s "
                           "curves"))  # fmt: skip
        plt.close(fig)

    def card(self, scope: Scope, arms: Arms, j: Judgement) -> Card:
        p = arms[PARENTS][0]
        return Card(
            statement="A network that has grokked x + y mod p, trained on from its final "
            "weights on a random subset D' of its training set, un-groks (final test accuracy "
            "< 0.5) in ≥ 80% of runs at the smallest D', in ≤ 20% at D' = D, and the D' where "
            "it stops un-grokking is the same (within one grid step) at both weight decays.",
            settings={
                "parents": f"{len(arms[PARENTS])} seeds of OG-NORM's γ = 1 arm "
                f"({type(p.model).__name__}, p = {p.task.p}, {p.steps:,} steps)",
                "D' grid": list(SIZES[scope.scale]),
                "γ while continuing": list(GAMMAS[scope.scale]),
                "steps continued": CHILD_STEPS[scope.scale],
                "optimizer state": "fresh (the parent's AdamW settings, step 1, zero moments)",
                "critical D' by γ": j.evidence.get("critical"),
            },
            deviations=[
                "the parents are OG-NORM's runs (Nanda's setup at the paper tier: p = 113, "
                "30%, full batch); Varma et al.'s own ungrokking settings (their grids, steps, "
                "weight decays, and whether the optimizer state was kept) are not quoted here: "
                "their paper text is not in this repository",
                "the parents grok at γ = 1 only; the weight decay is varied in the "
                "continuation, not in the parents' training",
                "the optimizer state is fresh, not carried (Continuation.optim_state)",
            ]
            + (
                [
                    "the quick tier's parents are OG-NORM's CPU stand-in (an embedding MLP at p = "
                    "31, 50%), not a transformer"
                ]
                if scope.quick
                else []
            ),
            control_summary="Positive control: the parents grokked (test ≥ 0.95). Control: the "
            "same continuation on all of D must not un-grok (≤ 20%).",
        )


SPECS = [BxUngrok()]
