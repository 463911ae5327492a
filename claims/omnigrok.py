"""omnigrok — Liu, Michaud & Tegmark, "Omnigrok: Grokking Beyond Algorithmic Data" (ICLR 2023)."""

from __future__ import annotations

import numpy as np

from grokcore import plotting, setups, stats
from grokcore.outcome import Expectation
from grokcore.record import Verdict
from grokcore.spec import Arms, Card, ClaimSpec, NotRun, Runs, Scope, Stopping
from grokcore.stopping import STOP_WHY, StopRule
from grokcore.verdicts import (
    condition_table,
    critical_fraction,
    data_speedup,
    delay_contrast,
    delay_ratio,
    delayed_accuracy,
    init_decay_grid,
    inverse_scaling,
    late_loss_drop_runs,
    lu_curves_runs,
    merge,
    norm_rise_fall,
    size_trend_runs,
    timings,
)
from grokcore.verdicts.judgement import Judgement
from grokcore.verdicts.sizes import RQI_GENERALIZED

PAPER = "omnigrok"
CURVES = "train (dashed) / test (solid) accuracy, median and spread over seeds"

# The regions every omnigrok claim shares.
TAU = 0.95  # accuracy that counts as fit (train) and generalized (test)
NEED = 0.5  # positive control: at least this share of the arm that must grok does


# -- §2-3: the LU mechanism on teacher-student ------------------------------------------------

LU_WINDOW = (0.5, 2.0)  # the U's argmin α must lie here ("near α ≈ 1")
LU_FLAT_TOL = 0.1  # the L is flat if its train loss rises ≤ this × the U's minimum test loss


def _lu_alphas(scope: Scope) -> list[float]:
    # The paper's grid is 10^linspace(−1, 1, 11) (REFERENCES T3). The quick grid keeps a
    # point inside [0.5, 2] on each side of 1, or the argmin's CI could never lie inside it.
    return np.round(np.logspace(-1, 1, 11 if scope.scale == "full" else 9), 4).tolist()


class OgLu(ClaimSpec):
    id = "OG-LU"
    paper = PAPER
    section = "§3, Fig 2a"
    paper_value = "≈ 1 (Fig 2a)"
    title = "With the norm fixed, train loss is an L in α and test loss a U with its minimum near 1"
    setting = (
        "teacher-student 5-100-100-5 tanh MLP, 100 train / 100 test N(0,I) inputs, teacher at "
        "default init, Adam lr 3e-4, norm rescaled to α·w0 after every step, α ∈ 10^[-1,1]"
    )
    statistic = (
        "Spearman ρ(train loss, α) < 0 over α ≥ 1 region flat; test loss argmin in "
        "α ∈ [0.5, 2]; test loss at α=10 > at argmin by a CI-separated margin"
    )
    control = "large N (e.g. 1000 train) flattens the U"
    quick_seconds = 108
    # The one verdict rule (grokcore.record.ruling): a failed control leaves no SUPPORTED.
    expected = {
        "quick": Expectation(
            Verdict.INCONCLUSIVE,
            "the L and the U hold, but with two N = 1000 seeds the control cannot show that a "
            "large training set flattens the U (ratio of rise ratios 1.21, CI [0.96, 2.32] "
            "straddles 1 at b862f72), and a claim whose control does not hold is not SUPPORTED",
        ),
        "full": Expectation(
            Verdict.INCONCLUSIVE,
            "seen on an H200 (2026-12-04): the L and the U hold, but N = 1000 does not flatten "
            "the U, it steepens it (ratio of rise ratios 0.73, CI [0.69, 0.86]); under the one "
            "verdict rule the failed control makes the claim INCONCLUSIVE",
        ),
    }

    def arms(self, scope: Scope) -> Arms:
        alphas = _lu_alphas(scope)
        seeds = scope.seeds(3)
        return {
            "N = 100": [
                setups.teacher_student_landscape(init_scale=a, seed=s, scale=scope.scale)
                for a in alphas
                for s in seeds
            ],
            # control (Fig 3c): a large training set flattens the U
            "N = 1000": [
                setups.teacher_student_landscape(
                    init_scale=a, seed=s, scale=scope.scale, n_train=1000
                )
                for a in alphas
                for s in seeds[:2]
            ],
        }

    def judge(self, scope: Scope, arms: Arms, runs: Runs) -> Judgement:
        return lu_curves_runs(
            arms["N = 100"],
            runs["N = 100"],
            arms["N = 1000"],
            runs["N = 1000"],
            reduce="last",
            window=LU_WINDOW,
            flat_tol=LU_FLAT_TOL,
            fit_tau=TAU,
        )

    def draw(self, scope, arms, runs, j, figure) -> None:
        alphas = j.evidence["alphas"]
        plotting.plot_lu(
            alphas,
            j.evidence["train"],
            j.evidence["test"],
            figure("lu", "reduced (last-step) train and test loss against α with the norm "
                   "held at α·w0: the L and the U; grey: N = 1000, the control"),
            title="teacher-student, constrained norm",
            argmin=j.fit.value if j.fit else None,
            control=(alphas, *j.evidence["control"]),
            labels=("N = 100", "N = 1000"),
        )  # fmt: skip

    def card(self, scope: Scope, arms: Arms, j: Judgement) -> Card:
        return Card(
            statement="With the weight norm held at α·w0 by rescaling after every step, the "
            "reduced training loss does not rise with α (an L) while the reduced test loss is a "
            "U with its minimum near α ≈ 1; a large training set flattens the U.",
            settings={"α grid": _lu_alphas(scope), "seeds": len(scope.seeds(3))},
            deviations=["the global norm is projected after each step on the true norm; the "
                        "notebook rescales before backward() and counts ‖l1.weight‖² twice "
                        "(REFERENCES T3, no expected effect on the shapes)"],
            control_summary="N = 1000 runs must show a flatter U than N = 100.",
        )  # fmt: skip


