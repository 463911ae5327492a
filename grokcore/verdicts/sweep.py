"""LS-CORR: over a random hyperparameter sweep, how each factor correlates with the delay.

li-sakib §3.1, Table 1 ("Correlation to Grokking Delay (Epoch)"): over 3,600 runs on x ÷ y,
the delay correlates with batch size (r = 0.538), against weight decay (−0.26) and not
with init scale (−0.001). Three things decide what such a number means, and each is fixed here:

- **Unit.** li-sakib count the delay in *epochs* (REFERENCES P10): D_epochs =
  D_steps · B / N_train, with B the batch a step actually sees (min(B, N_train): a batch
  larger than the training set is full batch). An epoch delay rises with B mechanically,
  so the sign of ρ(B, ·) can differ between units; ρ in steps is reported beside it.
- **Censoring.** The paper does not say how runs that never generalize entered its
  correlations. Here a run whose test accuracy never reaches τ in budget (confusion or
  memorization) has no measured delay, and it ranks as the longest: all such runs tie above
  every measured delay (Spearman ρ is rank-based, so no number has to be invented). Their
  count is in the checks' detail, with ρ over the measured runs alone beside it.
- **"Hardly at all".** Table 1 bolds |r| ≥ 0.123 (noise, which §1 calls "a positive
  correlation") and leaves |r| ≤ 0.063 (learning rate, init) unmarked, calling init "no
  impact". `SMALL` = 0.1 lies between the two: |ρ_init| is small when its CI lies in
  [−0.1, 0.1], which needs a few hundred runs (the CI half-width is ≈ 2/√n).

Statistic: Spearman ρ of each factor against the delay, with a pair-bootstrap CI; batch
size above 0, weight decay below 0, init inside [−SMALL, SMALL]. Positive control: at least
`need` of the runs grok (generalize in budget), else the ranks are mostly ties and the
verdict is INCONCLUSIVE. Control (CLAIMS.md): the factor's labels permuted across runs, whose
ρ must come out ≈ 0; `permuted` builds it, and the unit tests feed it to this statistic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats as st

from grokcore import metrics, stats
from grokcore.config import ModularTask, RunConfig
from grokcore.history import History
from grokcore.record import Verdict
from grokcore.stats import Region
from grokcore.verdicts.judgement import Judgement, judge_checks, positive_control

MIN_GROKKED = 10  # below this many grokking runs a rank correlation's bootstrap CI means nothing
SMALL = 0.1  # between Table 1's largest unmarked |r| (0.063) and its smallest bold one (0.123)
PAPER_R = {  # li-sakib Table 1, delay in epochs
    "batch_size": 0.538,
    "embed_noise": 0.123,
    "init_scale": -0.001,
    "lr": -0.063,
    "weight_decay": -0.26,
}
NAMES = {
    "batch_size": "batch size",
    "embed_noise": "embedding noise",
    "init_scale": "init scale",
    "lr": "learning rate",
    "weight_decay": "weight decay",
}
# the judged factors and their regions (CLAIMS.md LS-CORR)
REGIONS = {
    "batch_size": Region.above(0.0),
    "weight_decay": Region.below(0.0),
    "init_scale": Region.inside(-SMALL, SMALL),
}


def epochs(steps: float, batch_size: float | None, n_train: int) -> float:
    """Steps in epochs, as li-sakib count time (REFERENCES P10): steps · B / N_train.

    B is the batch a step sees: None (full batch) or a batch at or above N_train is N_train.
    """
    if n_train < 1:
        raise ValueError(f"epochs: n_train={n_train} must be >= 1")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"epochs: batch_size={batch_size} must be >= 1 or None")
    b = n_train if batch_size is None else min(batch_size, n_train)
    return steps * b / n_train


def train_size(cfg: RunConfig) -> int:
    """N_train of a modular run: the size of its training split (the epoch's length), from
    the task's split sizes, without building the data."""
    if not isinstance(cfg.task, ModularTask):
        raise ValueError(f"train_size: {type(cfg.task).__name__} is not a modular task")
    return cfg.task.n_train


@dataclass(frozen=True)
class SweepDelay:
    """One run's delay in both units; `grokked` False: never generalized, ranks longest."""

    delay_steps: float
    delay_epochs: float
    grokked: bool
    fitted: bool


def sweep_delay(
    h: History, batch_size: float | None, n_train: int, tau: float = 0.95
) -> SweepDelay:
    """The delay t_test − t_train of one sweep run, in steps and in epochs."""
    delay = metrics.delay(h, tau)
    d = float(delay.value)
    grokked = delay.fitted and not delay.censored
    return SweepDelay(d, epochs(d, batch_size, n_train), grokked, delay.fitted)


def permuted(values: Sequence[float], seed: int = 0) -> list[float]:
    """The control: a factor's labels shuffled across runs (seeded), which breaks any link."""
    order = np.random.default_rng(seed).permutation(len(values))
    return [values[i] for i in order]


def _codes(a: np.ndarray) -> tuple[np.ndarray, int]:
    """Each value's index among the sorted distinct values, and how many there are."""
    uniq, codes = np.unique(a, return_inverse=True)
    return codes.reshape(-1), uniq.size


def _resample_ranks(codes: np.ndarray, n_levels: int, idx: np.ndarray) -> np.ndarray:
    """Mid-ranks (ties averaged, as `scipy.stats.rankdata`) of each resample `idx` (B, n),
    from per-row counts of the distinct values: O(B·(n + levels)), no sort per row."""
    b = idx.shape[0]
    c = codes[idx]
    counts = np.bincount((c + n_levels * np.arange(b)[:, None]).ravel(), minlength=b * n_levels)
    counts = counts.reshape(b, n_levels).astype(np.float64)
    mid = np.cumsum(counts, axis=1) - (counts - 1) / 2  # below + (count + 1) / 2
    return np.take_along_axis(mid, c, axis=1)


def spearman_boot(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    n_boot: int = 5000,
    level: float = 0.95,
    seed: int = 0,
) -> stats.Estimate:
    """`stats.spearman` (same resamples, same numbers), fast on thousands of runs: each
    resample's ranks come from counts of the distinct values instead of a sort per row."""
    xa, ya = np.asarray(x, np.float64), np.asarray(y, np.float64)
    n = xa.size
    if n < 3 or ya.size != n or np.ptp(xa) == 0 or np.ptp(ya) == 0:
        return stats.spearman(xa, ya, level, n_boot, seed)  # its checks and its NaN case
    value = float(st.spearmanr(xa, ya).statistic)
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    (cx, lx), (cy, ly) = _codes(xa), _codes(ya)
    rho = np.empty(n_boot)
    step = max(1, 2_000_000 // (n + max(lx, ly)))  # rows per block: bounded memory
    for lo in range(0, n_boot, step):
        rows = idx[lo : lo + step]
        rx, ry = _resample_ranks(cx, lx, rows), _resample_ranks(cy, ly, rows)
        rx -= rx.mean(axis=1, keepdims=True)
        ry -= ry.mean(axis=1, keepdims=True)
        den = np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))
        with np.errstate(invalid="ignore", divide="ignore"):
            rho[lo : lo + step] = np.where(den > 0, (rx * ry).sum(axis=1) / den, np.nan)
    rho = rho[~np.isnan(rho)]  # resamples where x or y came out constant
    lo_hi = np.percentile(rho, [50 * (1 - level), 50 * (1 + level)]) if rho.size else [np.nan] * 2
    ci = (float(lo_hi[0]), float(lo_hi[1]))
    return stats.Estimate(value, ci, level, n, "Spearman, pair bootstrap")


