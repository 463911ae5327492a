"""Beyond the curves: claims read from a net's weights (issue 24) — Gromov 2023's analytic
modular-addition net (BX-GROMOV) and Nanda et al. 2023's Fourier-sparse embedding
(BX-FOURIER). Both read final weights (`keep_params`); the statistics are in
`grokcore.gromov` and `grokcore.fourier`."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from grokcore import setups
from grokcore.fourier import (
    fourier_verdict,
    frequency_energy,
    key_frequencies,
    token_embedding,
)
from grokcore.gromov import (
    analytic_sweep,
    gromov_verdict,
    init_input_weights,
    mean_ipr,
    onehot_input_weights,
)
from grokcore.history import History
from grokcore.outcome import Expectation
from grokcore.record import Verdict
from grokcore.spec import Arms, Card, ClaimSpec, Runs, Scope
from grokcore.verdicts.judgement import Judgement

TAU = 0.95  # final test accuracy that counts as grokked


def _grokked(h: History) -> bool:
    return bool(h.test_acc[-1] >= TAU)


# -- BX-GROMOV ---------------------------------------------------------------------------
GROMOV_P = 97  # Gromov 2023 §2 / the catalogue's p
# widths of the analytic sweep; the quick tier steps by 16 up to 320 (pilot: N* median 160)
GROMOV_WIDTHS = {"quick": list(range(16, 321, 16)), "full": list(range(16, 513, 16))}
GROMOV_SEEDS = {"quick": 10, "full": 20}  # construction seeds (numpy, no training)
GROMOV_TRAINED_SEEDS = {"quick": 3, "full": 10}


def _gromov_trained(scope: Scope) -> list:
    """x + y mod 97 at 30/70 on the li-sakib quick stand-in, Gromov's own model
    (`OneHotMLP(256, quadratic)`, no biases: d-doshi/Grokking `fcn`). The same setup at both
    tiers: li-sakib's paper tier is a transformer, which has no one-hot first layer."""
    seeds = scope.seeds(GROMOV_TRAINED_SEEDS[scope.scale])
    return [
        setups.li_sakib(seed=s, op="x+y", scale="quick").replace(keep_params=True) for s in seeds
    ]


class BxGromov(ClaimSpec):
    id = "BX-GROMOV"
    paper = "gromov"
    section = "§2, Fig 3"
    title = "A Fourier-built x² MLP solves x + y mod p once wide; grokked nets are Fourier-local"
    setting = "one-hot(x)‖one-hot(y) → N, x², → p, no biases; p = 97"
    statistic = "analytic net exact above a width threshold; trained IPR / init IPR CI above 3"
    control = "frequencies shuffled between neurons; weights at init"
    # 5.7 s judging (the analytic sweep: 10 seeds × 20 widths) + 3 runs of the li-sakib quick
    # stand-in (≈ 12 s a run in its pilot; cached from an earlier run when measured, 2026-12-07)
    quick_seconds = 45
    # quick and full: SUPPORTED. The analytic part is exact arithmetic on numpy (quick:
    # N* median 144, CI [128, 160], 10 seeds); the trained arm is the same config at both
    # tiers, and its 3 quick runs all grokked with IPR 0.48-0.52 against 0.04 at init.
    expected: dict[str, Expectation] = {}

    def arms(self, scope: Scope) -> Arms:
        return {"trained x+y": _gromov_trained(scope)}

    def judge(self, scope: Scope, arms: Arms, runs: Runs) -> Judgement:
        widths = GROMOV_WIDTHS[scope.scale]
        seeds = scope.seeds(GROMOV_SEEDS[scope.scale])
        thresholds, shuffled = analytic_sweep(GROMOV_P, widths, seeds)
        hs, cfgs = runs["trained x+y"], arms["trained x+y"]
        trained = [mean_ipr(onehot_input_weights(h.unflatten(), GROMOV_P), GROMOV_P) for h in hs]
        init = [mean_ipr(init_input_weights(c.model, GROMOV_P, c.seed), GROMOV_P) for c in cfgs]
        return gromov_verdict(
            thresholds, shuffled, max(widths), trained, init, [_grokked(h) for h in hs]
        )

    def draw(self, scope, arms, runs, j, figure) -> None:
        ev = j.evidence
        fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
        found = [t for t in ev["thresholds"] if t is not None]
        a.hist(found, bins=GROMOV_WIDTHS[scope.scale], color="C0")
        a.set(
            xlabel="width threshold N*",
            ylabel="construction seeds",
            title=f"analytic net, p = {GROMOV_P}",
        )
        b.boxplot([ev["init_ipr"], ev["trained_ipr"]])
        b.set_xticks([1, 2], ["init (control)", "trained"])
        b.set(ylabel="mean per-neuron Fourier IPR", title="trained one-hot x² MLP")
        fig.tight_layout()
        fig.savefig(
            figure("gromov", "width thresholds of the analytic net; Fourier IPR of input weights")
        )
        plt.close(fig)

    def card(self, scope: Scope, arms: Arms, j: Judgement) -> Card:
        return Card(
            statement="Gromov's Fourier-built 2-layer quadratic MLP is exact on all p² pairs of "
            "x + y mod 97 once its width passes a threshold, with no training; a trained "
            "quadratic MLP that groks ends with Fourier-localized input weights (IPR far above "
            "init).",
            settings={
                "widths": f"16-{max(GROMOV_WIDTHS[scope.scale])} step 16",
                "construction seeds": GROMOV_SEEDS[scope.scale],
                "trained seeds": len(arms["trained x+y"]),
            },
            deviations=[
                "analytic weights follow the paper's §2 formulas as stated, not code: "
                "d-doshi/Grokking ships the model (`fcn`) but not the construction",
                "the overall scale (2/N)^(1/3) is left out: it does not change the argmax",
                "trained arm: the li-sakib quick stand-in's training (AdamW lr 3e-3, γ = 1, 30/70, "
                "2,500 steps) at both tiers, not Gromov's own training settings (unverified)",
                "at-init control: an init drawn from the run's seed by build_model, the same "
                "distribution as the run's init",
            ],
            control_summary="Frequencies shuffled between neurons must stay at chance; "
            "trained IPR must exceed 3× the at-init IPR.",
        )