TS_GRID = [(a, g) for a in (0.5, 2.0) for g in (0.0, 0.03, 1.0)]  # OG-TS: (α, γ)
TS_LARGE, TS_SMALL = 2.0, 0.5  # the α that groks and the α that generalizes fast
TS_SLOW, TS_FAST = 0.03, 1.0  # the γ that groks (slowly) and the γ that generalizes fast
TS_MAX_NO_DECAY_SHARE = 0.2  # α = 2, γ = 0 "never" generalizes: at most this share does
TS_SMALL_BOUND = 0.25  # α = 0.5 generalizes fast: its delay below this × α = 2, γ = 0.03's
INV_GAMMAS = np.geomspace(0.03, 1.0, 5).round(4).tolist()  # OG-INV: γ at α = 2
INV_EVAL_POINTS = 400
INV_MAX_CENSORED = 1 / 3  # the largest share of censored runs the slope is fitted on


def _ts(scope: Scope, alpha: float, gamma: float, seed: int):
    """A teacher-student run of OG-TS or OG-INV. Both keep 400 log-spaced evaluations:
    consecutive ones 2.6-2.9% apart, so t_test is resolved to within 3% at every γ (120
    points left ≈ 10% steps, a bias in OG-INV's slope at its small-t end), and OG-TS's
    α = 2 runs at γ = 0, 0.03 and 1 are OG-INV's own configs: the session's plan trains the
    union of the two claims' runs (27, not 18 + 18) as one batched ensemble."""
    return setups.teacher_student(
        init_scale=alpha, weight_decay=gamma, seed=seed, scale=scope.scale
    ).replace(eval_points=INV_EVAL_POINTS)


def _ts_grid(scope: Scope) -> list:
    """OG-TS's runs: the (α, γ) grid, three seeds each."""
    return [_ts(scope, a, g, s) for a, g in TS_GRID for s in scope.seeds(3)]


def _inv_sweeps(scope: Scope) -> tuple[list, list]:
    """OG-INV's teacher-student runs: the γ sweep at α = 2, and its γ = 0 control."""
    seeds = scope.seeds(3)
    return [_ts(scope, 2.0, g, s) for g in INV_GAMMAS for s in seeds], [
        _ts(scope, 2.0, 0.0, s) for s in seeds
    ]


class OgTs(ClaimSpec):
    id = "OG-TS"
    paper = PAPER
    section = "§3, Fig 2b"
    title = "α = 2 groks under small γ, generalizes fast under large γ, never under γ = 0"
    setting = (
        "teacher-student as above, AdamW lr 3e-4, γ ∈ {0, 0.03, 1}, 1e5 steps, a sample is "
        "correct if its error < 0.01 (the public notebook uses 0.001: report both)"
    )
    statistic = (
        "per condition: share of seeds generalizing, median D; ordering "
        "D(α=2,γ=0.03) > D(α=2,γ=1) and D(α=0.5,·) small"
    )
    control = "α=0.5 rows are the control"
    quick_seconds = 5  # its α = 2 runs are OG-INV's: the plan trains them together
    expected = {
        "full": Expectation(
            Verdict.INCONCLUSIVE,
            "as at the quick tier (seen on an H200, 2026-12-04): without weight decay one α = 2 "
            "student of three still generalizes late through implicit regularization, so the "
            "share cannot be bounded below 0.2 with three seeds; the delay-ratio checks hold",
        ),
        "quick": Expectation(
            Verdict.INCONCLUSIVE,
            "without weight decay an α = 2 student can still generalize late through implicit "
            "regularization (the pilot saw it too), and with three seeds a share that is not "
            "zero cannot be bounded below 0.2; the other checks of the grid hold",
        ),
    }

    stop = Stopping(
        StopRule(),
        STOP_WHY
        + (
            "it reads each run's t_test (test ≥ 0.95) per (α, γ) cell and whether "
            "it came in the budget"
        ),
    )

    def arms(self, scope: Scope) -> Arms:
        return {"grid": _ts_grid(scope)}

    def must_grok(self, scope: Scope, arms: Arms) -> Arms:
        return {"α = 2, γ = 0.03": [c for c in arms["grid"] if c.init_scale == 2 and
                                    c.optim.weight_decay == 0.03]}  # fmt: skip

    def judge(self, scope: Scope, arms: Arms, runs: Runs) -> Judgement:
        return init_decay_grid(
            [c.init_scale for c in arms["grid"]],
            [c.optim.weight_decay for c in arms["grid"]],
            runs["grid"],
            large=TS_LARGE,
            small=TS_SMALL,
            slow=TS_SLOW,
            fast=TS_FAST,
            tau=TAU,
            max_no_decay_share=TS_MAX_NO_DECAY_SHARE,
            small_bound=TS_SMALL_BOUND,
            need=NEED,
        )

    def draw(self, scope, arms, runs, j, figure) -> None:
        alphas = [c.init_scale for c in arms["grid"]]
        gammas = [c.optim.weight_decay for c in arms["grid"]]
        plotting.plot_condition_grid(
            condition_table(alphas, gammas, runs["grid"], tau=TAU),
            figure("grid", "share of seeds generalizing (test error < 0.01 on 95% of "
                   "samples) and median delay D per (α, γ); hatched: censored runs"),
            title="teacher-student: init scale × weight decay",
        )  # fmt: skip

    def card(self, scope: Scope, arms: Arms, j: Judgement) -> Card:
        return Card(
            statement="Large initialization (α = 2) groks under small weight decay (γ = 0.03), "
            "generalizes quickly under large (γ = 1) and not at all without (γ = 0); small "
            "initialization (α = 0.5) generalizes quickly whatever γ.",
            settings={"grid (α, γ)": TS_GRID, "seeds": len(scope.seeds(3)), "threshold": 0.01},
            deviations=["a sample is correct when its squared error is below the paper's "
                        "0.01; the public notebook uses 0.001"],
            control_summary="The α = 0.5 rows are the control: they must not grok.",
        )  # fmt: skip


