"""Statistics with confidence intervals, and the rule that turns a CI into a verdict.

A claim test computes an `Estimate` (point value + CI) and judges it against the
claim's `Region`: SUPPORTED when the CI lies inside the region, REFUTED when it
lies outside, INCONCLUSIVE when it straddles the boundary (CLAIMS.md, "Verdicts").
Bootstrap estimates are seeded, so a claim run twice gives the same numbers.

Inputs must be finite: bad inputs raise ValueError; a statistic that is undefined
on valid inputs (a constant sample, one class only) comes back as NaN and is
judged INCONCLUSIVE.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize
from scipy import stats as st

from grokcore.record import Check, Verdict

__all__ = [
    "Estimate",
    "Region",
    "bootstrap_diff",
    "bootstrap_ratio",
    "bootstrap_stat",
    "clopper_pearson",
    "clopper_pearson_upper",
    "fisher_exact",
    "judge",
    "logistic_fit",
    "logistic_midpoint",
    "loglog_slope",
    "share",
    "spearman",
]

_NAN_CI = (math.nan, math.nan)

# Samples: a sequence or a 1-D array (every function converts with np.asarray).
Floats = Sequence[float] | np.ndarray
Bools = Sequence[bool] | np.ndarray


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval."""

    value: float
    ci: tuple[float, float]
    level: float = 0.95
    n: int = 0
    method: str = ""

    def __post_init__(self) -> None:
        if not 0 < self.level < 1:
            raise ValueError(f"Estimate.level must be in (0, 1), got {self.level}")
        if len(self.ci) != 2:
            raise ValueError(f"Estimate.ci must be (lo, hi), got {self.ci!r}")
        # plain Python numbers, so records are JSON-able and compare cleanly
        object.__setattr__(self, "value", float(self.value))
        object.__setattr__(self, "ci", (float(self.ci[0]), float(self.ci[1])))
        object.__setattr__(self, "n", int(self.n))


RegionKind = Literal["below", "above", "inside", "contains", "excludes"]


def _fmt(x: float) -> str:
    return f"{x:g}".replace("-", "−")


@dataclass(frozen=True)
class Region:
    """Where a claim says the statistic lies; build with the classmethods."""

    kind: RegionKind
    lo: float
    hi: float
    text: str

    @classmethod
    def below(cls, x: float) -> Region:
        """Claim: the statistic is < x."""
        return cls("below", -math.inf, x, f"CI below {_fmt(x)}")

    @classmethod
    def above(cls, x: float) -> Region:
        """Claim: the statistic is > x."""
        return cls("above", x, math.inf, f"CI above {_fmt(x)}")

    @classmethod
    def inside(cls, lo: float, hi: float) -> Region:
        """Claim: the statistic is in [lo, hi]."""
        if not lo < hi:
            raise ValueError(f"Region.inside needs lo < hi, got [{lo}, {hi}]")
        return cls("inside", lo, hi, f"CI inside [{_fmt(lo)}, {_fmt(hi)}]")

    @classmethod
    def contains(cls, x: float) -> Region:
        """Claim: the statistic equals x (the CI must contain x)."""
        return cls("contains", x, x, f"CI contains {_fmt(x)}")

    @classmethod
    def excludes(cls, x: float) -> Region:
        """Claim: the statistic differs from x (an effect exists)."""
        return cls("excludes", x, x, f"CI excludes {_fmt(x)}")


def _verdict(ci: tuple[float, float], r: Region) -> Verdict:
    lo, hi = ci
    if r.kind == "contains":
        return Verdict.SUPPORTED if lo <= r.lo <= hi else Verdict.REFUTED
    if r.kind == "excludes":
        # a CI containing x fails to show the effect; it cannot show there is none
        return Verdict.INCONCLUSIVE if lo <= r.lo <= hi else Verdict.SUPPORTED
    # below / above are open at their finite end, inside is closed
    if r.kind == "below":
        inside, outside = hi < r.hi, lo >= r.hi
    elif r.kind == "above":
        inside, outside = lo > r.lo, hi <= r.lo
    else:
        inside, outside = r.lo <= lo and hi <= r.hi, hi < r.lo or lo > r.hi
    if inside:
        return Verdict.SUPPORTED
    return Verdict.REFUTED if outside else Verdict.INCONCLUSIVE


