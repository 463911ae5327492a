"""beyond_grokfast — issue 24: BX-GROKFAST, Grokfast's speed-up tested at its own weight decay.

Lee, Kang, Kim, Lee 2024, "Grokfast: Accelerated Grokking by Amplifying Slow Gradients"
(arXiv 2405.20233; code ironjr/grokfast @93b2248). Its README reports, one seed a row, the
steps to 95% validation accuracy with and without the EMA filter (`grokfast.py`
`gradfilter_ema`: `grads[n] = grads[n] * alpha + g * (1 - alpha)`, `g += grads[n] * lamb`):

- MNIST (`main_mnist.py`): baseline 44,022 steps, Grokfast 2,001 (×22.0), with
  `--alpha 0.8 --lamb 0.1 --weight_decay 2.0` against the default `--weight_decay 0.01`;
- algorithmic (`main.py`, x·y mod 97): baseline 39,890, Grokfast 910 (×43.8), with
  `--filter ema --alpha 0.98 --lamb 2.0 --weight_decay 0.005` against the default 0.

Each row changes the weight decay with the filter (200× for MNIST), so the README's factor
mixes the two. BX-GROKFAST asks whether the filter alone cuts t95 by ≥ 10×: against
Grokfast's own weight decay without the filter, and against that with lr × (1 + λ), the
factor by which the filter lengthens a steady gradient's step. The statistic is in
`grokcore.verdicts.speedup`; the settings in `grokcore.setups.grokfast_mnist` /
`grokfast_modular`.
"""

from __future__ import annotations

from grokcore import plotting, setups
from grokcore.config import RunConfig
from grokcore.outcome import Expectation
from grokcore.record import Verdict
from grokcore.spec import Arms, Card, ClaimSpec, NotRun, Runs, Scope, Stopping
from grokcore.stopping import STOP_WHY, StopRule
from grokcore.verdicts.judgement import Judgement

BOUND = 10.0  # the catalogue's "≥ 10×": the speed-up's CI above this
MOST = 0.8  # positive control: the Grokfast arm reaches τ in ≥ this share of seeds
# t95 reads test accuracy ≥ τ. The README's "95% val. acc." for the algorithmic task; for
# MNIST OG-MNIST's τ (0.85 at the paper tier: a 1k-image MLP does not reach 0.95, see
# `setups.MNIST_TAU_TEST`; 0.7 for the quick stand-in)
MODULAR_TAU = 0.95
PAPER_FACTOR = {"MNIST": 22.0, "x·y mod 97": 43.84}  # README tables: 44,022/2,001, 39,890/910
ARM_NAMES = {
    "readme": "README baseline",
    "grokfast": "Grokfast (EMA)",
    "same_decay": "Grokfast's γ, no filter",
    "lr_step": "Grokfast's γ, lr × (1+λ), no filter",
}


def _taus(scale: str) -> dict[str, float]:
    return {"MNIST": setups.MNIST_TAU_TEST[scale], "x·y mod 97": MODULAR_TAU}


def _tau_train(setup: str) -> float:
    """The training accuracy that counts as fit: OG-MNIST's 0.99 on MNIST, else τ."""
    return setups.mnist_taus("full")["tau_train"] if setup == "MNIST" else MODULAR_TAU


def _lamb(setup: str) -> float:
    spec = setups.GROKFAST_MNIST if setup == "MNIST" else setups.GROKFAST_MODULAR
    return spec.filter[1]


