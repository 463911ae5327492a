"""Claim statistics: histories in, checks and a verdict out.

Each function here is the statistic of one kind of claim in CLAIMS.md, written
once so that the claim test and the unit test that feeds it the control (or
synthetic data that violates the claim) run the very same code.

Every statistic has a *positive control*: an arm that must show the phenomenon at all
(grokking happens in this setting, within this budget). When it fails, the comparison
says nothing about the claim, so the verdict is INCONCLUSIVE with the reason
"positive control failed: …", never REFUTED and never SUPPORTED by vacuity. The
positive control is the first entry of the judgement's `control` checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from grokcore import metrics, stats
from grokcore.history import History
from grokcore.metrics import Timing
from grokcore.record import Check, Verdict, combine
from grokcore.stats import Region


@dataclass
class Judgement:
    """A claim's statistic: its checks, the control's checks, a verdict and per-run numbers."""

    verdict: Verdict
    reason: str
    checks: list[Check]
    control: list[Check] = field(default_factory=list)
    runs: list[dict] = field(default_factory=list)
    fit: stats.Estimate | None = None  # the fitted headline estimate, for the claim's figure


def timings(h: History, tau_train: float = 0.95, tau_test: float = 0.95) -> tuple[Timing, Timing]:
    """(t_train, t_test): first evaluated steps with train / test accuracy ≥ τ (censored)."""
    return (
        metrics.first_reach(h.steps, h.train_acc, tau_train, h.budget),
        metrics.first_reach(h.steps, h.test_acc, tau_test, h.budget),
    )


def _count_check(name: str, k: int, n: int, ok: bool, region: str, detail: str = "") -> Check:
    return Check(
        name=name,
        value=k / n if n else float("nan"),
        ci=None,
        region=region,
        verdict=Verdict.SUPPORTED if ok else Verdict.REFUTED,
        detail=detail or f"{k} of {n} runs",
    )


def _judgement(
    checks: list[Check],
    control: list[Check],
    runs: list[dict],
    why: dict[Verdict, str],
    positive: Check | None = None,
) -> Judgement:
    """Combine the checks; a failed positive control overrides them with INCONCLUSIVE."""
    if positive is not None:
        control = [positive, *control]
        if positive.verdict is not Verdict.SUPPORTED:
            reason = f"positive control failed: {positive.name} — {positive.detail}"
            return Judgement(Verdict.INCONCLUSIVE, reason, checks, control, runs)
    v = combine([c.verdict for c in checks])
    failing = "; ".join(
        f"{c.name}: {c.verdict.value}" for c in checks if c.verdict is not Verdict.SUPPORTED
    )
    reason = why.get(v, "") + (f" ({failing})" if failing else "")
    return Judgement(v, reason, checks, control, runs)


def positive_control(name: str, k: int, n: int, need: float, what: str) -> Check:
    """Positive control: at least `need` of the n runs of an arm show the phenomenon."""
    ok = n > 0 and k >= need * n
    return Check(
        name=f"positive control: {name}",
        value=k / n if n else float("nan"),
        ci=None,
        region=f"≥ {need:.0%} of runs {what}",
        verdict=Verdict.SUPPORTED if ok else Verdict.INCONCLUSIVE,
        detail=f"{k} of {n} runs {what}",
    )


# -- OG-INV: t_test ∝ 1/γ, t_train independent of γ ---------------------------------------


def inverse_scaling(
    gammas: Sequence[float],
    histories: Sequence[History],
    control: Sequence[History] = (),
    tau: float = 0.95,
    max_censored: float = 1 / 3,
) -> Judgement:
    """OLS of log t on log γ: the t_test slope's CI must contain −1 and exclude 0; t_train flat."""
    runs, tt, te, g_ok = [], [], [], []
    for g, h in zip(gammas, histories, strict=True):
        a, b = timings(h, tau, tau)
        runs.append(
            {
                "gamma": g,
                "t_train": a.step,
                "t_test": b.step,
                "censored": b.censored,
                "seed": h.config.get("seed"),
            }
        )
        if not b.censored and not a.censored:
            g_ok.append(g)
            tt.append(max(a.step, 1))
            te.append(max(b.step, 1))
    n_cens = len(runs) - len(g_ok)
    checks: list[Check] = []
    fit = None
    positive = positive_control(
        "sweep runs that fit and generalize in budget",
        len(g_ok),
        len(runs),
        1 - max_censored,
        "reach train and test accuracy ≥ τ",
    )
    if len(set(g_ok)) < 3 and positive.verdict is Verdict.SUPPORTED:
        positive = replace(
            positive,
            verdict=Verdict.INCONCLUSIVE,
            detail=positive.detail + f", at only {len(set(g_ok))} γ values (need 3)",
        )
    if positive.verdict is Verdict.SUPPORTED:
        slope = fit = stats.loglog_slope(g_ok, te)
        detail = f"OLS on {len(g_ok)} runs, {n_cens} censored runs reported, not fitted"
        checks.append(
            stats.judge(
                slope,
                Region.contains(-1.0),
                "slope of log t_test on log γ",
                detail,
                paper_value="−1 (t ≈ ln(w0/wc)/γ)",
            )
        )
        checks.append(
            stats.judge(slope, Region.excludes(0.0), "t_test slope differs from 0", detail)
        )
        t_fit = stats.loglog_slope(g_ok, tt)
        flat = t_fit.ci[0] <= 0 <= t_fit.ci[1] or abs(t_fit.value) < 0.2
        checks.append(
            Check(
                "slope of log t_train on log γ",
                t_fit.value,
                t_fit.ci,
                "CI contains 0 or |slope| < 0.2",
                Verdict.SUPPORTED if flat else Verdict.REFUTED,
                detail=detail,
                paper_value="0 (fitting time independent of γ)",
            )
        )
    ctrl = []
    if control:
        k = sum(not timings(h, tau, tau)[1].censored for h in control)
        ctrl.append(
            _count_check(
                "γ = 0 runs that generalize",
                k,
                len(control),
                k == 0,
                "none (no weight decay, no generalization)",
            )
        )
    j = _judgement(
        checks,
        ctrl,
        runs,
        {
            Verdict.SUPPORTED: "t_test falls as 1/γ while t_train does not depend on γ",
            Verdict.REFUTED: "the scaling of generalization time with γ is not 1/γ",
            Verdict.INCONCLUSIVE: "the slope's CI straddles a boundary of the region",
        },
        positive,
    )
    j.fit = fit
    return j