class OgInv(ClaimSpec):
    id = "OG-INV"
    paper = PAPER
    section = "§2, §3 Fig 2c, App C"
    paper_value = "−1 (t ≈ ln(w0/wc)/γ)"
    title = "Time to generalize scales as 1/γ; time to fit does not depend on γ"
    setting = (
        "teacher-student α=2, γ ∈ [0.03, 1] log-spaced; App C: 1-layer transformer p=113 "
        "frac 0.3 and MNIST α=9 γ∈[0.1,1]"
    )
    statistic = (
        "OLS of log t_test on log γ over ≥5 γ × seeds: 95% CI of slope contains −1 and "
        "excludes 0; slope of log t_train has CI containing 0 (or |slope| < 0.2). Censored "
        "runs reported, not dropped."
    )
    control = "γ=0 runs never generalize in budget"
    quick_seconds = 180
    expected = {
        "quick": Expectation(
            Verdict.REFUTED,
            "at the quick tier's lr every γ shares the same short fit, which is a large part of "
            "t_test at large γ and flattens the log-log slope above −1; the quick tier shortens "
            "the paper's lr·γ time scale, so only the paper tier can test the exponent",
        ),
    }

    stop = Stopping(
        StopRule(),
        STOP_WHY + "it reads t_train and t_test at 0.95 per γ (and which runs were censored)",
    )

    def arms(self, scope: Scope) -> Arms:
        sweep, control = _inv_sweeps(scope)
        arms = {"γ sweep": sweep, "γ = 0 (control)": control}
        if scope.scale == "full":
            # App C (a): Nanda's 1-layer transformer, p=113, frac 0.3; the paper gives no γ
            # grid, so 1.5 decades around Nanda's γ = 1, with a budget for the slowest (γ = 0.2).
            seeds = scope.seeds(3)
            t_gammas = np.geomspace(0.2, 6.3, 5).round(3).tolist()
            arms["transformer γ sweep"] = [
                setups.modular(seed=s, weight_decay=g, scale="full", steps=80_000)
                for g in t_gammas
                for s in seeds
            ]
            arms["transformer γ = 0"] = [
                setups.modular(seed=s, weight_decay=0.0, scale="full", steps=80_000) for s in seeds
            ]
        return arms

    def must_grok(self, scope: Scope, arms: Arms) -> Arms:
        return {"γ sweep": arms["γ sweep"]}

    def judge(self, scope: Scope, arms: Arms, runs: Runs) -> Judgement:
        j = inverse_scaling(
            [c.optim.weight_decay for c in arms["γ sweep"]],
            runs["γ sweep"],
            runs["γ = 0 (control)"],
            tau=TAU,
            max_censored=INV_MAX_CENSORED,
        )
        if "transformer γ sweep" not in arms:
            return j
        j_t = inverse_scaling(
            [c.optim.weight_decay for c in arms["transformer γ sweep"]],
            runs["transformer γ sweep"],
            runs["transformer γ = 0"],
            tau=TAU,
            max_censored=INV_MAX_CENSORED,
        )
        merged = merge({"teacher-student": j, "transformer": j_t})
        merged.evidence["teacher-student"] = j  # the part the figures draw
        return merged

    def draw(self, scope, arms, runs, j, figure) -> None:
        ts = j.evidence.get("teacher-student", j)  # the teacher-student fit judged
        fit = ts.fit
        plotting.plot_loglog_fit(
            [r["gamma"] for r in ts.runs],
            [r["t_test"] for r in ts.runs],
            [r["censored"] for r in ts.runs],
            fit.value if fit else float("nan"),
            None,
            fit.ci if fit else None,
            figure("loglog", "log-log fit of t_test on γ with the slope's 95% CI band; "
                   "dotted: the predicted slope −1; hollow: censored runs"),
            "weight decay γ",
            "t_test (steps to 95% test acc)",
            title="OG-INV: t_test vs γ (α = 2)",
        )  # fmt: skip
        sweep = arms["γ sweep"]
        by_gamma = {
            f"γ={g}": [h for h, c in zip(runs["γ sweep"], sweep, strict=True)
                       if c.optim.weight_decay == g]
            for g in INV_GAMMAS
        }  # fmt: skip
        plotting.plot_curves(
            by_gamma | {"γ=0 (control)": runs["γ = 0 (control)"]},
            figure("curves", CURVES),
            title="teacher-student, α = 2",
        )

    def card(self, scope: Scope, arms: Arms, j: Judgement) -> Card:
        return Card(
            statement="With large initialization (α = 2), the time to reach 95% test accuracy "
            "scales inversely with the weight decay γ, while the time to reach 95% train "
            "accuracy is independent of γ (omnigrok's LU mechanism: t ≈ ln(w0/wc)/γ).",
            settings={"gammas": INV_GAMMAS, "seeds": len(scope.seeds(3)), "tau": TAU},
            control_summary="γ = 0 runs must never generalize in budget.",
        )


# -- §4: MNIST ------------------------------------------------------------------------------

# The paper's 1e5 steps are below the LU time ln(8)/(lr·γ) = 207,944 of the α = 8 arm that
# must grok: the paper tier trains 2.1e5 steps (the quick tier's stand-in, `setups.mnist`,
# has an LU time of 6,931 within its 7,500).
MNIST_FULL_STEPS = 210_000
MNIST_DELAY_BOUND = 10.0  # D(α = 8) ≫ D(α = 1): the ratio's CI above this


def _mnist_stopping(scope: Scope, where: str) -> Stopping:
    """The MNIST claims' rule: at the tier's fit and generalization thresholds."""
    taus = setups.mnist_taus(scope.scale)
    rule = StopRule(train=taus["tau_train"], test=taus["tau_test"])
    why = f"it reads t_train (train ≥ 0.99) and t_test (test ≥ the tier's MNIST τ) {where}"
    return Stopping(rule, STOP_WHY + why)


