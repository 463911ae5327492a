"""OG-LU: the LU mechanism (omnigrok §3, Fig 2a; MNIST Fig 3c; transformer App B).

With the weight norm held at α·w0 (rescaled after every step), the *reduced* train loss is an
"L" in α (falls for α < 1, flat near zero for α ≥ 1) while the reduced test loss is a "U" with
its minimum near α ≈ 1. A larger training set flattens the U (Fig 3c, 4c, 5c): that is the
control.

The reduced loss of a run is its loss at the last evaluated step, as the teacher-student
landscape notebook reads it (REFERENCES T3). `reduce="min"` takes the minimum over training
instead, the MNIST landscape notebook's "best" loss (REFERENCES M5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

import numpy as np

from grokcore import stats
from grokcore.config import RunConfig
from grokcore.history import History
from grokcore.record import Check, Verdict
from grokcore.stats import Estimate, Region
from grokcore.verdicts.judgement import Judgement, judge_checks

Reduce = Literal["last", "min"]


def reduced_losses(h: History, reduce: Reduce = "last") -> tuple[float, float]:
    """(train, test) reduced loss of one constrained-norm run: the last step's, or the minimum."""
    if reduce == "last":
        return float(h.train_loss[-1]), float(h.test_loss[-1])
    if reduce == "min":
        return _nanmin(h.train_loss), _nanmin(h.test_loss)
    raise ValueError(f"reduce must be 'last' or 'min', got {reduce!r}")