# -- AR-NOUNGROK: once generalized, never settles in a worse state ---------------------------


def min_runs_for_bound(max_rate: float, level: float = 0.95) -> int:
    """Fewest runs for which 0 events can bound the rate below `max_rate` (one-sided CP)."""
    n = 1
    while stats.clopper_pearson_upper(0, n, level) >= max_rate:
        n += 1
    return n


def no_ungrokking(
    histories: Sequence[History],
    labels: Sequence[str],
    multiple: float = 3.0,
    high: float = 0.99,
    low: float = 0.9,
    max_rate: float = 0.1,
    spike_factor: float = 100.0,
) -> Judgement:
    """One-sided 95% Clopper–Pearson upper bound on the un-grokking rate must be < max_rate.

    Only runs that reached `high` and trained ≥ `multiple` × their t_test count. Positive
    control: enough such runs for 0 events to bound the rate (29 for 0.1), and at least
    one training-loss spike of ≥ `spike_factor`× after the first fit among them. Without
    spikes (arn §4.3's slingshots) nothing ever knocked a run out of its generalizing
    state, so "it never un-grokked" has no power.
    """
    runs, k, n, spikes = [], 0, 0, 0
    for label, h in zip(labels, histories, strict=True):
        u = metrics.ungrokking(h, high, low)
        long_enough = u.reached and h.budget >= multiple * max(u.first_high or 1, 1)
        fit = metrics.first_reach(h.steps, h.train_acc, high, h.budget)
        n_spikes = (
            0
            if fit.censored
            else len(metrics.loss_spikes(h.batch_loss, fit.step, factor=spike_factor))
        )
        runs.append(
            {
                "run": label,
                "reached": u.reached,
                "t_high": u.first_high,
                "budget": h.budget,
                "counted": long_enough,
                "ungrokked": u.ungrokked,
                "transient_dips": u.transient_dips,
                f"spikes ≥{spike_factor:g}× after fit": n_spikes,
            }
        )
        if long_enough:
            n += 1
            k += u.ungrokked
            spikes += n_spikes
    need = min_runs_for_bound(max_rate)
    positive = Check(
        f"positive control: runs that reach test accuracy ≥ {high} with {multiple:g}× budget left",
        n,
        None,
        f"≥ {need} (fewer cannot bound the rate below {max_rate} even with 0 events)",
        Verdict.SUPPORTED if n >= need else Verdict.INCONCLUSIVE,
        detail=f"{n} of {len(runs)} runs qualify",
    )
    if positive.verdict is Verdict.SUPPORTED and spikes == 0:
        positive = Check(
            f"positive control: loss spikes ≥ {spike_factor:g}× after the first fit",
            0,
            None,
            "≥ 1 spike among the qualifying runs",
            Verdict.INCONCLUSIVE,
            detail=f"0 spikes in {n} qualifying runs: no event that could un-grok a run, so "
            "the test has no power against un-grokking",
        )
    checks: list[Check] = []
    if n:
        ub = stats.clopper_pearson_upper(k, n)
        dips = sum(r["transient_dips"] for r in runs)
        checks.append(
            Check(
                "un-grokking rate (upper 95% CP bound)",
                k / n,
                (0.0, ub),
                f"upper bound < {max_rate}",
                Verdict.SUPPORTED
                if ub < max_rate
                else (Verdict.REFUTED if k / n >= max_rate else Verdict.INCONCLUSIVE),
                detail=f"{k} of {n} qualifying runs un-grokked; {dips} transient dips "
                f"(recovered); {spikes} loss spikes ≥ {spike_factor:g}× after the first fit",
                paper_value="0 observed (arn §4.4)",
            )
        )
    return _judgement(
        checks,
        [],
        runs,
        {
            Verdict.SUPPORTED: "no run that generalized fell back for good",
            Verdict.REFUTED: "runs un-grokked at a rate the claim excludes",
            Verdict.INCONCLUSIVE: "too few qualifying runs to bound the un-grokking rate below 0.1",
        },
        positive,
    )


