"""AR-SPIKE (arn §4.3–4.4, Figs 4.3–4.5): after the fit, Adam's training loss spikes by orders
of magnitude (the "slingshot", Thilak et al. 2022), and validation jumps coincide with spikes.

arn gives no numbers for "spike", "jump" or "coincide", so the definitions here are ours:

- **fit**: the first evaluated step with train accuracy ≥ `fit_tau` (0.99): "after training
  loss has fallen near zero".
- **spike** (`metrics.loss_spikes`, as AR-NOUNGROK counts them): a step after the fit whose
  minibatch loss exceeds `factor` (100) × the minimum of the preceding 100 steps' losses.
  arn §4.3 reports factors "of over 10^6"; 100× is two orders of magnitude.
- **jump** (`accuracy_jumps`): test accuracy rising by ≥ `min_rise` (0.1) from one evaluation to
  the next, both at or after the fit; consecutive rising intervals merge into one jump (a, b].
  Evaluations are log-spaced plus a regular grid, so a jump is only placed within (a, b].
- **coincide**: a spike s with a − `window` < s ≤ b: inside the jump's interval or at most
  `window` steps before it (arn: the model "floats in a local minimum … until the loss
  spikes again", so the spike comes first).
- **shuffled-time baseline**: each run's spikes circularly shifted by one uniform offset over
  its post-fit span [fit, budget) (keeps their number and spacing, breaks their timing
  relative to the jumps); the p-value is the share of shifts at least as coincident.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from grokcore import metrics, stats
from grokcore.history import History
from grokcore.record import Check, Verdict
from grokcore.verdicts.judgement import Judgement, judge_checks
from grokcore.verdicts.shares import _demote_on_failed_control, bounded_share


def fit_step(h: History, tau: float = 0.99) -> int | None:
    """First evaluated step with train accuracy ≥ τ, None if the run never fits."""
    t = metrics.first_reach(h.steps, h.train_acc, tau, h.budget)
    return None if t.censored else t.step


def post_fit_spikes(h: History, fit: int | None, factor: float = 100.0) -> list[int]:
    """Steps of the ≥ `factor`× training-loss spikes after step `fit` (none if it never fit)."""
    if fit is None:
        return []
    return [s.step for s in metrics.loss_spikes(h.batch_loss, fit, factor=factor)]


def accuracy_jumps(h: History, start: int, min_rise: float = 0.1) -> list[tuple[int, int]]:
    """Intervals (a, b] of evaluated steps ≥ `start` over which test accuracy rose by ≥ min_rise
    from one evaluation to the next; consecutive rising intervals merge into one jump."""
    steps = np.asarray(h.steps)
    acc = np.asarray(h.test_acc, dtype=np.float64)
    keep = steps >= start
    steps, acc = steps[keep], acc[keep]
    if steps.size < 2:
        return []
    with np.errstate(invalid="ignore"):
        up = np.diff(acc) >= min_rise  # NaN (a diverged run) never jumps
    jumps: list[tuple[int, int]] = []
    for i in np.flatnonzero(up):
        a, b = int(steps[i]), int(steps[i + 1])
        if jumps and jumps[-1][1] == a:
            jumps[-1] = (jumps[-1][0], b)
        else:
            jumps.append((a, b))
    return jumps


def _hits(jumps: np.ndarray, spikes: np.ndarray, window: int) -> np.ndarray:
    """(..., J) bool: jump j has a spike in (a − window, b]. spikes: (..., K)."""
    if jumps.size == 0:
        return np.zeros((*spikes.shape[:-1], 0), bool)
    a, b = jumps[:, 0], jumps[:, 1]
    s = spikes[..., None, :]  # (..., 1, K)
    inside = (s > (a - window)[:, None]) & (s <= b[:, None])
    return np.asarray(inside.any(-1), dtype=bool)


def coincidence(
    runs: Sequence[tuple[int, int, list[int], list[tuple[int, int]]]],
    window: int,
    n_shuffle: int = 2000,
    seed: int = 0,
) -> tuple[int, int, float, float]:
    """(jumps after a spike, jumps, baseline share, one-sided p) over runs given as
    (fit, budget, spike steps, jumps). Baseline: spikes circularly shifted over [fit, budget)."""
    rng = np.random.default_rng(seed)
    hit, total = 0, 0
    shuffled = np.zeros(n_shuffle)
    for fit, budget, spikes, jumps in runs:
        if not jumps:
            continue
        jj = np.asarray(jumps, dtype=np.int64).reshape(-1, 2)
        total += len(jj)
        if not spikes:
            continue
        ss = np.asarray(spikes, dtype=np.int64)
        hit += int(_hits(jj, ss[None, :], window)[0].sum())
        span = max(budget - fit, 1)
        offset = rng.integers(0, span, size=(n_shuffle, 1))
        moved = fit + (ss[None, :] - fit + offset) % span
        shuffled += _hits(jj, moved, window).sum(-1)
    if total == 0:
        return 0, 0, float("nan"), float("nan")
    p = (1 + int(np.count_nonzero(shuffled >= hit))) / (1 + n_shuffle)
    return hit, total, float(shuffled.mean() / total), p


def slingshot(
    adam: Sequence[History],
    sgd: Sequence[History],
    window: int,
    factor: float = 100.0,
    fit_tau: float = 0.99,
    min_rise: float = 0.1,
    most: float = 0.8,
    max_sgd_share: float = 0.2,
    min_jumps: int = 5,
    alpha: float = 0.05,
    n_shuffle: int = 2000,
) -> Judgement:
    """AR-SPIKE: loss spikes after the fit in most Adam runs, jumps follow spikes, SGD has none.

    Checks: (1) share of Adam runs with ≥ 1 spike ≥ `factor`× after the fit ≥ `most`
    (`bounded_share`, CP CI; arn §4.4: spikes occur "for almost every dataset for almost
    every training percentage"); (2) share of post-fit test-accuracy jumps with a spike in
    (a − `window`, b] above the shuffled-time baseline, one-sided permutation p < `alpha`
    (REFUTED when it is not above the baseline at all over ≥ `min_jumps` jumps).
    Control (the catalogue's): SGD runs that fit have no spikes (share ≤ `max_sgd_share`);
    if it fails, or no SGD run fits, a SUPPORTED verdict becomes INCONCLUSIVE.
    Positive control: the Adam arm has spikes at all and test-accuracy jumps after the fit.
    """
    if window < 1:
        raise ValueError(f"slingshot: window must be ≥ 1 step, got {window}")
    runs: list[dict[str, Any]] = []
    events: list[tuple[int, int, list[int], list[tuple[int, int]]]] = []
    counts = {"adam": [0, 0], "sgd": [0, 0]}  # [runs that fit, of which with a spike]
    for arm, hs in (("adam", adam), ("sgd", sgd)):
        for h in hs:
            fit = fit_step(h, fit_tau)
            spikes = post_fit_spikes(h, fit, factor)
            jumps = [] if fit is None else accuracy_jumps(h, fit, min_rise)
            if fit is not None:
                counts[arm][0] += 1
                counts[arm][1] += bool(spikes)
                if arm == "adam":
                    events.append((fit, h.budget, spikes, jumps))
            runs.append(
                {
                    "arm": arm,
                    "seed": h.config.get("seed"),
                    "fit step": fit,
                    f"spikes ≥{factor:g}×": len(spikes),
                    "first spikes": ", ".join(map(str, spikes[:5])),
                    "test jumps": ", ".join(f"({a}, {b}]" for a, b in jumps[:5]),
                    "final_test_acc": round(float(h.test_acc[-1]), 4),
                }
            )
    n_adam = len(adam)
    fit_a, spiky_a = counts["adam"]
    hit, n_jumps, base, p = coincidence(events, window, n_shuffle)
    positive = _positive(n_adam, fit_a, spiky_a, n_jumps, factor)
    share = bounded_share(
        f"Adam runs with ≥ 1 spike ≥ {factor:g}× after the fit (train acc ≥ {fit_tau})",
        spiky_a,
        n_adam,
        most,
        "at_least",
        f"{fit_a} of {n_adam} runs fit",
        paper_value="spikes 'by a factor of over 10^6' for almost every dataset (§4.3–4.4)",
    )
    checks = [share, _coincidence_check(hit, n_jumps, base, p, window, alpha, min_jumps)]
    fit_s, spiky_s = counts["sgd"]
    if fit_s:
        ctrl = bounded_share(
            f"SGD runs that fit with ≥ 1 spike ≥ {factor:g}× after the fit",
            spiky_s,
            fit_s,
            max_sgd_share,
            "at_most",
        )
    else:
        ctrl = Check(
            "SGD runs that fit with a spike after the fit",
            float("nan"),
            None,
            f"share ≤ {max_sgd_share:g}",
            Verdict.INCONCLUSIVE,
            detail=f"none of {len(sgd)} SGD runs fit: no post-fit period to be spike-free",
        )
    j = judge_checks(
        checks,
        [ctrl],
        runs,
        {
            Verdict.SUPPORTED: "Adam's training loss spikes after the fit, test-accuracy "
            "jumps follow spikes more often than shuffled spike times do, and SGD does not spike",
            Verdict.REFUTED: "Adam runs do not spike after the fit, or test-accuracy jumps do "
            "not follow spikes",
            Verdict.INCONCLUSIVE: "the spike share or the coincidence could not be pinned down",
        },
        positive,
    )
    return _demote_on_failed_control(j)


def _positive(n: int, fit: int, spiky: int, n_jumps: int, factor: float) -> Check:
    """The Adam arm fits, spikes at all, and has test-accuracy jumps after the fit."""
    name = "positive control: Adam runs fit, spike and jump"
    region = f"≥ 1 fitting run with a spike ≥ {factor:g}×, and ≥ 1 test-accuracy jump after the fit"
    ok = spiky > 0 and n_jumps > 0
    if fit == 0:
        detail = f"none of {n} Adam runs reached the fit"
    elif spiky == 0:
        detail = f"0 of {fit} fitting Adam runs spike ≥ {factor:g}× after the fit"
    elif n_jumps == 0:
        detail = "no test-accuracy jump after the fit in any Adam run (nothing generalizes late)"
    else:
        detail = f"{spiky} of {fit} fitting runs spike; {n_jumps} jumps after the fit"
    return Check(
        name,
        spiky / n if n else float("nan"),
        None,
        region,
        Verdict.SUPPORTED if ok else Verdict.INCONCLUSIVE,
        detail=detail,
    )


def _coincidence_check(
    hit: int, n: int, base: float, p: float, window: int, alpha: float, min_jumps: int
) -> Check:
    name = f"test-accuracy jumps with a spike ≤ {window:,} steps before or during them"
    region = f"above the shuffled-time baseline, permutation p < {alpha:g}"
    if n == 0:
        return Check(name, float("nan"), None, region, Verdict.INCONCLUSIVE, detail="no jumps")
    est = stats.clopper_pearson(hit, n)
    if p < alpha and hit / n > base:
        verdict = Verdict.SUPPORTED
    elif hit / n <= base and n >= min_jumps:
        verdict = Verdict.REFUTED
    else:
        verdict = Verdict.INCONCLUSIVE
    return Check(
        name,
        est.value,
        est.ci,
        region,
        verdict,
        detail=f"{hit} of {n} jumps; shuffled spike times give {base:.2f}; p = {p:.3g}",
        paper_value="'the spikes of the validation and training losses mirror each other' "
        "(§4.3, Fig 4.4); no number given",
    )


def precision_spikes(
    f32: Sequence[History],
    f64: Sequence[History],
    factor: float = 100.0,
    fit_tau: float = 0.99,
    most: float = 0.8,
    few: float = 0.2,
    alpha: float = 0.05,
) -> Judgement:
    """BX-SLING (Liu et al. 2026): the post-fit spikes are a float32 effect; the loss in
    float64 removes them.

    Over the runs of each arm that fit (train accuracy ≥ `fit_tau`; a run that never fits has
    no post-fit period, so it could not count as spike-free), the share with ≥ 1 spike ≥
    `factor`× after the fit (`post_fit_spikes`, as AR-SPIKE counts them). Positive control:
    ≥ `most` of the fitting float32 runs spike (AR-SPIKE's own arm; the claim's "float32 ≥
    80%"). Checks: the float64 share ≤ `few` (`bounded_share`, CP CI), and a one-sided Fisher
    exact test that float32 runs spike more often, p < `alpha` (REFUTED when the float64 share
    is as high as the float32 one, else INCONCLUSIVE: too few seeds). INCONCLUSIVE when no
    float64 run fits.
    """
    counts: dict[str, list[int]] = {}
    runs: list[dict[str, Any]] = []
    for arm, hs in (("float32", f32), ("float64", f64)):
        fits = spiky = 0
        for h in hs:
            fit = fit_step(h, fit_tau)
            spikes = post_fit_spikes(h, fit, factor)
            fits += fit is not None
            spiky += bool(spikes)
            runs.append(
                {
                    "arm": f"loss {arm}",
                    "seed": h.config.get("seed"),
                    "fit step": fit,
                    f"spikes ≥{factor:g}×": len(spikes),
                    "first spikes": ", ".join(map(str, spikes[:5])),
                    "final_test_acc": round(float(h.test_acc[-1]), 4),
                }
            )
        counts[arm] = [spiky, fits, len(hs)]
    k32, n32, all32 = counts["float32"]
    k64, n64, all64 = counts["float64"]
    positive = bounded_share(  # judge_checks: anything but SUPPORTED fails the control
        f"positive control: float32 runs that fit with ≥ 1 spike ≥ {factor:g}× after it",
        k32,
        n32,
        most,
        "at_least",
        f"{n32} of {all32} float32 runs fit",
    )
    if n32 == 0:
        positive = replace(positive, detail=f"none of {all32} float32 runs fit")
    few_check = bounded_share(
        f"float64-loss runs that fit with ≥ 1 spike ≥ {factor:g}× after the fit",
        k64,
        n64,
        few,
        "at_most",
        f"{n64} of {all64} float64 runs fit; float32 {k32} of {n32}",
        paper_value="float64 loss removes the spikes (Liu et al. 2026, abstract); no share given",
    )
    if n64 == 0:
        few_check = replace(few_check, verdict=Verdict.INCONCLUSIVE, detail="no float64 run fit")
    if n32 and n64:
        _, p = stats.fisher_exact(k32, n32, k64, n64, alternative="greater")
        worse = k64 / n64 >= k32 / n32
    else:
        p, worse = float("nan"), False
    fisher = Check(
        "one-sided Fisher exact p, float32 runs spike more often than float64-loss runs",
        p,
        None,
        f"p < {alpha:g}",
        Verdict.SUPPORTED if p < alpha else (Verdict.REFUTED if worse else Verdict.INCONCLUSIVE),
        detail=f"float32 {k32}/{n32} vs float64 {k64}/{n64}",
        bounds=(0.0, alpha),
    )
    return judge_checks(
        [few_check, fisher],
        [],
        runs,
        {
            Verdict.SUPPORTED: "the post-fit spikes go away when the loss is computed in float64",
            Verdict.REFUTED: "float64-loss runs spike after the fit as often as float32 runs",
            Verdict.INCONCLUSIVE: "too few fitting runs to separate float32 from float64",
        },
        positive,
    )
