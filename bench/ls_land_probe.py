"""Issue 25 item 5: how firm is LS-LAND's quick-tier ratio? The claim's own measure (li-sakib
§3.3: the training loss's max − min over a 2-D slice along two filter-normalized Gaussian
directions, `grokcore.landscape`) re-read over the span of the slice, the directions' seed,
and the seed set, from runs already in a cache (nothing trains).

    python bench/ls_land_probe.py --cache DIR[,DIR...] --base-seeds 0 100 200 \
        [--spans 0.25 0.5 1.0] [--direction-seeds 3] [--scale quick]

Each (base seed, span, direction seed) gives the claim's statistic (`range_ratio`: median
range of grokked runs / median range of non-grokking runs, bootstrap CI); the pooled row
puts the runs of every base seed into one arm each. Writes bench/results/ls-land-HOST.json
and prints a table.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _results import write_results

from claims.li_sakib import GROK_RATIO, LAND_CALM, LAND_GROK, LAND_POINTS, MAX_CONTROL_SHARE, NEED
from claims.li_sakib import TAU as LAND_TAU
from grokcore.cache import RunCache
from grokcore.landscape import loss_slice
from grokcore.spec import Scope, load_registry
from grokcore.verdicts.landscape import range_ratio

DIRECTION_STRIDE = 1000  # direction seed d of a run of seed s: s + d·1000 (d = 0: the claim's)


def _runs(caches: list[RunCache], scope: Scope):
    """LS-LAND's arms at `scope` and their cached histories (an error names what is missing)."""
    spec = next(s for s in load_registry() if s.id == "LS-LAND")
    arms = spec.prepare(scope)
    out = {}
    for name, cs in arms.items():
        hs = []
        for c in cs:
            h = next((h for cache in caches if (h := cache.load(c.key(), expect=c))), None)
            if h is None or h.final_params is None:
                raise SystemExit(
                    f"ls_land_probe: error: run {c.key()} (seed {c.seed}, {name}) is not in the "
                    "cache with its weights: run `pytest claims/ -k LS-LAND --scale "
                    f"{scope.scale} --base-seed {scope.base_seed}` first"
                )
            hs.append(h)
        out[name] = (cs, hs)
    return out


_RANGES: dict[tuple[str, float, int], float] = {}  # (run key, span, direction seed) -> range


def _range(c, h, span: float, d: int, points: int) -> float:
    at = (c.key(), span, d)
    if at not in _RANGES:  # the pooled rows reuse each base seed's slices
        seed = c.seed + d * DIRECTION_STRIDE
        _RANGES[at] = loss_slice(c, h, points=points, span=span, seed=seed).range
    return _RANGES[at]


def _judge(arms, span: float, d: int, points: int) -> dict:
    ranges = {
        name: [_range(c, h, span, d, points) for c, h in zip(cs, hs, strict=True)]
        for name, (cs, hs) in arms.items()
    }
    j = range_ratio(
        arms[LAND_GROK][1], ranges[LAND_GROK], arms[LAND_CALM][1], ranges[LAND_CALM],
        ratio=GROK_RATIO, min_delay_steps=None, need=NEED,
        max_control_share=MAX_CONTROL_SHARE, tau=LAND_TAU, seed=0,
    )  # fmt: skip
    main = j.checks[0]
    lo, hi = main.ci if main.ci is not None else (float("nan"), float("nan"))
    return {"ratio": main.value, "ci": [lo, hi], "verdict": j.verdict.value,
            "grokked": sum(r["phase"] == "grokking" for r in j.runs if r["arm"] == "grok"),
            "of": sum(r["arm"] == "grok" for r in j.runs)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", required=True, help="run cache(s), comma-separated")
    p.add_argument("--base-seeds", type=int, nargs="+", default=[0, 100, 200])
    p.add_argument("--spans", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    p.add_argument("--direction-seeds", type=int, default=3)
    p.add_argument("--scale", default="quick", choices=["quick", "full"])
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args(argv)
    caches = [RunCache(Path(c)) for c in a.cache.split(",")]
    points = LAND_POINTS[a.scale]
    per_base = {b: _runs(caches, Scope(a.scale, base_seed=b)) for b in a.base_seeds}
    pooled = {
        name: tuple([x for b in a.base_seeds for x in per_base[b][name][i]] for i in (0, 1))
        for name in (LAND_GROK, LAND_CALM)
    }
    rows = []
    for span in a.spans:
        for d in range(a.direction_seeds):
            for b, arms in [*per_base.items(), ("pooled", pooled)]:
                r = {"base_seed": b, "span": span, "direction_seed": d}
                r.update(_judge(arms, span, d, points))
                rows.append(r)
                print(
                    f"span {span:4.2f} dirs {d} base {b!s:>6}: ratio {r['ratio']:.3f} "
                    f"[{r['ci'][0]:.3f}, {r['ci'][1]:.3f}] {r['verdict']:12s} "
                    f"grokked {r['grokked']}/{r['of']}",
                    flush=True,
                )
    write_results(
        "ls-land", a.out, rows, scale=a.scale, points=points, base_seeds=a.base_seeds,
        note="the claim's measure (span 1.0, direction seed 0) at each base seed, and re-read "
        "over the span and the directions' seed; pooled: every base seed's runs in one arm",
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