MNIST_FIT_TAU = 0.99  # train accuracy at which the test accuracy at the fit is read
MNIST_MIN_GAP = 0.2  # α = 8's test accuracy at the fit is ≥ this below its final value
MNIST_MIN_SIZES = 2  # OG-DATA: sizes with generalizing runs needed for the trend
CE_BOUND = 0.25  # D_CE / D_MSE CI below this
MIN_REFERENCE_DELAY = 1.0  # the reference arm groks: median D > this × median t_train


def _mnist_deviations(scope: Scope) -> list[str]:
    taus = setups.mnist_taus(scope.scale)
    return [
        f"t_test uses test accuracy ≥ {taus['tau_test']:g} (a 1k-image MLP does not reach 0.95 "
        f"on MNIST); t_train uses train accuracy ≥ {taus['tau_train']:g} (omnigrok Fig 3d)",
        *setups.mnist_deviations(scope.scale),
    ]


def _mnist(scope: Scope, init_scale: float, loss: str, seed: int, n_train: int = 1000):
    if scope.scale == "full" and not scope.data_dir:
        raise NotRun("full scale needs full MNIST: pass --data-dir (IDX files)")
    return setups.mnist(
        init_scale=init_scale,
        loss=loss,  # type: ignore[arg-type]
        seed=seed,
        scale=scope.scale,
        data_dir=scope.data_dir,
        n_train=n_train,
        steps=MNIST_FULL_STEPS if scope.scale == "full" else None,
    )


class OgMnist(ClaimSpec):
    id = "OG-MNIST"
    paper = PAPER
    section = "§4, Fig 3d"
    title = "MNIST with 1k images and α = 8 groks under MSE; standard init does not"
    setting = (
        "MLP 784-200-200-10 ReLU, AdamW lr 1e-3 (public notebook γ=0.01), batch 200, MSE on "
        "one-hot, 1e5 steps"
    )
    statistic = (
        "D(α=8) ≫ D(α=1); test acc at the step train acc first hits 99% is far below final "
        "test acc for α=8 only"
    )
    control = "α=1"
    quick_seconds = 28

    def arms(self, scope: Scope) -> Arms:
        seeds = scope.seeds(3)
        return {
            "α = 8": [_mnist(scope, 8.0, "mse", s) for s in seeds],
            "α = 1": [_mnist(scope, 1.0, "mse", s) for s in seeds],
        }

    def must_grok(self, scope: Scope, arms: Arms) -> Arms:
        return {"α = 8 (must grok)": arms["α = 8"]}

    def judge(self, scope: Scope, arms: Arms, runs: Runs) -> Judgement:
        return delay_contrast(
            runs["α = 8"],
            runs["α = 1"],
            bound=MNIST_DELAY_BOUND,
            names=("α=8", "α=1"),
            fit_tau=MNIST_FIT_TAU,
            min_gap=MNIST_MIN_GAP,
            need=NEED,
            **setups.mnist_taus(scope.scale),
        )

    def draw(self, scope, arms, runs, j, figure) -> None:
        plotting.plot_curves(runs, figure("curves", CURVES), title="MNIST 1k, MSE")

    def card(self, scope: Scope, arms: Arms, j: Judgement) -> Card:
        return Card(
            statement="On MNIST with 1,000 training images and MSE loss, α = 8 fits the "
            "training set early and reaches its test accuracy much later; α = 1 shows no such "
            "delay.",
            settings={"seeds": len(scope.seeds(3))},
            deviations=_mnist_deviations(scope),
            control_summary="α = 1 is the control: no delay.",
        )


class OgData(ClaimSpec):
    id = "OG-DATA"
    paper = PAPER
    section = "§4, Fig 3e"
    title = "More training data makes MNIST generalize sooner"
    setting = "as OG-MNIST, N ∈ {≈200..≥4000}"
    statistic = "Spearman ρ(N, t_test) < 0 with CI excluding 0"
    control = "—"
    quick_seconds = 21

    def stopping(self, scope: Scope) -> Stopping:
        return _mnist_stopping(scope, "per data size")

    def arms(self, scope: Scope) -> Arms:
        seeds = scope.seeds(2)
        # in the paper's units: the quick stand-in trains on a fifth of each (`setups.mnist`)
        sizes = [200, 500, 1000, 2000, 4000] if scope.scale == "full" else [500, 1000, 2000, 4000]
        return {"N sweep": [_mnist(scope, 8.0, "mse", s, n) for n in sizes for s in seeds]}

    def must_grok(self, scope: Scope, arms: Arms) -> Arms:
        return {"α = 8 (must grok)": arms["N sweep"]}

    def judge(self, scope: Scope, arms: Arms, runs: Runs) -> Judgement:
        taus = setups.mnist_taus(scope.scale)
        return data_speedup(
            [c.task.n_train for c in arms["N sweep"]],
            runs["N sweep"],
            tau=taus["tau_test"],
            tau_train=taus["tau_train"],
            need=NEED,
            min_sizes=MNIST_MIN_SIZES,
        )

    def draw(self, scope, arms, runs, j, figure) -> None:
        cs, hs = arms["N sweep"], runs["N sweep"]
        plotting.plot_curves(
            {
                f"N = {n}": [h for h, c in zip(hs, cs, strict=True) if c.task.n_train == n]
                for n in sorted({c.task.n_train for c in cs})
            },
            figure("curves", CURVES),
            title="MNIST, α = 8, MSE",
        )

    def card(self, scope: Scope, arms: Arms, j: Judgement) -> Card:
        return Card(
            statement="With α = 8 and MSE, the time to generalize on MNIST falls as the number "
            "of training images grows.",
            settings={"sizes": sorted({c.task.n_train for c in arms["N sweep"]}),
                      "seeds": len(scope.seeds(2))},
            deviations=_mnist_deviations(scope),
        )  # fmt: skip


