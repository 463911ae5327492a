"""What LS-CORR's paper-tier sweep (li-sakib's 3,600 runs, `setups.li_sakib_sweep`) costs.

Counts the sweep's arithmetic with `grokcore.estimate.flops` (6 · dense parameters · tokens
a step, plus its evaluations), by batch size, and the wall time it implies at given
sustained rates. No GPU is needed: it says what a GPU session has to deliver before one is
spent on it. Writes bench/results/sweep-cost.json.

    python bench/sweep_cost.py                        # rates 17 (measured) and 50 TFLOP/s
    python bench/sweep_cost.py --tflops 17 50 80 --runs 3600
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from grokcore import estimate, setups

# The Nanda transformer at K = 64 on one H100 in fp32 (issue 7's table, eager vmap step):
# the nearest measured rate for a 2-layer d = 128 transformer ensemble.
MEASURED_TFLOPS = 17.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=setups.LI_SAKIB_SWEEP_RUNS)
    ap.add_argument("--tflops", type=float, nargs="+", default=[MEASURED_TFLOPS, 50.0])
    ap.add_argument("--out", type=Path, default=Path("bench/results/sweep-cost.json"))
    args = ap.parse_args()

    configs = setups.li_sakib_sweep(n=args.runs, scale="full")
    by_batch: dict[int, dict[str, float]] = defaultdict(lambda: {"runs": 0, "flop": 0.0})
    for c in configs:
        step, evaluation = estimate.flops(c)
        row = by_batch[c.batch_size or 0]
        row["runs"] += 1
        row["flop"] += c.steps * step + c.eval_points * evaluation
    total = sum(r["flop"] for r in by_batch.values())
    print(f"{len(configs)} runs of {configs[0].steps:,} steps: {total:.3g} FLOP")
    print(f"{'batch':>6}{'runs':>6}{'FLOP':>11}{'share':>7}")
    for b in sorted(by_batch):
        r = by_batch[b]
        print(f"{b or 'full':>6}{r['runs']:>6.0f}{r['flop']:>11.3g}{r['flop'] / total:>7.0%}")
    hours = {f"{t:g}": total / (t * 1e12) / 3600 for t in args.tflops}
    for t, h in hours.items():
        print(f"at {t} TFLOP/s sustained: {h * 60:,.0f} min")
    need = total / 3600 / 1e12
    print(f"60 min needs {need:,.0f} TFLOP/s sustained")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "runs": len(configs),
                "steps": configs[0].steps,
                "total_flop": total,
                "by_batch_size": {str(b): r for b, r in sorted(by_batch.items())},
                "hours_at_tflops": hours,
                "tflops_for_one_hour": need,
            },
            indent=2,
        )
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