def judge(
    est: Estimate, region: Region, name: str, detail: str = "", paper_value: str | None = None
) -> Check:
    """Judge an estimate's CI against a claim region and return the `Check`."""
    ci = est.ci
    if not detail:
        detail = f"{est.method}, n={est.n}" if est.method else f"n={est.n}"
    if math.isnan(est.value) or math.isnan(ci[0]) or math.isnan(ci[1]):
        verdict = Verdict.INCONCLUSIVE
        detail = f"{detail}; estimate or CI is NaN (statistic undefined on this data)"
    else:
        verdict = _verdict((min(ci), max(ci)), region)
    return Check(
        name=name,
        value=est.value,
        ci=ci,
        region=region.text,
        verdict=verdict,
        level=est.level,
        detail=detail,
        paper_value=paper_value,
        # "excludes x" is the line minus a point: no interval to draw
        bounds=None if region.kind == "excludes" else (region.lo, region.hi),
    )


# -- input checks ---------------------------------------------------------------


def _vector(name: str, x: Floats, min_n: int = 1) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1 or arr.size < min_n:
        raise ValueError(f"{name} must be 1-D with at least {min_n} points, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has {np.count_nonzero(~np.isfinite(arr))} non-finite values")
    return arr


def _pair(x: Floats, y: Floats, min_n: int) -> tuple[np.ndarray, np.ndarray]:
    xa, ya = _vector("x", x, min_n), _vector("y", y, min_n)
    if xa.size != ya.size:
        raise ValueError(f"x has {xa.size} points but y has {ya.size}")
    return xa, ya