class OgCe(ClaimSpec):
    id = "OG-CE"
    paper = PAPER
    section = "App E, Fig 11–12; li-sakib Table 3"
    title = "Cross-entropy removes MNIST grokking at the α where MSE groks"
    setting = "OG-MNIST with CE instead of MSE, same α=8; App E: α=100, N=200"
    statistic = "D_CE / D_MSE with bootstrap CI entirely below 0.25 at α=8"
    control = "MSE at α=8 is the control"
    quick_seconds = 0  # not measured: its MSE arm is OG-MNIST's α = 8 runs

    def stopping(self, scope: Scope) -> Stopping:
        return _mnist_stopping(scope, "in each loss arm")

    def arms(self, scope: Scope) -> Arms:
        seeds = scope.seeds(3)
        return {
            "MSE": [_mnist(scope, 8.0, "mse", s) for s in seeds],
            "CE": [_mnist(scope, 8.0, "ce", s) for s in seeds],
        }

    def must_grok(self, scope: Scope, arms: Arms) -> Arms:
        return {"MSE α = 8 (must grok)": arms["MSE"]}

    def judge(self, scope: Scope, arms: Arms, runs: Runs) -> Judgement:
        return delay_ratio(
            runs["CE"],
            runs["MSE"],
            bound=CE_BOUND,
            names=("CE", "MSE"),
            min_reference_delay=MIN_REFERENCE_DELAY,
            treat_must_generalize=False,
            **setups.mnist_taus(scope.scale),
        )

    def draw(self, scope, arms, runs, j, figure) -> None:
        taus = setups.mnist_taus(scope.scale)
        plotting.plot_curves(
            runs,
            figure("curves", CURVES + f"; circles: t_train (train ≥ {taus['tau_train']:g}), "
                   f"stars: t_test (test ≥ {taus['tau_test']:g}), the delay D between them"),
            title="MNIST 1k, α = 8",
            marks=plotting.Marks(taus["tau_train"], taus["tau_test"]),
        )  # fmt: skip
        tau_test = taus["tau_test"]
        delays = {arm: [r["delay"] for r in j.runs if r["arm"] == arm] for arm in ("MSE", "CE")}
        plotting.plot_distributions(
            delays,
            figure("delays", f"D = first step test ≥ {tau_test:g} minus first step train "
                   "≥ 0.99; hollow: censored"),
            "grokking delay D (steps)",
            censored={arm: [r["test_censored"] for r in j.runs if r["arm"] == arm]
                      for arm in delays},
            title="delay t_test − t_train per seed",
        )  # fmt: skip

    def card(self, scope: Scope, arms: Arms, j: Judgement) -> Card:
        return Card(
            statement="On MNIST with 1,000 training images and α = 8, training with MSE on "
            "one-hot targets groks (train fit long before test accuracy rises) while "
            "cross-entropy at the same α shows no such delay: D_CE / D_MSE < 0.25.",
            settings={"seeds": len(scope.seeds(3))},
            deviations=_mnist_deviations(scope),
            control_summary="The MSE arm is the positive control: it must itself grok.",
        )


# -- §5: modular arithmetic -----------------------------------------------------------------

NORM_MIN_SHARE = 0.8  # the norm rises then falls below its initial value in ≥ this share
CONSTR_BOUND = 0.2  # D_constrained / D_free CI below this
CRIT_REGION = (0.15, 0.4)  # the logistic fit's 50% point lies here ("≈ 0.25")
CRIT_FRACTIONS = [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6]


class OgNorm(ClaimSpec):
    id = "OG-NORM"
    paper = PAPER
    section = "§5, Fig 7a"
    title = "The weight norm rises while the model overfits, then falls as it generalizes"
    setting = (
        "Nanda setup: p=113, frac 0.3, d_model 128, 4 heads, d_mlp 512 ReLU, no LayerNorm, "
        "untied embed/unembed, AdamW lr 1e-3 β=(0.9,0.98) γ=1, full batch"
    )
    statistic = (
        "per seed: argmax of ‖w‖ lies between t_train and t_test; ‖w‖_final < ‖w‖_0; share "
        "of seeds ≥ 80%"
    )
    control = "γ=0 run: norm does not fall below init"
    quick_seconds = 88

    def arms(self, scope: Scope) -> Arms:
        seeds = scope.seeds(6)
        return {
            "γ = 1": [setups.modular(seed=s, scale=scope.scale) for s in seeds],
            "γ = 0 (control)": [
                setups.modular(seed=s, weight_decay=0.0, scale=scope.scale) for s in seeds
            ],
        }

    def judge(self, scope: Scope, arms: Arms, runs: Runs) -> Judgement:
        return norm_rise_fall(
            runs["γ = 1"], runs["γ = 0 (control)"], tau=TAU, min_share=NORM_MIN_SHARE, need=NEED
        )

    def draw(self, scope, arms, runs, j, figure) -> None:
        t = [timings(h) for h in runs["γ = 1"]]
        plotting.plot_norm_timings(
            runs["γ = 1"],
            [a.step for a, _ in t],
            [b.step for _, b in t],
            figure("norm", "global L2 weight norm per seed with t_train (▲) and t_test (●) "
                   "marked; grey: γ = 0"),
            title="x+y: weight norm while grokking",
            control=runs["γ = 0 (control)"],
        )  # fmt: skip

    def card(self, scope: Scope, arms: Arms, j: Judgement) -> Card:
        return Card(
            statement="On modular addition, the total weight norm rises while the model "
            "overfits and falls once it generalizes, ending below its initial value.",
            settings={"seeds": len(scope.seeds(6))},
            control_summary="γ = 0 runs: the norm does not fall below its initial value.",
        )