# -- OG-CE, OG-CONSTR: one arm's grokking delay is a fraction of another's -----------------


def delay_ratio(
    treat: Sequence[History],
    reference: Sequence[History],
    bound: float,
    names: tuple[str, str],
    tau_train: float = 0.95,
    tau_test: float = 0.95,
    min_reference_delay: float = 1.0,
    treat_must_generalize: bool = False,
) -> Judgement:
    """Median delay ratio treat/reference with a bootstrap CI, judged against `Region.below(bound)`.

    Positive control: the reference arm must itself grok (median delay >
    min_reference_delay × median t_train, most runs generalizing), else the comparison
    says nothing and the verdict is INCONCLUSIVE.
    Censored delays are lower bounds. Censoring in the reference makes the ratio an
    overestimate: safe for SUPPORTED, but it cannot refute, so REFUTED turns
    INCONCLUSIVE. Censoring in the treatment arm makes the ratio an underestimate,
    so SUPPORTED turns INCONCLUSIVE. A reference arm counts as grokking only if most
    of its runs actually generalize in budget.
    """
    tname, rname = names
    rows: dict[str, list] = {tname: [], rname: []}
    runs = []
    for arm, hs in ((tname, treat), (rname, reference)):
        for h in hs:
            a, b = timings(h, tau_train, tau_test)
            d = max(b.step - a.step, 0)
            rows[arm].append((a, b, d))
            runs.append(
                {
                    "arm": arm,
                    "seed": h.config.get("seed"),
                    "t_train": a.step,
                    "t_test": b.step,
                    "delay": d,
                    "test_censored": b.censored,
                    "final_test_acc": round(float(h.test_acc[-1]), 4),
                }
            )
    r_delay = np.array([d for _, _, d in rows[rname]], float)
    r_fit = np.array([a.step for a, _, _ in rows[rname]], float)
    t_delay = np.array([d for _, _, d in rows[tname]], float)
    checks = []
    r_general = sum(not b.censored for _, b, _ in rows[rname])
    ratio_d = float(np.median(r_delay) / max(np.median(r_fit), 1))
    groks = ratio_d > min_reference_delay and 2 * r_general > len(rows[rname])
    positive = Check(
        f"positive control: {rname} arm groks (median D / median t_train)",
        ratio_d,
        None,
        f"> {min_reference_delay}, most runs reaching test ≥ {tau_test}",
        Verdict.SUPPORTED if groks else Verdict.INCONCLUSIVE,
        detail=f"median D = {np.median(r_delay):.0f}, median t_train = "
        f"{np.median(r_fit):.0f}; {r_general} of {len(rows[rname])} "
        f"reach test ≥ {tau_test} in budget",
    )
    est = stats.bootstrap_ratio(t_delay, np.maximum(r_delay, 1))
    ratio = stats.judge(
        est,
        Region.below(bound),
        f"delay ratio {tname}/{rname}",
        f"ratio of median delays, percentile bootstrap, n={len(t_delay)}+{len(r_delay)}",
    )
    censored_t = sum(b.censored for _, b, _ in rows[tname])
    censored_r = len(rows[rname]) - r_general
    if censored_t and ratio.verdict is Verdict.SUPPORTED:
        ratio = replace(
            ratio,
            verdict=Verdict.INCONCLUSIVE,
            detail=ratio.detail + f"; {censored_t} {tname} runs censored",
        )
    if censored_r and ratio.verdict is Verdict.REFUTED:
        ratio = replace(
            ratio,
            verdict=Verdict.INCONCLUSIVE,
            detail=ratio.detail + f"; {censored_r} {rname} runs censored "
            "(their delays are lower bounds)",
        )
    checks.insert(0, ratio)  # the headline statistic first: the report's summary shows it
    if treat_must_generalize:
        k = sum(not b.censored for _, b, _ in rows[tname])
        n = len(rows[tname])
        ok = (
            Verdict.SUPPORTED
            if k == n
            else (Verdict.REFUTED if 2 * k < n else Verdict.INCONCLUSIVE)
        )
        checks.append(
            Check(
                f"{tname} runs reaching test accuracy ≥ {tau_test}",
                k / n,
                None,
                "all",
                ok,
                detail=f"{k} of {n}",
            )
        )
    return _judgement(
        checks,
        [],
        runs,
        {
            Verdict.SUPPORTED: f"{tname} cuts the grokking delay of {rname} below {bound}×",
            Verdict.REFUTED: f"{tname} does not cut the delay below {bound}× of {rname}",
            Verdict.INCONCLUSIVE: "the comparison could not be made cleanly",
        },
        positive,
    )