def _percentile_ci(samples: np.ndarray, level: float) -> tuple[float, float]:
    if samples.size == 0:
        return _NAN_CI
    lo, hi = np.percentile(samples, [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


# -- regression and correlation -------------------------------------------------


def loglog_slope(x: Floats, y: Floats, level: float = 0.95) -> Estimate:
    """OLS slope of log y on log x, with a t-distribution CI (n − 2 dof)."""
    xa, ya = _pair(x, y, min_n=3)
    if np.any(xa <= 0) or np.any(ya <= 0):
        raise ValueError("loglog_slope needs strictly positive x and y (it takes logs)")
    lx, ly = np.log(xa), np.log(ya)
    if np.ptp(lx) == 0:
        raise ValueError("loglog_slope needs at least two distinct x values")
    fit = st.linregress(lx, ly)
    half = st.t.ppf(0.5 + level / 2, xa.size - 2) * fit.stderr
    return Estimate(
        float(fit.slope), (fit.slope - half, fit.slope + half), level, xa.size, "OLS log-log"
    )


def _rowwise_spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman ρ of each row pair; NaN where a row is constant."""
    rx = st.rankdata(x, axis=1)
    ry = st.rankdata(y, axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    den = np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (rx * ry).sum(axis=1) / den, np.nan)


def spearman(
    x: Floats, y: Floats, level: float = 0.95, n_boot: int = 5000, seed: int = 0
) -> Estimate:
    """Spearman ρ with a percentile bootstrap CI over (x, y) pairs."""
    xa, ya = _pair(x, y, min_n=3)
    n = xa.size
    if np.ptp(xa) == 0 or np.ptp(ya) == 0:
        return Estimate(math.nan, _NAN_CI, level, n, "Spearman (constant input)")
    value = float(st.spearmanr(xa, ya).statistic)
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    rho = _rowwise_spearman(xa[idx], ya[idx])
    rho = rho[~np.isnan(rho)]  # resamples where x or y came out constant
    return Estimate(value, _percentile_ci(rho, level), level, n, "Spearman, pair bootstrap")


# -- bootstrap of two independent samples --------------------------------------

Stat = Callable[..., np.ndarray]  # called as stat(samples, axis=1)


def _boot(a: np.ndarray, stat: Stat, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    out = np.empty(n_boot)
    rows = max(1, 4_000_000 // a.size)  # cap the (rows, len(a)) index block at ~32 MB
    for lo in range(0, n_boot, rows):
        hi = min(lo + rows, n_boot)
        out[lo:hi] = stat(a[rng.integers(0, a.size, size=(hi - lo, a.size))], axis=1)
    return out


def _bootstrap_two(
    a: Floats,
    b: Floats,
    stat: Stat,
    n_boot: int,
    level: float,
    seed: int,
    op: Callable[[np.ndarray, np.ndarray], np.ndarray],
    method: str,
) -> Estimate:
    aa, ba = _vector("a", a), _vector("b", b)
    rng = np.random.default_rng(seed)
    sa, sb = _boot(aa, stat, n_boot, rng), _boot(ba, stat, n_boot, rng)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(op(stat(aa), stat(ba)))
        boots = op(sa, sb)
    if not np.all(np.isfinite(boots)):
        # a zero denominator in some resample: the CI is unbounded, so report it as undefined
        bad = np.count_nonzero(~np.isfinite(boots))
        return Estimate(value, _NAN_CI, level, aa.size + ba.size, f"{method}, {bad} bad resamples")
    return Estimate(value, _percentile_ci(boots, level), level, aa.size + ba.size, method)


def bootstrap_ratio(
    a: Floats,
    b: Floats,
    stat: Stat = np.median,
    n_boot: int = 10_000,
    level: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """stat(a) / stat(b) with a percentile bootstrap CI, resampling a and b independently."""
    name = getattr(stat, "__name__", "stat")
    return _bootstrap_two(a, b, stat, n_boot, level, seed, np.divide, f"{name} ratio, bootstrap")


def bootstrap_diff(
    a: Floats,
    b: Floats,
    stat: Stat = np.median,
    n_boot: int = 10_000,
    level: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """stat(a) − stat(b) with a percentile bootstrap CI, resampling a and b independently."""
    name = getattr(stat, "__name__", "stat")
    return _bootstrap_two(a, b, stat, n_boot, level, seed, np.subtract, f"{name} diff, bootstrap")


def bootstrap_stat(
    a: Floats,
    stat: Stat = np.median,
    n_boot: int = 10_000,
    level: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """stat(a) of one sample with a percentile bootstrap CI (e.g. a median per-seed gap)."""
    aa = _vector("a", a)
    boots = _boot(aa, stat, n_boot, np.random.default_rng(seed))
    name = getattr(stat, "__name__", "stat")
    return Estimate(
        float(stat(aa)), _percentile_ci(boots, level), level, aa.size, f"{name}, bootstrap"
    )


# -- counts ---------------------------------------------------------------------


def _check_counts(k: int, n: int) -> None:
    if not (n >= 1 and 0 <= k <= n):
        raise ValueError(f"need 0 <= k <= n and n >= 1, got k={k}, n={n}")


def clopper_pearson(k: int, n: int, level: float = 0.95) -> Estimate:
    """Proportion k/n with its exact two-sided Clopper-Pearson CI."""
    _check_counts(k, n)
    alpha = 1 - level
    lo = 0.0 if k == 0 else float(st.beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(st.beta.ppf(1 - alpha / 2, k + 1, n - k))
    return Estimate(k / n, (lo, hi), level, n, f"Clopper-Pearson, {k}/{n}")


def clopper_pearson_upper(k: int, n: int, level: float = 0.95) -> float:
    """One-sided exact upper confidence bound on a proportion from k successes in n."""
    _check_counts(k, n)
    return 1.0 if k == n else float(st.beta.ppf(level, k + 1, n - k))


def share(successes: Bools, level: float = 0.95) -> Estimate:
    """Share of True with its Clopper-Pearson CI."""
    arr = np.asarray(successes, dtype=bool)
    return clopper_pearson(int(arr.sum()), int(arr.size), level)


def fisher_exact(
    k1: int,
    n1: int,
    k2: int,
    n2: int,
    alternative: Literal["greater", "less", "two-sided"] = "greater",
) -> tuple[float, float]:
    """Fisher's exact test of k1/n1 vs k2/n2 successes: (odds ratio, p-value)."""
    _check_counts(k1, n1)
    _check_counts(k2, n2)
    res = st.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]], alternative=alternative)
    return float(res.statistic), float(res.pvalue)