class OgConstr(ClaimSpec):
    id = "OG-CONSTR"
    paper = PAPER
    section = "§5, Fig 7b"
    title = "Holding the weight norm fixed (α = 0.8) largely eliminates grokking"
    setting = "Nanda setup, all parameters rescaled to the initial global L2 norm after each step"
    statistic = (
        "D_constrained / D_free with bootstrap CI below 0.2 and test acc ≥ 0.95 reached under "
        "the constraint"
    )
    control = "unconstrained run of the same seeds is the control"
    quick_seconds = 24
    expected = {
        "quick": Expectation(
            Verdict.REFUTED,
            "the quick tier's embedding MLP is not the paper's transformer: with its norm held "
            "at 0.8× init the constrained runs still memorize first and generalize over a "
            "thousand steps later (every one of them does), so the delay ratio stays far above "
            "0.2",
        ),
    }

    stop = Stopping(
        StopRule(),
        STOP_WHY + "it reads t_train and t_test at 0.95 in the constrained and the free arm",
    )

    def arms(self, scope: Scope) -> Arms:
        seeds = scope.seeds(6)
        return {
            "free (γ = 1)": [setups.modular(seed=s, scale=scope.scale) for s in seeds],
            "constrained α = 0.8": [
                setups.modular(seed=s, weight_decay=0.0, scale=scope.scale, init_scale=0.8,
                               constrain_norm=True)
                for s in seeds
            ],
        }  # fmt: skip

    def judge(self, scope: Scope, arms: Arms, runs: Runs) -> Judgement:
        return delay_ratio(
            runs["constrained α = 0.8"],
            runs["free (γ = 1)"],
            bound=CONSTR_BOUND,
            names=("constrained", "free"),
            tau_train=TAU,
            tau_test=TAU,
            min_reference_delay=MIN_REFERENCE_DELAY,
            treat_must_generalize=True,
        )

    def draw(self, scope, arms, runs, j, figure) -> None:
        plotting.plot_curves(runs, figure("curves", CURVES), title="x+y: free vs fixed norm")
        plotting.plot_norm(
            runs,
            figure("norm", "global L2 weight norm: the constraint holds it at α·w0"),
            title="total weight norm",
        )

    def card(self, scope: Scope, arms: Arms, j: Judgement) -> Card:
        return Card(
            statement="Constraining the global weight norm to 0.8× its initial value "
            "(rescaling all parameters after every step, γ = 0) brings train and test accuracy "
            "up together: the grokking delay falls below 0.2× that of free training, and test "
            "accuracy still reaches 95%.",
            settings={"seeds": len(scope.seeds(6))},
            control_summary="Free training (AdamW γ = 1) of the same seeds is the positive "
            "control: it must itself grok.",
        )


class OgCrit(ClaimSpec):
    id = "OG-CRIT"
    paper = PAPER
    section = "App B"
    paper_value = "≈ 0.25 (App B)"
    title = "Below a critical training fraction (≈ 0.25) the model does not generalize"
    setting = "constrained-norm transformer, frac sweep"
    statistic = 'logistic fit of "generalized" vs frac: 50% point in [0.15, 0.4]'
    control = "—"
    quick_seconds = 114
    expected = {
        "quick": Expectation(
            Verdict.INCONCLUSIVE,
            "the quick tier's embedding MLP on a small modulus is not the paper's transformer "
            "on p = 113: its critical fraction sits at the upper edge of the paper's region, so "
            "the CI straddles it; only the paper tier tests the paper's number",
        ),
    }

    stop = Stopping(
        StopRule(),
        STOP_WHY + "it reads whether test accuracy reached 0.95 within the budget, per fraction",
    )

    def arms(self, scope: Scope) -> Arms:
        seeds = scope.seeds(2)
        return {
            "fraction sweep": [
                setups.modular(seed=s, weight_decay=0.0, scale=scope.scale, init_scale=0.8,
                               constrain_norm=True, train_frac=f)
                for f in CRIT_FRACTIONS
                for s in seeds
            ]
        }  # fmt: skip

    def judge(self, scope: Scope, arms: Arms, runs: Runs) -> Judgement:
        return critical_fraction(
            [c.task.train_frac for c in arms["fraction sweep"]],
            runs["fraction sweep"],
            tau=TAU,
            region=CRIT_REGION,
            need=NEED,
        )

    def draw(self, scope, arms, runs, j, figure) -> None:
        est = j.fit
        fractions = [c.task.train_frac for c in arms["fraction sweep"]]
        generalized = [not timings(h)[1].censored for h in runs["fraction sweep"]]
        # the curve of the fit the statistic made (none where the positive control failed)
        slope = stats.logistic_fit(fractions, generalized)[1] if est else None
        plotting.plot_critical_fraction(
            fractions,
            generalized,
            figure("critical", "generalized (test ≥ 0.95 in budget) or not, per run, "
                   "against the train fraction, with the logistic fit and its 50% point"),
            midpoint=est.value if est else None,
            slope=slope,
            ci=est.ci if est else None,
            region=CRIT_REGION,
            title="constrained norm (α = 0.8): critical train fraction",
        )  # fmt: skip

    def card(self, scope: Scope, arms: Arms, j: Judgement) -> Card:
        return Card(
            statement="With the weight norm held at 0.8× its initial value, there is a "
            "critical training fraction (≈ 0.25 for p = 113 addition) below which the model "
            "does not generalize; the logistic fit's 50% point lies in [0.15, 0.4].",
            settings={"fractions": CRIT_FRACTIONS, "seeds": len(scope.seeds(2))},
            deviations=["App B sweeps α and reads the critical fraction at the tip of the "
                        "'thumb'; its optimizer and steps are not in the Omnigrok repository "
                        "(REFERENCES B1). This uses Fig 7b's constrained setting, α = 0.8, "
                        "where the paper shows the constrained transformer generalizing"],
        )  # fmt: skip


# -- §4: IMDb and QM9 (real data: NOT RUN without --data-dir, `ClaimSpec.prepare`) -----------