# -- BX-FOURIER --------------------------------------------------------------------------
FOURIER_SEEDS = 6  # OG-NORM's seeds: the plan trains its runs once for both claims


def _nanda(scope: Scope, weight_decay: float) -> list:
    """OG-NORM's arms (`setups.modular`, Nanda's setup at the paper tier) with their final
    weights kept: `keep_params` is outside the key, so both claims read one cache entry."""
    return [
        setups.modular(seed=s, weight_decay=weight_decay, scale=scope.scale).replace(
            keep_params=True
        )
        for s in scope.seeds(FOURIER_SEEDS)
    ]


class BxFourier(ClaimSpec):
    id = "BX-FOURIER"
    paper = "nanda"
    section = "§4.1"
    title = "After grokking, a handful of key frequencies carry the token embedding"
    setting = "Nanda setup (p = 113, frac 0.3, γ = 1, full batch), final weights"
    statistic = (
        "≤ 8 frequencies hold 90% of W_E's non-constant Fourier energy in ≥ 80% of grokked seeds"
    )
    control = "γ = 0 runs that only memorize need ≥ 3× as many"
    # 0.2 s judging; its 12 runs are OG-NORM's (the plan trains them once): 113 s for both
    # arms in a private cache on the loaded 2-core machine (2026-12-07)
    quick_seconds = 1
    expected = {
        # measured 2026-12-07: grokked runs hold 90% in 3-5 keys (6 of 6), γ = 0 runs in 13 of
        # 15 (all 6), ratio 3.25, CI [2.89, 4.33]
        "quick": Expectation(
            Verdict.INCONCLUSIVE,
            "the quick stand-in is p = 31, with only 15 non-constant frequencies: a memorizing "
            "W_E can need at most 15 keys, so the 3× ratio over the grokked runs' median of 4 "
            "is capped at 3.75 and its bootstrap CI straddles 3; the sparsity check itself holds",
        ),
        # full: SUPPORTED expected (Nanda §4.1 at p = 113 has 5 keys of 56, a 3× bound far
        # below the ceiling); not run here (Nanda's transformer, 40,000 steps, a GPU's work)
    }

    def arms(self, scope: Scope) -> Arms:
        return {"γ = 1": _nanda(scope, 1.0), "γ = 0 (control)": _nanda(scope, 0.0)}

    def judge(self, scope: Scope, arms: Arms, runs: Runs) -> Judgement:
        p = arms["γ = 1"][0].task.p

        def n_keys(h: History) -> int:
            return len(key_frequencies(token_embedding(h.unflatten()), p))

        free, ctrl = runs["γ = 1"], runs["γ = 0 (control)"]
        j = fourier_verdict(
            [n_keys(h) for h in free], [_grokked(h) for h in free], [n_keys(h) for h in ctrl]
        )
        j.evidence = {
            "keys": [key_frequencies(token_embedding(h.unflatten()), p) for h in free],
            "p": p,
        }
        return j

    def draw(self, scope, arms, runs, j, figure) -> None:
        p = arms["γ = 1"][0].task.p
        fig, ax = plt.subplots(figsize=(7, 3.5))
        for name, ls in (("γ = 1", "-"), ("γ = 0 (control)", "--")):
            for i, h in enumerate(runs[name]):
                norm = np.sqrt(frequency_energy(token_embedding(h.unflatten()), p))
                ax.plot(
                    np.arange(1, len(norm) + 1),
                    norm,
                    ls,
                    color=f"C{i}",
                    lw=1,
                    label=f"{name} seed {arms[name][i].seed}" if i == 0 else None,
                )
        ax.set(
            xlabel="frequency k", ylabel="‖W_E‖ at frequency k", title=f"W_E per frequency, p = {p}"
        )
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(figure("fourier", "norm of W_E per Fourier frequency (constant left out)"))
        plt.close(fig)

    def card(self, scope: Scope, arms: Arms, j: Judgement) -> Card:
        return Card(
            statement="In a grokked run of Nanda's setup, a handful of frequencies hold 90% of "
            "the token embedding's non-constant Fourier energy (≤ 8 in ≥ 80% of grokked seeds); "
            "memorizing γ = 0 runs need ≥ 3× as many.",
            settings={"seeds per arm": len(arms["γ = 1"]), "key sets": j.evidence.get("keys")},
            deviations=[
                "energy (squared norm) per frequency, cos and sin together; the paper plots "
                "the norm per component",
                "the quick tier is OG-NORM's stand-in (`setups.modular` quick: an embedding MLP "
                "at p = 31, 15 frequencies), so ≤ 8 keys is a weak bound there",
            ],
            control_summary="γ = 0 runs' key counts over the grokked runs' must exceed 3.",
        )


SPECS = [BxGromov(), BxFourier()]
