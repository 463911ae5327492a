"""omnigrok — Liu, Michaud & Tegmark, "Omnigrok: Grokking Beyond Algorithmic Data" (ICLR 2023)."""

from __future__ import annotations

import numpy as np
import pytest

from grokcore import plotting, setups
from grokcore.budget import shortfall
from grokcore.record import Figure
from grokcore.verdicts import delay_ratio, inverse_scaling, merge

PAPER = "omnigrok"


@pytest.mark.expect_refuted(
    scale="quick",
    reason="at the quick tier's lr (1e-3) every γ shares the same ~60-step fit, which is a "
    "large part of t_test at large γ and flattens the log-log slope above −1; the quick "
    "tier shortens the paper's lr·γ time scale, so only the paper tier can test the exponent",
)
@pytest.mark.claim(
    "OG-INV",
    paper=PAPER,
    section="§2, §3 Fig 2c, App C",
    title="Time to generalize scales as 1/γ; time to fit does not depend on γ",
)
def test_og_inv(claim):
    gammas = np.geomspace(0.03, 1.0, 5).round(4).tolist()
    seeds = claim.seeds(3)
    sweep = [setups.teacher_student(2.0, g, s, claim.scale) for g in gammas for s in seeds]
    control = [setups.teacher_student(2.0, 0.0, s, claim.scale) for s in seeds]
    if why := shortfall({"γ sweep": sweep}):
        pytest.skip(why)
    hs = claim.run(sweep + control)
    runs, ctrl = hs[: len(sweep)], hs[len(sweep) :]
    gs = [c.optim.weight_decay for c in sweep]
    j = j_ts = inverse_scaling(gs, runs, ctrl)
    if claim.scale == "full":
        # App C (a): Nanda's 1-layer transformer, p=113, frac 0.3; the paper gives no γ grid,
        # so 1.5 decades around Nanda's γ = 1, with a budget for the slowest (γ = 0.2).
        t_gammas = np.geomspace(0.2, 6.3, 5).round(3).tolist()
        t_sweep = [
            setups.modular(s, gamma=g, scale="full", steps=80_000) for g in t_gammas for s in seeds
        ]
        t_control = [setups.modular(s, gamma=0.0, scale="full", steps=80_000) for s in seeds]
        t_hs = claim.run(t_sweep + t_control)
        j_t = inverse_scaling(
            [c.optim.weight_decay for c in t_sweep], t_hs[: len(t_sweep)], t_hs[len(t_sweep) :]
        )
        j = merge({"teacher-student": j, "transformer": j_t})

    fit = j_ts.fit  # the teacher-student fit the verdict was judged on
    figs = [
        Figure(
            str(
                plotting.plot_loglog_fit(
                    [r["gamma"] for r in j_ts.runs],
                    [r["t_test"] for r in j_ts.runs],
                    [r["censored"] for r in j_ts.runs],
                    fit.value if fit else float("nan"),
                    None,
                    fit.ci if fit else None,
                    claim.figure("loglog"),
                    "weight decay γ",
                    "t_test (steps to 95% test acc)",
                    title="OG-INV: t_test vs γ (α = 2)",
                )
            ),
            "log-log fit of t_test on γ with the slope's "
            "95% CI band; dotted: the predicted slope −1; hollow: censored runs",
        ),
        Figure(
            str(
                plotting.plot_curves(
                    {
                        f"γ={g}": [
                            h for h, c in zip(runs, sweep, strict=True) if c.optim.weight_decay == g
                        ]
                        for g in gammas
                    }
                    | {"γ=0 (control)": ctrl},
                    claim.figure("curves"),
                    title="teacher-student, α = 2",
                )
            ),
            "train (dashed) / test (solid) accuracy, median and spread over seeds",
        ),
    ]
    claim.finish(
        j,
        statement="With large initialization (α = 2), the time to reach 95% test accuracy "
        "scales inversely with the weight decay γ, while the time to reach 95% train accuracy "
        "is independent of γ (omnigrok's LU mechanism: t ≈ ln(w0/wc)/γ).",
        settings={
            "setup": sweep[0].to_dict(),
            "gammas": gammas,
            "seeds": len(seeds),
            "control": "γ = 0, same seeds",
            "tau": 0.95,
        },
        deviations=setups.deviations("teacher_student", claim.scale),
        figures=figs,
        control_summary="γ = 0 runs must never generalize in budget.",
    )