class BxGrokfast(ClaimSpec):
    id = "BX-GROKFAST"
    paper = "lee-2024"
    section = "Lee et al. 2024 (arXiv 2405.20233); ironjr/grokfast README, Reproduction"
    title = "Grokfast's EMA filter cuts the steps to generalize by ≥ 10× at its own weight decay"
    setting = (
        "MNIST: omnigrok MNIST (1k images, 784-200-200-10 ReLU, MSE, α = 8, AdamW lr 1e-3, "
        "batch 200), EMA α 0.8 λ 0.1 with γ 2.0 (README baseline γ 0.01); algorithmic: x·y "
        "mod 97 at 50%, grokfast's 2-layer decoder d 128, Adam β (0.9, 0.98) lr 1e-3, 10-step "
        "warm-up, batch 512, EMA α 0.98 λ 2 with L2 γ 0.005 (README baseline γ 0)"
    )
    statistic = (
        "per setup: median t95(Grokfast's γ, no filter) / median t95(Grokfast), bootstrap CI "
        "above 10, and the same against lr × (1+λ) without the filter; censored controls "
        "count at their budget (lower bounds); t95(README baseline) / t95(Grokfast) reported "
        "beside the README's ×22.0 / ×43.8"
    )
    control = (
        "Grokfast's γ without the filter; Grokfast's γ with lr × (1+λ) without the filter. "
        "Positive control: the Grokfast arm reaches τ"
    )
    gpu = True
    # 12 runs, 1 ensemble: 84 s of CPU (4.5 min wall on the shared 2-core CPU, 2026-12-07);
    # its 3 README-baseline runs are OG-MNIST's α = 8 runs, trained once for both
    quick_seconds = 84
    expected = {
        "quick": Expectation(
            Verdict.REFUTED,
            "on OG-MNIST's quick stand-in (seeds 0-2, τ = 0.7) the filter gains nothing at its "
            "own weight decay: median t95 2,543 with it and 2,543 without (ratio 1.00, CI "
            "[0.41, 2.45]), 3,300 with lr × 1.1 (1.30, [0.50, 2.45]). This REFUTED is weak "
            "evidence about Grokfast: even the README's own comparison (its baseline γ) gives "
            "×1.06 [0.71, 1.52] here, not ×22, since the stand-in's baseline reaches τ at ≈ 0.4 "
            "of its LU time (2,700 steps), while the γ-6 arms, filtered or not, never memorize "
            "(train and test accuracy rise together, figure) and take as long: there is no "
            "late generalization at Grokfast's γ to accelerate. The paper tier (full MNIST, "
            "1e5 steps; and the algorithmic setup) is the real test",
        ),
    }
    # t95 reads test accuracy only, so the rule's train threshold may be anything ≤ 1; it is
    # the tier's τ, which every run that reaches τ on test has reached on train as well
    stop = Stopping(
        StopRule(train=setups.MNIST_TAU_TEST["quick"], test=setups.MNIST_TAU_TEST["quick"]),
        STOP_WHY + "it reads each run's t95 (test ≥ τ) and whether it came in the budget",
    )

    def stopping(self, scope: Scope) -> Stopping:
        # the paper tier's rule at the larger of its τs: a stop after t95 at 0.95 is after
        # t95 at MNIST's 0.85 too, so neither setup's t95 moves
        if scope.quick:
            return self.stop
        rule = StopRule(train=MODULAR_TAU, test=MODULAR_TAU)
        return Stopping(rule, self.stop.why if self.stop else "")

    @staticmethod
    def n_seeds(scope: Scope) -> int:
        # quick: 3, so that the README-baseline arm is OG-MNIST's α = 8 arm (same configs)
        return 3 if scope.quick else 4

    def arms(self, scope: Scope) -> Arms:
        if scope.scale == "full" and not scope.data_dir:
            raise NotRun("full scale needs full MNIST: pass --data-dir (IDX files)")
        out: Arms = {}
        for arm in setups.GROKFAST_ARMS:
            out[f"MNIST: {ARM_NAMES[arm]}"] = [
                setups.grokfast_mnist(arm=arm, seed=s, scale=scope.scale, data_dir=scope.data_dir)
                for s in scope.seeds(self.n_seeds(scope))
            ]
        if scope.scale == "full":  # the algorithmic setup: a GPU's work (module docstring)
            for arm in setups.GROKFAST_ARMS:
                out[f"x·y mod 97: {ARM_NAMES[arm]}"] = [
                    setups.grokfast_modular(arm=arm, seed=s) for s in scope.seeds(4)
                ]
        return out

    def must_grok(self, scope: Scope, arms: Arms) -> dict[str, list[RunConfig]]:
        return {a: cs for a, cs in arms.items() if a.endswith(ARM_NAMES["grokfast"])}

    @staticmethod
    def _setups(arms: Arms) -> list[str]:
        return [s for s in ("MNIST", "x·y mod 97") if f"{s}: {ARM_NAMES['grokfast']}" in arms]

    def judge(self, scope: Scope, arms: Arms, runs: Runs) -> Judgement:
        from grokcore.verdicts import grokfast_setup, grokfast_speedup

        parts = {}
        for setup in self._setups(arms):
            r = {arm: runs[f"{setup}: {name}"] for arm, name in ARM_NAMES.items()}
            parts[setup] = grokfast_setup(
                r["readme"], r["grokfast"], r["same_decay"], r["lr_step"],
                tau=_taus(scope.scale)[setup], paper_factor=PAPER_FACTOR[setup],
                lamb=_lamb(setup), bound=BOUND, most=MOST, tau_train=_tau_train(setup),
            )  # fmt: skip
        return grokfast_speedup(parts)

    def draw(self, scope, arms, runs, j, figure) -> None:
        for setup in self._setups(arms):
            tau = _taus(scope.scale)[setup]
            name = "mnist" if setup == "MNIST" else "modular"
            plotting.plot_curves(
                {n: runs[f"{setup}: {n}"] for n in ARM_NAMES.values()},
                figure(name, f"{setup}: train (dashed) and validation (solid) accuracy against "
                       "step (log), median and spread over seeds, per arm; t95 reads the first "
                       f"step with validation accuracy ≥ {tau:g}"),
                title=f"Grokfast vs its own weight decay, {setup} (Lee et al. 2024)",
            )  # fmt: skip

    def card(self, scope: Scope, arms: Arms, j: Judgement) -> Card:
        taus = _taus(scope.scale)
        deviations = [
            "the README's MNIST command (`python main_mnist.py --label test --alpha 0.8 --lamb "
            "0.1 --weight_decay 2.0`) has no `--filter ema`, and main_mnist.py's default filter "
            "is 'none': as printed it runs γ = 2.0 without the filter, which is our same-decay "
            "control; the Grokfast arm runs the EMA filter its table reports",
            f"MNIST t95 reads validation accuracy ≥ {taus['MNIST']:g}, not 0.95 (OG-MNIST's "
            "τ: a 1k-image MLP does not reach 0.95 on MNIST); the algorithmic setup reads 0.95",
            "MNIST trains on a seeded random 1k subset (omnigrok's), grokfast on the first 1k "
            "images (`Subset(train, range(1000))`)",
            f"{self.n_seeds(scope)} seeds an arm; the README reports one",
        ]
        if scope.quick:
            deviations += [
                "quick tier: the MNIST setup only, on OG-MNIST's CPU stand-in (settings "
                "table: 200 images pooled to 14×14, lr 1e-2, every γ × 3, 7,500 steps); the "
                "algorithmic setup (grokfast's d-128 decoder, a 3e5-step budget, 0.24 s a step "
                "on this CPU, so ≈ 4 min for one Grokfast run's 910 steps and ≈ 2.7 h for the "
                "README baseline's 39,890) runs at the paper tier only",
            ]
        return Card(
            statement="At Grokfast's own weight decay, the EMA gradient filter cuts the steps "
            f"to reach the validation threshold by more than {BOUND:g}× in every setup, and "
            "still does against a run whose learning rate is raised by the factor (1 + λ) "
            "that the filter adds to a steady gradient.",
            settings={"seeds per arm": len(next(iter(arms.values()))), "speed-up >": BOUND,
                      **{f"τ ({s})": taus[s] for s in self._setups(arms)},
                      "MNIST filter (α, λ)": setups.GROKFAST_MNIST.filter,
                      "x·y filter (α, λ)": setups.GROKFAST_MODULAR.filter},
            deviations=deviations,
            control_summary="Controls: Grokfast's γ without the filter, and with lr × (1+λ) "
            "without the filter; both must be beaten by > 10×. Positive control: the Grokfast "
            f"arm reaches τ in ≥ {MOST:.0%} of seeds. The README's own comparison (its "
            "baseline γ) is reported beside its factor, not judged.",
        )  # fmt: skip


SPECS = [BxGrokfast()]