IMDB_TAU_TRAIN = 0.99  # train accuracy that counts as fit
IMDB_Q = 0.8  # t_test: q of the way from chance to the run's own final test accuracy
IMDB_CHANCE = 0.5
IMDB_SKILL = 0.6  # positive control: α = 6 ends with test accuracy ≥ this
QM9_BOUND = 5.0  # t_test / t_train ≫ 1, read as a median ratio above 5
QM9_LEVEL = 2.0  # t_train, t_test: first step each loss is within 2× of its final value
QM9_SKILL = 0.5  # positive control: α = 3 ends with test MSE ≤ this × the mean predictor's


class OgImdb(ClaimSpec):
    id = "OG-IMDB"
    paper = PAPER
    section = "§4, Fig 4d"
    title = "An LSTM on 1k IMDb reviews at α = 6 generalizes late; at α = 1 it does not"
    setting = "2-layer LSTM emb 64 hidden 128, Adam lr 1e-3, BCE, top-1000 words, length 500, γ=1"
    statistic = "D(α=6) > D(α=1)"
    control = "α=1"

    def arms(self, scope: Scope) -> Arms:
        seeds = scope.seeds(3)

        def arm(alpha: float, gamma: float) -> list:
            return [setups.imdb(init_scale=alpha, weight_decay=gamma, seed=s, scale=scope.scale,
                                data_dir=scope.data_dir) for s in seeds]  # fmt: skip

        # §4: "α = 6 with weight decay 1"; "standard initialization (α = 1) with no weight decay"
        return {"α = 6, γ = 1": arm(6.0, 1.0), "α = 1, γ = 0": arm(1.0, 0.0)}

    def must_grok(self, scope: Scope, arms: Arms) -> Arms:
        return {"α = 6 (must generalize late)": arms["α = 6, γ = 1"]}

    def judge(self, scope: Scope, arms: Arms, runs: Runs) -> Judgement:
        return delayed_accuracy(
            runs["α = 6, γ = 1"],
            runs["α = 1, γ = 0"],
            names=("α = 6, γ = 1", "α = 1, γ = 0"),
            tau_train=IMDB_TAU_TRAIN,
            q=IMDB_Q,
            chance=IMDB_CHANCE,
            skill=IMDB_SKILL,
            need=NEED,
            paper_value="α = 6 fits within 10² steps and generalizes from ≈ 10³ (§4); α = 1: "
            "no delay",
        )

    def draw(self, scope, arms, runs, j, figure) -> None:
        plotting.plot_curves(runs, figure("curves", CURVES), title="IMDb 1k, LSTM")

    def card(self, scope: Scope, arms: Arms, j: Judgement) -> Card:
        return Card(
            statement="An LSTM trained on 1,000 IMDb reviews with α = 6 and weight decay 1 "
            "fits the training set first and reaches its test accuracy later; with standard "
            "init and no weight decay, test accuracy rises as it fits: D(α = 6) > D(α = 1).",
            settings={"seeds": len(scope.seeds(3))},
            deviations=["t_test is read against each run's own final test accuracy (q = 0.8 "
                        "of the way from chance): IMDb at 1k reviews has no accuracy level "
                        "every run reaches"],
            control_summary="α = 1 without weight decay is the control: no delay.",
        )  # fmt: skip


class OgQm9(ClaimSpec):
    id = "OG-QM9"
    paper = PAPER
    section = "§4, Fig 5d"
    paper_value = "a sharp test-loss drop around 10⁴ steps at α = 3 (§4)"
    title = "A GCNN on 200 QM9 molecules at α = 3 has a late test-loss drop; at α = 1 not"
    setting = "2 graph-conv layers + linear, Adam lr 1e-3, MSE on isotropic polarizability"
    statistic = "test-loss drop step ≫ train-loss plateau step for α=3 only"
    control = "α=1"
    quick_seconds = 75  # with qm9pack installed (the qm9 extra); NOT RUN at once without it
    expected = {
        "quick": Expectation(
            Verdict.INCONCLUSIVE,
            "in the quick tier's 7,000 steps at lr 3e-3 the α = 3 nets are still coming down "
            "from their α-scaled loss (train and test MSE fall together, 10⁶ → 10²) and end "
            "near the mean predictor's test MSE, so the positive control (α = 3 ends at half "
            "of it) fails; α = 1 fits and generalizes together, as the claim says",
        ),
    }

    def arms(self, scope: Scope) -> Arms:
        seeds = scope.seeds(3)
        # §4: "zero weight decay is applied in both cases", so there is no LU budget floor
        return {
            f"α = {a:g}": [
                setups.qm9(init_scale=a, seed=s, scale=scope.scale, data_dir=scope.data_dir)
                for s in seeds
            ]
            for a in (3.0, 1.0)
        }

    def judge(self, scope: Scope, arms: Arms, runs: Runs) -> Judgement:
        return late_loss_drop_runs(
            arms["α = 3"],
            runs["α = 3"],
            runs["α = 1"],
            names=("α = 3", "α = 1"),
            bound=QM9_BOUND,
            level=QM9_LEVEL,
            skill=QM9_SKILL,
            need=NEED,
            paper_value="a sharp test-loss drop around 10⁴ steps at α = 3 (§4)",
        )

    def draw(self, scope, arms, runs, j, figure) -> None:
        plotting.plot_curves(
            runs,
            figure("losses", "train (dashed) / test (solid) MSE (a0⁶), median and spread "
                   "over seeds"),
            title="QM9 polarizability, 200 molecules",
            metric="loss",
        )  # fmt: skip

    def card(self, scope: Scope, arms: Arms, j: Judgement) -> Card:
        from grokcore.data.qm9 import PACK_DEVIATION, uses_qm9pack

        return Card(
            statement="A graph convolutional net trained on 200 QM9 molecules with α = 3 and "
            "no weight decay has its test loss drop long after its training loss levels off "
            "(t_test / t_train ≫ 1); with α = 1 the two fall together.",
            settings={"seeds": len(scope.seeds(3)),
                      "test MSE of the mean predictor": round(j.evidence["baseline"], 2)},
            deviations=["t_train and t_test are the first steps at which each loss is within "
                        "2× of its final value; '≫' is read as a median ratio above 5",
                        *([PACK_DEVIATION] if uses_qm9pack(scope.data_dir) else [])],
            control_summary="α = 1 is the control: no late drop.",
        )  # fmt: skip