def permutation_null(
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    n_perm: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """Spearman ρ of y against x's labels permuted across runs, for n_perm seeded permutations:
    the distribution the control's correlation must come from (centred on 0)."""
    rx, ry = st.rankdata(np.asarray(x, float)), st.rankdata(np.asarray(y, float))
    rx, ry = rx - rx.mean(), ry - ry.mean()
    den = np.sqrt((rx**2).sum() * (ry**2).sum())
    if den == 0:
        return np.full(n_perm, np.nan)
    rng = np.random.default_rng(seed)
    perms = np.argsort(rng.random((n_perm, rx.size)), axis=1)
    return (rx[perms] @ ry) / den


def _ranked(delays: np.ndarray, grokked: np.ndarray) -> np.ndarray:
    """Delays with the runs that never grokked tied just above the longest measured one."""
    top = float(delays[grokked].max()) + 1.0 if grokked.any() else 0.0
    return np.where(grokked, delays, top)


def factor_correlations(
    factors: Mapping[str, Sequence[float]],
    delays: Sequence[SweepDelay],
    seed: int = 0,
    units: Sequence[str] = ("epochs", "steps", "epochs, grokked only"),
    n_boot: int = 5000,
) -> dict[str, dict[str, stats.Estimate]]:
    """Spearman ρ (pair bootstrap) of every factor against the delay: {factor: {unit: est}}.

    Units: "epochs" (the paper's), "steps", and "epochs, grokked only" (censored runs left
    out); the two reported beside the paper's unit take n_boot // 5 resamples.
    """
    ok = np.array([d.grokked for d in delays])
    by_unit = {
        "epochs": _ranked(np.array([d.delay_epochs for d in delays]), ok),
        "steps": _ranked(np.array([d.delay_steps for d in delays]), ok),
    }
    out: dict[str, dict[str, stats.Estimate]] = {}
    for name, values in factors.items():
        x = np.asarray(values, float)
        if x.size != len(delays):
            raise ValueError(f"factor {name!r} has {x.size} values for {len(delays)} runs")
        out[name] = {
            u: spearman_boot(x, d, n_boot if u == "epochs" else n_boot // 5, seed=seed)
            for u, d in by_unit.items()
            if u in units
        }
        if ok.sum() >= 3 and "epochs, grokked only" in units:
            out[name]["epochs, grokked only"] = spearman_boot(
                x[ok], by_unit["epochs"][ok], n_boot // 5, seed=seed
            )
    return out


def _num(v: float | None) -> float | None:
    return None if v is None else float(v)


def fmt_rho(e: stats.Estimate, digits: int = 3) -> str:
    """ρ [CI] with signs, or "not measured" where the data gave no ρ (NaN: e.g. every run
    ranked alike because none grokked), never "+nan [+nan, +nan]"."""
    if not np.isfinite(e.value):
        return "not measured"
    lo, hi = (f"{x:+.{digits}f}" if np.isfinite(x) else "—" for x in e.ci)
    return f"{e.value:+.{digits}f} [{lo}, {hi}]"


def sweep_correlations(
    factors: Mapping[str, Sequence[float | None]],
    histories: Sequence[History],
    n_train: int,
    tau: float = 0.95,
    need: float = 0.3,
    seed: int = 0,
    trained_batch: Sequence[float | None] | None = None,
) -> Judgement:
    """LS-CORR: ρ(batch size, D) > 0, ρ(weight decay, D) < 0, |ρ(init scale, D)| ≤ SMALL.

    factors: the sweep's values by factor name (`batch_size` is the batch a run asked for,
    None for full batch); every name in REGIONS is needed, others (lr, embed_noise) are
    reported with the paper's r. The delay is in epochs (module docstring), censored runs
    rank longest. Controls: each judged factor's labels permuted across runs (`permuted`).
    trained_batch: the batch each run trained with, for the epoch conversion (default:
    `factors["batch_size"]`); it differs from the factor only when the labels are permuted.
    """
    missing = sorted(set(REGIONS) - set(factors))
    if missing:
        raise ValueError(f"sweep_correlations needs the factors {missing}")
    n = len(histories)
    if any(len(v) != n for v in factors.values()):
        raise ValueError(f"every factor needs one value per run ({n} runs)")
    trained = factors["batch_size"] if trained_batch is None else trained_batch
    if len(trained) != n:
        raise ValueError(f"trained_batch needs one value per run ({n} runs)")
    delays = [sweep_delay(h, b, n_train, tau) for h, b in zip(histories, trained, strict=True)]
    # the batch a step sees: a full-batch run has B = N_train
    seen: dict[str, Sequence[float]] = {
        f: [float("nan") if v is None else v for v in factors[f]] for f in REGIONS
    }
    seen["batch_size"] = [n_train if b is None else min(b, n_train) for b in factors["batch_size"]]
    est = factor_correlations(seen, delays, seed)
    k = sum(d.grokked for d in delays)
    n_unfit = sum(not d.fitted for d in delays)
    censored = f"{n - k} of {n} runs never grokked ({n_unfit} never fit) and rank longest"
    checks = []
    for name, region in REGIONS.items():
        e = est[name]
        rest = ", ".join(f"{u}: {fmt_rho(v)}" for u, v in e.items() if u != "epochs")
        checks.append(
            stats.judge(
                e["epochs"],
                region,
                f"Spearman ρ({NAMES[name]}, delay in epochs)",
                f"pair bootstrap, n={n}; {censored}; ρ in {rest}",
                paper_value=f"{PAPER_R[name]:+.3f} (Table 1, 3,600 runs)",
            )
        )
    control = []
    ranked = _ranked(
        np.array([d.delay_epochs for d in delays]), np.array([d.grokked for d in delays])
    )
    for i, name in enumerate(REGIONS):
        null = permutation_null(seen[name], ranked, seed=seed + i)
        if np.isnan(null).any():
            null_est = stats.Estimate(float("nan"), (float("nan"), float("nan")), n=n)
        else:
            band = np.percentile(null, [2.5, 97.5])
            null_est = stats.Estimate(float(np.median(null)), (band[0], band[1]), n=n)
        obs = est[name]["epochs"].value
        p = float(np.mean(np.abs(null) >= abs(obs))) if not np.isnan(null).any() else float("nan")
        control.append(
            stats.judge(
                null_est,
                Region.contains(0.0),
                f"control: ρ({NAMES[name]} labels permuted across runs, delay)",
                f"median and 95% band of {null.size} seeded permutations, n={n}: must sit on "
                f"0; permutation p of the observed ρ = {obs:+.3f}: {p:.3f}"
                if np.isfinite(obs) and np.isfinite(p)
                else f"0; the observed ρ was not measured ({censored})",
            )
        )
    runs = [
        {
            **{f: _num(v[i]) for f, v in factors.items()},
            "seed": h.config.get("seed"),
            "delay_epochs": round(d.delay_epochs, 2) if d.grokked else None,
            "delay_steps": d.delay_steps if d.grokked else None,
            "grokked": d.grokked,
            "fitted": d.fitted,
            "final_test_acc": round(float(h.test_acc[-1]), 4),
        }
        for i, (h, d) in enumerate(zip(histories, delays, strict=True))
    ]
    positive = positive_control(
        "sweep runs that grok (fit and generalize in budget)", k, n, need, "grok"
    )
    if k < MIN_GROKKED and positive.verdict is Verdict.SUPPORTED:  # a CI of ρ over 3 runs
        positive = replace(
            positive,
            verdict=Verdict.INCONCLUSIVE,
            detail=positive.detail + f"; fewer than {MIN_GROKKED} runs grok",
        )
    return judge_checks(
        checks,
        control,
        runs,
        {
            Verdict.SUPPORTED: "the delay in epochs rises with batch size, falls with weight "
            "decay and hardly depends on init scale, as in Table 1",
            Verdict.REFUTED: "a factor's correlation with the delay misses Table 1's sign or size",
            Verdict.INCONCLUSIVE: "a correlation's CI straddles its region's boundary",
        },
        positive,
    )


def correlation_table(
    factors: Mapping[str, Sequence[float | None]],
    histories: Sequence[History],
    n_train: int,
    tau: float = 0.95,
    seed: int = 0,
) -> dict[str, stats.Estimate]:
    """ρ(factor, delay in epochs) with its CI for every factor, judged or not (Table 1's rows).

    `batch_size` may hold None (full batch), read as N_train, as `sweep_correlations` does.
    """
    batches = list(factors.get("batch_size", [None] * len(histories)))
    delays = [sweep_delay(h, b, n_train, tau) for h, b in zip(histories, batches, strict=True)]
    seen = {f: [n_train if v is None else v for v in vs] for f, vs in factors.items()}
    if "batch_size" in seen:
        seen["batch_size"] = [min(float(b), n_train) for b in seen["batch_size"]]
    est = factor_correlations(seen, delays, seed, units=("epochs",))
    return {f: e["epochs"] for f, e in est.items()}


def describe(table: Mapping[str, stats.Estimate]) -> dict[str, str]:
    """The table as report text: ρ [CI] beside the paper's r, one entry per factor."""
    return {
        f"ρ({NAMES.get(f, f)}, delay in epochs)": f"{fmt_rho(e)} (paper {PAPER_R[f]:+.3f})"
        if f in PAPER_R
        else fmt_rho(e)
        for f, e in table.items()
    }


def sweep_factors(configs: Sequence[RunConfig]) -> dict[str, list[float | None]]:
    """Each run's value of every Table 1 factor (`batch_size` None: full batch; a model
    without embedding noise has noise 0)."""
    return {
        "batch_size": [c.batch_size for c in configs],
        "weight_decay": [c.optim.weight_decay for c in configs],
        "init_scale": [c.init_scale for c in configs],
        "lr": [c.optim.lr for c in configs],
        "embed_noise": [getattr(c.model, "embed_noise", 0.0) for c in configs],
    }


def sweep_correlations_runs(
    configs: Sequence[RunConfig],
    histories: Sequence[History],
    *,
    tau: float,
    need: float,
    seed: int = 0,
) -> Judgement:
    """LS-CORR on the sweep's runs: `sweep_correlations` over their factors (`sweep_factors`)
    with the delay in epochs of the sweep's training set (`train_size`, one task for all).

    `evidence` holds what the card and figure report beside the checks: "factors", "n_train"
    and "table" (`correlation_table`: ρ with its CI for every factor, judged or not).
    """
    if len(configs) != len(histories) or not configs:
        raise ValueError(f"sweep_correlations_runs: {len(configs)} configs, {len(histories)} runs")
    n_train = train_size(configs[0])
    factors = sweep_factors(configs)
    j = sweep_correlations(factors, histories, n_train, tau=tau, need=need, seed=seed)
    table = correlation_table(factors, histories, n_train, tau=tau, seed=seed)
    j.evidence.update(factors=factors, n_train=n_train, table=table)
    return j