# -- logistic 50% point ("critical training fraction") ---------------------------


def _fit_logistic(z: np.ndarray, y: np.ndarray, w: np.ndarray, ridge: float) -> tuple[float, float]:
    """Weighted ML fit of P(y) = sigmoid(a + b z); the ridge on b keeps separable data finite."""

    def nll(p: np.ndarray) -> tuple[float, np.ndarray]:
        eta = p[0] + p[1] * z
        f = np.sum(w * (np.logaddexp(0.0, eta) - y * eta)) + 0.5 * ridge * p[1] ** 2
        r = w * (0.5 * (1 + np.tanh(eta / 2)) - y)  # tanh form of the sigmoid cannot overflow
        return f, np.array([r.sum(), (r * z).sum() + ridge * p[1]])

    res = optimize.minimize(nll, np.zeros(2), jac=True, method="BFGS")
    return float(res.x[0]), float(res.x[1])


def logistic_fit(x: Floats, success: Bools, ridge: float = 1e-2) -> tuple[float, float]:
    """(midpoint, slope) of the logistic fit P(success) = sigmoid(slope · (x − midpoint)).

    The same fit `logistic_midpoint` makes (standardized x, ridge on the slope), in x's units,
    for drawing the curve. NaN when only one class is present.
    """
    xa = _vector("x", x, min_n=2)
    y = np.asarray(success, dtype=np.float64)
    if y.shape != xa.shape:
        raise ValueError(f"x has {xa.size} points but success has {y.size}")
    if np.ptp(xa) == 0:
        raise ValueError("logistic_fit needs at least two distinct x values")
    if y.min() == y.max():
        return math.nan, math.nan
    mu, sd = xa.mean(), xa.std()
    a, b = _fit_logistic((xa - mu) / sd, y, np.ones(xa.size), ridge)
    if b == 0:
        return math.nan, 0.0
    return float(mu - sd * a / b), float(b / sd)


def logistic_midpoint(
    x: Floats,
    success: Bools,
    level: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    ridge: float = 1e-2,
) -> Estimate:
    """The x where a logistic fit of P(success) crosses 1/2, with a bootstrap CI."""
    xa = _vector("x", x, min_n=2)
    y = np.asarray(success, dtype=np.float64)
    if y.shape != xa.shape:
        raise ValueError(f"x has {xa.size} points but success has {y.size}")
    n = xa.size
    if np.ptp(xa) == 0:
        raise ValueError("logistic_midpoint needs at least two distinct x values")
    if y.min() == y.max():
        return Estimate(math.nan, _NAN_CI, level, n, "logistic 50% point (one class only)")
    # fit on standardized x so that the ridge means the same thing at any scale
    mu, sd = xa.mean(), xa.std()
    z = (xa - mu) / sd
    a, b = _fit_logistic(z, y, np.ones(n), ridge)
    value = mu - sd * a / b
    rng = np.random.default_rng(seed)
    mids = []
    for _ in range(n_boot):
        w = np.bincount(rng.integers(0, n, size=n), minlength=n).astype(np.float64)
        yw = y[w > 0]
        if yw.min() == yw.max():
            continue  # a resample with one class has no 50% point
        ab, bb = _fit_logistic(z, y, w, ridge)
        if bb == 0:
            continue
        mids.append(mu - sd * ab / bb)
    return Estimate(
        value, _percentile_ci(np.asarray(mids), level), level, n, "logistic ML, bootstrap"
    )