# -- §5.1: the representation toy (Fig 6e) ----------------------------------------------------

REPR_SIZES = (25, 35, 45, 54)  # Fig 6e's 25/35/45/55; 54 as Liu et al.'s code (see below)
REPR_FAST, REPR_SLOW = 54, 45  # t(55) < t(45): 54 stands for 55


class OgRepr(ClaimSpec):
    id = "OG-REPR"
    paper = PAPER
    section = "§5.1, Fig 6e"
    paper_value = "45 and 55 generalize, 25 and 35 never (Fig 6e)"
    title = "In the representation toy, more training pairs generalize sooner; too few never do"
    setting = "addition base p (paper p≈10, 55 pairs i≤j), decoder 1-200-200-30, sizes 25/35/45/55"
    statistic = "share generalizing monotone in size; t(55) < t(45)"
    control = "—"
    quick_seconds = 17
    expected = {
        "quick": Expectation(
            Verdict.INCONCLUSIVE,
            "with Liu et al.'s own toy (train_add.py: MSE onto random templates, tanh, rates "
            "×10 at the quick tier) the share that makes its representation linear rises with "
            "size (25: 0/6, 35: 2/6, 45: 4/6, 54: 5/6) and the positive control holds, but 54 "
            "and 45 pairs generalize at about the same step (≈ 100-190), so with six seeds the "
            "ratio t(54)/t(45) has a CI that spans 1; the reference code's own times "
            "(rqistep_num_*) overlap the same way",
        ),
        "full": Expectation(
            Verdict.INCONCLUSIVE,
            "as at the quick tier (run at the paper tier's settings on a CPU, 73 s): shares "
            "25: 0/6, 35: 2/6, 45: 4/6, 54: 5/6, times to RQI ≥ 0.95 of 574-1,250 steps, where "
            "the reference code's own results file has 833-1,171; t(54)/t(45) = 1.14 with a CI "
            "of [0.09, 7.1], so six seeds cannot order 54 before 45",
        ),
    }

    def arms(self, scope: Scope) -> Arms:
        seeds = scope.seeds(6)
        return {
            f"{n} pairs": [
                setups.representation_grokking(seed=s, n_train=n, scale=scope.scale) for s in seeds
            ]
            for n in REPR_SIZES
        }

    @staticmethod
    def _budget(arms: Arms) -> int:
        return arms[f"{REPR_SIZES[0]} pairs"][0].steps

    def judge(self, scope: Scope, arms: Arms, runs: Runs) -> Judgement:
        # every evaluation recorded the embeddings (History.traces): RQI over time per run
        return size_trend_runs(
            [c for cs in arms.values() for c in cs],
            [h for hs in runs.values() for h in hs],
            budget=self._budget(arms),
            fast=REPR_FAST,
            slow=REPR_SLOW,
            need=NEED,
        )

    def draw(self, scope, arms, runs, j, figure) -> None:
        plotting.plot_rqi(
            j.evidence["rqi"],
            figure(
                "rqi",
                "representation quality (RQI, Liu et al. 2022) of each seed's embeddings over "
                "training, by training size (cf. Fig 6e: 45 and 55 reach the linear "
                "representation, 55 sooner; 25 and 35 never)",
            ),
            RQI_GENERALIZED,
            title="representation toy, p = 10: RQI by training size",
        )
        plotting.plot_curves(
            {f"{n} pairs": runs[f"{n} pairs"] for n in REPR_SIZES},
            figure("curves", CURVES + " (test: the pairs not trained on)"),
            title="representation toy: accuracy by training size",
        )

    def card(self, scope: Scope, arms: Arms, j: Judgement) -> Card:
        return Card(
            statement="With the embeddings and the decoder both trained, more training pairs "
            "make the representation linear (generalize) more often and sooner: 45 and 55 "
            "pairs generalize, 55 before 45, while 25 and 35 never do.",
            settings={
                "seeds per size": len(scope.seeds(6)),
                "sizes": list(REPR_SIZES),
                "steps": self._budget(arms),
                "generalized": f"RQI ≥ {RQI_GENERALIZED} (parallelogram gap < 0.01)",
            },
            deviations=[
                "Fig 6e is a landscape figure (contours of reduced training loss over weight "
                "norm and representation messiness); the claim is tested on what it predicts "
                "for trained runs (App D's full trajectory, both R and the decoder trained)",
                "'generalizes' = the final representation is linear, RQI ≥ 0.95 (Liu et al. "
                "2022, `grokking-squared` toy/train_add.py thresholds), Fig 6e's criterion "
                "(reaching the green star, m = 0); test accuracy cannot say it at 54-55 pairs "
                "(1 or 0 test pairs)",
                "55 pairs (all of them) → 54, the largest size of Liu et al.'s code "
                "(produce_figure_data.py): `PairSumTask` keeps one test pair",
                "time to generalize: the first evaluated step (every B/200) with RQI ≥ 0.95; "
                "censored at the budget B",
                "η_R/η_D = 10 and no weight decay, from Liu et al.'s code: the paper gives no "
                "rates for the trained toy, and its t = (L + h·tanθ)/(η_D·γ) assumes γ > 0",
            ],
            control_summary="25 and 35 pairs are the sizes that should never generalize.",
        )


SPECS = [
    OgLu(),
    OgTs(),
    OgInv(),
    OgMnist(),
    OgData(),
    OgCe(),
    OgNorm(),
    OgConstr(),
    OgCrit(),
    OgImdb(),
    OgQm9(),
    OgRepr(),
]