@pytest.mark.claim(
    "OG-CE",
    paper=PAPER,
    section="App E, Fig 11–12; li-sakib Table 3",
    title="Cross-entropy removes MNIST grokking at the α where MSE groks",
)
def test_og_ce(claim):
    if claim.scale == "full" and not claim.data_dir:
        pytest.skip("full scale needs full MNIST: pass --data-dir (IDX files)")
    seeds = claim.seeds(3)
    # The paper's 1e5 steps are below the LU time ln(8)/(lr·γ) = 207,944 of the α = 8 MSE
    # arm, which must grok: the paper tier trains 2.1e5 steps; the quick tier cannot.
    steps = 210_000 if claim.scale == "full" else None
    mse = [setups.mnist(8.0, "mse", s, claim.scale, data_dir=claim.data_dir, steps=steps)
           for s in seeds]  # fmt: skip
    ce = [setups.mnist(8.0, "ce", s, claim.scale, data_dir=claim.data_dir, steps=steps)
          for s in seeds]  # fmt: skip
    if why := shortfall({"MSE α = 8 (must grok)": mse}):
        pytest.skip(why)
    hs = claim.run(mse + ce)
    h_mse, h_ce = hs[: len(seeds)], hs[len(seeds) :]
    tau_test = 0.85
    j = delay_ratio(h_ce, h_mse, bound=0.25, names=("CE", "MSE"), tau_train=0.99, tau_test=tau_test)
    delays = {arm: [r["delay"] for r in j.runs if r["arm"] == arm] for arm in ("MSE", "CE")}
    cens = {arm: [r["test_censored"] for r in j.runs if r["arm"] == arm] for arm in delays}
    figs = [
        Figure(
            str(
                plotting.plot_curves(
                    {"MSE": h_mse, "CE": h_ce}, claim.figure("curves"), title="MNIST 1k, α = 8"
                )
            ),
            "train (dashed) / test (solid) accuracy, median and spread over seeds",
        ),
        Figure(
            str(
                plotting.plot_distributions(
                    delays,
                    claim.figure("delays"),
                    "grokking delay D (steps)",
                    censored=cens,
                    title="delay t_test − t_train per seed",
                )
            ),
            f"D = first step test ≥ {tau_test} minus first step train ≥ 0.99; hollow: censored",
        ),
    ]
    claim.finish(
        j,
        statement="On MNIST with 1,000 training images and α = 8, training with MSE on one-hot "
        "targets groks (train fit long before test accuracy rises) while cross-entropy at the "
        "same α shows no such delay: D_CE / D_MSE < 0.25.",
        settings={
            "setup": mse[0].to_dict(),
            "seeds": len(seeds),
            "tau_train": 0.99,
            "tau_test": tau_test,
        },
        deviations=setups.deviations("mnist", claim.scale)
        + (
            [
                "2.1e5 steps instead of 1e5: the paper's budget is below the LU time "
                "ln(8)/(lr·γ) = 207,944 steps of the MSE arm that must grok"
            ]
            if claim.scale == "full"
            else []
        ),
        figures=figs,
        control_summary="The MSE arm is the control: it must itself grok, else INCONCLUSIVE.",
    )


@pytest.mark.expect_refuted(
    scale="quick",
    reason="the quick tier's embedding MLP is not the paper's transformer: with its norm held "
    "at 0.8× init the constrained runs still memorize first and generalize over a thousand "
    "steps later (every one of them does), so the delay ratio stays far above 0.2",
)
@pytest.mark.claim(
    "OG-CONSTR",
    paper=PAPER,
    section="§5, Fig 7b",
    title="Holding the weight norm fixed (α = 0.8) largely eliminates grokking",
)
def test_og_constr(claim):
    seeds = claim.seeds(6)
    free = [setups.modular(s, gamma=1.0, scale=claim.scale) for s in seeds]
    constrained = [
        setups.modular(s, gamma=0.0, scale=claim.scale, init_scale=0.8, constrain_norm=True)
        for s in seeds
    ]
    hs = claim.run(free + constrained)
    h_free, h_con = hs[: len(seeds)], hs[len(seeds) :]
    j = delay_ratio(
        h_con, h_free, bound=0.2, names=("constrained", "free"), treat_must_generalize=True
    )
    figs = [
        Figure(
            str(
                plotting.plot_curves(
                    {"free (γ = 1)": h_free, "constrained α = 0.8": h_con},
                    claim.figure("curves"),
                    title="x+y: free vs fixed norm",
                )
            ),
            "train (dashed) / test (solid) accuracy, median and spread over seeds",
        ),
        Figure(
            str(
                plotting.plot_norm(
                    {"free (γ = 1)": h_free, "constrained α = 0.8": h_con},
                    claim.figure("norm"),
                    title="total weight norm",
                )
            ),
            "global L2 weight norm: the constraint holds it at α·w0",
        ),
    ]
    claim.finish(
        j,
        statement="Constraining the global weight norm to 0.8× its initial value (rescaling all "
        "parameters after every step, γ = 0) brings train and test accuracy up together: "
        "the grokking delay falls below 0.2× that of free training, and test accuracy still "
        "reaches 95%.",
        settings={
            "constrained": constrained[0].to_dict(),
            "free": free[0].to_dict(),
            "seeds": len(seeds),
        },
        deviations=setups.deviations("modular", claim.scale),
        figures=figs,
        control_summary="Free training (AdamW γ = 1) of the same seeds is the control; it must "
        "itself grok.",
    )