# -- RP-LATEWD: weight decay switched on late still groks; off early does not --------------


def share_generalizing(hs: Sequence[History], tau: float = 0.95) -> tuple[int, int]:
    k = sum(not timings(h, tau, tau)[1].censored for h in hs)
    return k, len(hs)


def switch_arms(
    late_on: Sequence[History],
    early_off: Sequence[History],
    never: Sequence[History],
    always_on: Sequence[History],
    tau: float = 0.95,
    high: float = 0.8,
    low: float = 0.2,
    alpha: float = 0.05,
) -> Judgement:
    """late-on share ≥ high (Fisher exact vs γ = 0, p < alpha); early-off share ≤ low.

    Positive control: with weight decay on throughout, ≥ `high` of the runs generalize;
    otherwise the setting cannot grok in budget at all and "early-off does not
    generalize" would pass by vacuity.
    """
    ka, na = share_generalizing(always_on, tau)
    positive = positive_control(
        "γ on throughout generalizes", ka, na, high, f"reach test accuracy ≥ {tau}"
    )
    kl, nl = share_generalizing(late_on, tau)
    ke, ne = share_generalizing(early_off, tau)
    k0, n0 = share_generalizing(never, tau)
    _, p = stats.fisher_exact(kl, nl, k0, n0, alternative="greater")
    late = Check(
        "late-on share generalizing",
        kl / nl,
        stats.clopper_pearson(kl, nl).ci,
        f"≥ {high} and Fisher p < {alpha} vs γ = 0",
        Verdict.SUPPORTED if kl / nl >= high and p < alpha else Verdict.REFUTED,
        detail=f"{kl}/{nl} vs γ=0 {k0}/{n0}, one-sided Fisher p = {p:.3g}",
    )
    early = Check(
        "early-off share generalizing",
        ke / ne,
        stats.clopper_pearson(ke, ne).ci,
        f"≤ {low}",
        Verdict.SUPPORTED if ke / ne <= low else Verdict.REFUTED,
        detail=f"{ke}/{ne}",
    )
    ctrl = [
        _count_check("γ = 0 throughout: share generalizing", k0, n0, k0 / n0 <= low, f"≤ {low}")
    ]
    runs = []
    arms = (("late-on", late_on), ("early-off", early_off), ("γ=0", never), ("on", always_on))
    for arm, hs in arms:
        for h in hs:
            t = timings(h, tau, tau)[1]
            runs.append(
                {
                    "arm": arm,
                    "seed": h.config.get("seed"),
                    "t_test": t.step,
                    "generalized": not t.censored,
                    "final_test_acc": round(float(h.test_acc[-1]), 4),
                }
            )
    return _judgement(
        [late, early],
        ctrl,
        runs,
        {
            Verdict.SUPPORTED: "late weight decay still groks, early-removed decay does not",
            Verdict.REFUTED: "the weight-decay schedule arms do not behave as claimed",
            Verdict.INCONCLUSIVE: "",
        },
        positive,
    )


def merge(parts: dict[str, Judgement]) -> Judgement:
    """One claim judged on several setups: every setup's checks must hold."""
    checks, control, runs = [], [], []
    for name, j in parts.items():
        checks += [Check(**{**c.__dict__, "name": f"{name}: {c.name}"}) for c in j.checks]
        control += [Check(**{**c.__dict__, "name": f"{name}: {c.name}"}) for c in j.control]
        runs += [{"setup": name, **r} for r in j.runs]
    verdict = combine([j.verdict for j in parts.values()])
    reason = "; ".join(f"{name}: {j.reason}" for name, j in parts.items())
    return Judgement(verdict, reason, checks, control, runs)