def _nanmin(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(np.nanmin(x)) if np.any(~np.isnan(x)) else float("nan")


class _Landscape:
    """Reduced losses of one data size, grouped by α, with seed-bootstrapped medians."""

    def __init__(
        self,
        alphas: Sequence[float],
        histories: Sequence[History],
        reduce: Reduce,
        label: str,
        n_boot: int,
        rng: np.random.Generator,
    ) -> None:
        self.runs: list[dict] = []
        by_alpha: dict[float, list[tuple[float, float, float]]] = {}
        for a, h in zip(alphas, histories, strict=True):
            tr, te = reduced_losses(h, reduce)
            bad = h.diverged_at is not None or not (np.isfinite(tr) and np.isfinite(te))
            self.runs.append(
                {
                    "set": label,
                    "alpha": float(a),
                    "seed": h.config.get("seed"),
                    "train_loss": tr,
                    "test_loss": te,
                    "final_train_acc": round(float(h.train_acc[-1]), 4),
                    "diverged": bad,
                }
            )
            if not bad:
                by_alpha.setdefault(float(a), []).append((tr, te, float(h.train_acc[-1])))
        self.n_diverged = sum(r["diverged"] for r in self.runs)
        self.alphas = np.array(sorted(by_alpha))
        groups = [np.array(by_alpha[a]) for a in self.alphas]
        self.train = [g[:, 0] for g in groups]
        self.test = [g[:, 1] for g in groups]
        self.train_acc = [g[:, 2] for g in groups]
        self.min_seeds = min((g.shape[0] for g in groups), default=0)
        self.med_train = np.array([np.median(g) for g in self.train])
        self.med_test = np.array([np.median(g) for g in self.test])
        # (n_boot, A): median test loss per α, each α's seeds resampled independently
        self.boot_test = np.empty((n_boot, len(groups)))
        for j, g in enumerate(self.test):
            self.boot_test[:, j] = np.median(g[rng.integers(0, g.size, (n_boot, g.size))], axis=1)
        self.i_min = int(np.argmin(self.med_test)) if len(groups) else 0

    def rise(self) -> tuple[float, np.ndarray]:
        """Median test loss at the largest α over that at the argmin: point and bootstrap."""
        with np.errstate(divide="ignore", invalid="ignore"):
            point = self.med_test[-1] / self.med_test[self.i_min]
            return float(point), self.boot_test[:, -1] / self.boot_test[:, self.i_min]


def _ci(samples: np.ndarray) -> tuple[float, float]:
    if not np.all(np.isfinite(samples)):
        return float("nan"), float("nan")
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return float(lo), float(hi)


def _l_check(land: _Landscape, flat_tol: float, seed: int) -> Check:
    """Train loss over α ≥ 1 is non-increasing (Spearman ρ CI below 0) or flat near zero."""
    big = land.alphas >= 1 - 1e-9
    idx = np.flatnonzero(big)
    xs = np.concatenate([np.full(land.train[i].size, land.alphas[i]) for i in idx] or [np.empty(0)])
    ys = np.concatenate([land.train[i] for i in idx] or [np.empty(0)])
    name = "Spearman ρ(reduced train loss, α) over α ≥ 1"
    region = f"CI below 0, or flat: rise ≤ {flat_tol:g} × the U's minimum test loss"
    if big.sum() < 2 or xs.size < 3:
        return Check(
            name, float("nan"), None, region, Verdict.INCONCLUSIVE, detail="fewer than 2 α ≥ 1"
        )
    rho = stats.spearman(xs, ys, seed=seed)
    rise = float(np.max(land.med_train[big]) - land.med_train[big][0])
    tol = flat_tol * float(land.med_test[land.i_min])
    lo, hi = rho.ci
    if hi < 0:
        verdict, why = Verdict.SUPPORTED, "falls"
    elif rise <= tol:
        verdict, why = Verdict.SUPPORTED, "flat"
    elif lo > 0:
        verdict, why = Verdict.REFUTED, "rises"
    else:
        verdict, why = Verdict.INCONCLUSIVE, "neither shown to fall nor flat"
    detail = (
        f"{why}: median train loss rises by {rise:.3g} over α ≥ 1 (tolerance {tol:.3g}); "
        f"{rho.method}, n={rho.n}"
    )
    return Check(name, rho.value, rho.ci, region, verdict, detail=detail)


def lu_curves(
    alphas: Sequence[float],
    histories: Sequence[History],
    control: Sequence[History] = (),
    control_alphas: Sequence[float] | None = None,
    reduce: Reduce = "last",
    window: tuple[float, float] = (0.5, 2.0),
    flat_tol: float = 0.1,
    fit_tau: float = 0.95,
    fit_loss: float | None = None,
    n_boot: int = 5000,
    seed: int = 0,
) -> Judgement:
    """OG-LU: reduced test loss is a U with its argmin in `window`, reduced train loss an L.

    Checks, on constrained-norm runs over an α grid (one α per history):
    - argmin α of the median reduced test loss, seed-bootstrap CI inside `window`;
    - the U rises: median test loss at the largest α / at the argmin, bootstrap CI above 1;
    - the L: Spearman ρ(train loss, α) over α ≥ 1 has its CI below 0, or the train loss is
      flat there (its median rises by at most `flat_tol` × the U's minimum test loss);
      REFUTED only when ρ's CI is above 0 and the rise exceeds that tolerance.
    Control (reported, not part of the verdict): `control` runs at large N over
    `control_alphas` (default `alphas`) must show a flatter U: the small-N rise ratio over the
    large-N one, bootstrap CI above 1.
    Positive control: at some α most runs fit (final train accuracy ≥ `fit_tau`, or reduced
    train loss ≤ `fit_loss` when given). Diverged runs are excluded from the statistics and
    listed in `runs`. With one run per α the bootstrap has no seed spread: INCONCLUSIVE.
    """
    rng = np.random.default_rng(seed)
    land = _Landscape(alphas, histories, reduce, "main", n_boot, rng)
    runs = list(land.runs)

    def fits(i: int) -> bool:
        if fit_loss is not None:
            return bool(land.med_train[i] <= fit_loss)
        return bool(2 * np.sum(land.train_acc[i] >= fit_tau) > land.train_acc[i].size)

    fit_alphas = [a for i, a in enumerate(land.alphas) if fits(i)]
    if fit_loss is not None:
        what = f"reduced train loss ≤ {fit_loss:g}"
    else:
        what = f"final train accuracy ≥ {fit_tau:g}"
    ok = bool(fit_alphas) and land.alphas.size >= 3
    positive = Check(
        "positive control: the α grid reaches low train loss",
        len(fit_alphas) / max(land.alphas.size, 1),
        None,
        f"at some α most runs reach {what}; ≥ 3 α values",
        Verdict.SUPPORTED if ok else Verdict.INCONCLUSIVE,
        detail=f"{len(fit_alphas)} of {land.alphas.size} α values fit "
        f"({', '.join(f'{a:.3g}' for a in fit_alphas) or 'none'}); "
        f"{land.n_diverged} diverged runs excluded",
    )
    checks: list[Check] = []
    if ok:
        boot_i = np.argmin(land.boot_test, axis=1)
        lo_i, hi_i = np.quantile(boot_i, [0.025, 0.975], method="inverted_cdf")
        argmin = Estimate(
            land.alphas[land.i_min],
            (land.alphas[int(lo_i)], land.alphas[int(hi_i)]),
            n=sum(g.size for g in land.test),
            method="argmin α of median test loss, seed bootstrap",
        )
        note = f"{argmin.method}, {land.alphas.size} α values, ≥ {land.min_seeds} runs each, "
        note += f"{land.n_diverged} diverged runs excluded"
        name = "argmin α of reduced test loss"
        checks.append(
            stats.judge(argmin, Region.inside(*window), name, note, paper_value="≈ 1 (Fig 2a)")
        )
        point, boots = land.rise()
        rise = Estimate(point, _ci(boots), n=argmin.n, method="median ratio, seed bootstrap")
        checks.append(
            stats.judge(
                rise,
                Region.above(1.0),
                f"test loss at α = {land.alphas[-1]:.3g} / at the argmin",
                f"{rise.method}; the U rises to the right of its minimum",
            )
        )
        checks.append(_l_check(land, flat_tol, seed))
        if land.min_seeds < 2:
            why = "; one run per α: no seed spread to bootstrap"
            checks = [
                replace(c, verdict=Verdict.INCONCLUSIVE, detail=c.detail + why) for c in checks
            ]
    ctrl: list[Check] = []
    if control and ok:
        calphas = alphas if control_alphas is None else control_alphas
        big = _Landscape(calphas, control, reduce, "control", n_boot, rng)
        runs += big.runs
        name = "large N flattens the U: rise ratio (this N) / rise ratio (large N)"
        if big.alphas.size < 2:
            detail = f"large-N runs cover {big.alphas.size} α values"
            ctrl.append(
                Check(name, float("nan"), None, "CI above 1", Verdict.INCONCLUSIVE, detail=detail)
            )
        else:
            p_small, b_small = land.rise()
            p_big, b_big = big.rise()
            with np.errstate(divide="ignore", invalid="ignore"):
                boots = b_small / b_big
            method = "ratio of rise ratios, seed bootstrap"
            flat = Estimate(p_small / p_big, _ci(boots), n=len(runs), method=method)
            detail = (
                f"rise ratio {p_small:.3g} here vs {p_big:.3g} at large N (argmin α "
                f"{big.alphas[big.i_min]:.3g}); {method}"
            )
            ctrl.append(stats.judge(flat, Region.above(1.0), name, detail))
    j = judge_checks(
        checks,
        ctrl,
        runs,
        {
            Verdict.SUPPORTED: "reduced train loss is an L and test loss a U with its minimum "
            "near α ≈ 1",
            Verdict.REFUTED: "the reduced losses do not have the LU shape",
            Verdict.INCONCLUSIVE: "the LU shape could not be established",
        },
        positive,
    )
    j.fit = argmin if ok else None
    return j


def lu_medians(
    grid: Sequence[float], alphas: Sequence[float], histories: Sequence[History], reduce: Reduce
) -> tuple[list[float], list[float]]:
    """(train, test): the median reduced loss of the runs at each α of `grid` (one α per
    history), what OG-LU's figure draws; a diverged run's NaN makes its α's median NaN."""
    losses = np.array([reduced_losses(h, reduce) for h in histories])  # (runs, 2)
    at = [np.asarray(alphas) == a for a in grid]
    return [float(np.median(losses[m, 0])) for m in at], [
        float(np.median(losses[m, 1])) for m in at
    ]


def lu_curves_runs(
    configs: Sequence[RunConfig],
    histories: Sequence[History],
    control_configs: Sequence[RunConfig],
    control: Sequence[History],
    *,
    reduce: Reduce,
    window: tuple[float, float],
    flat_tol: float,
    fit_tau: float,
    fit_loss: float | None = None,
    n_boot: int = 5000,
    seed: int = 0,
) -> Judgement:
    """OG-LU on its runs: `lu_curves` over each config's α (`init_scale`), the large-N runs
    as the control. `evidence` holds the figure's medians (`lu_medians`) on the α grid of
    `configs`: "alphas", "train" and "test", and "control" = (train, test) of the control."""
    if len(configs) != len(histories) or len(control_configs) != len(control):
        raise ValueError("lu_curves_runs: each config needs its history")
    alphas = [c.init_scale for c in configs]
    control_alphas = [c.init_scale for c in control_configs]
    j = lu_curves(
        alphas,
        histories,
        control,
        control_alphas,
        reduce=reduce,
        window=window,
        flat_tol=flat_tol,
        fit_tau=fit_tau,
        fit_loss=fit_loss,
        n_boot=n_boot,
        seed=seed,
    )
    grid = sorted(set(alphas))
    train, test = lu_medians(grid, alphas, histories, reduce)
    j.evidence.update(alphas=grid, train=train, test=test)
    if control:
        j.evidence["control"] = lu_medians(grid, control_alphas, control, reduce)
    return j
