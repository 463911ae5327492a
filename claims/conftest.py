"""Claims: the expectation table (claims/expectations.py) becomes strict per-scale markers,
and at the quick tier the longest claims start first."""

from __future__ import annotations

import pytest

from claims.expectations import EXPECTED
from grokcore.record import Verdict
from grokcore.session import OPTIONS

_MARK = {Verdict.REFUTED: "expect_refuted", Verdict.INCONCLUSIVE: "expect_inconclusive"}

# Seconds each claim took at the quick tier on the project's 2-core CPU machine, rounded
# (`duration_s` in results.json of `pytest claims/ -n 2 --scale quick`, empty cache,
# 2026-12-05). Used for one thing: the longest claims are handed out first (longest
# processing time first), so that the workers finish together instead of one training a long
# claim alone at the end. A claim not listed keeps its place after the listed ones; a stale
# number costs balance, never a result.
QUICK_SECONDS: dict[str, int] = {
    "AR-FRAC": 114, "OG-TS": 109, "OG-INV": 109, "RP-RNN": 107, "OG-LU": 101, "OG-CRIT": 87,
    "AR-NOUNGROK": 86, "LS-DIV": 81, "AR-OPS": 81, "LS-CORR": 72, "LS-WD2": 72, "RP-FRAC": 63,
    "RP-LATEWD": 54, "OG-CONSTR": 51, "LS-ATTN": 48, "LS-MNIST[aug1.0]": 45,
    "LS-MNIST[aug0.1]": 44, "LS-MNIST[aug0.2]": 43, "LS-MNIST[aug0.3]": 43, "OG-NORM": 41,
    "LS-MNIST[bs1024]": 40, "LS-BAND": 37, "LS-MNIST[init0.1]": 27, "LS-MNIST[ce]": 26,
    "LS-MNIST[base]": 26, "LS-MNIST[bs128]": 26, "LS-MNIST[nowd]": 25, "OG-MNIST": 25,
    "LS-MNIST[2k]": 25, "LS-MNIST[3k]": 25, "LS-MNIST[bs32]": 24, "LS-MNIST[4k]": 24,
    "LS-MNIST[adam]": 23, "LS-MNIST[5k]": 23, "LS-MNIST[sgd]": 21, "OG-DATA": 19,
    "OG-REPR": 15, "LS-LAND": 12, "AR-SPIKE": 80,  # AR-SPIKE: measured alone, 2026-12-05
}  # fmt: skip


def _claim_id(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("claim")
    return marker.args[0] if marker else None


def longest_first(items: list[pytest.Item]) -> None:
    """Sort `items` in place, longest expected quick-tier claim first (a stable sort:
    unlisted items keep their order, after the listed ones)."""
    items.sort(key=lambda item: -QUICK_SECONDS.get(_claim_id(item) or "", 0))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        claim = item.get_closest_marker("claim")
        if claim is None:
            continue
        for (claim_id, scale), exp in EXPECTED.items():
            if claim_id == claim.args[0]:
                item.add_marker(
                    getattr(pytest.mark, _MARK[exp.verdict])(scale=scale, reason=exp.why)
                )
    options = config.stash.get(OPTIONS, None)
    if options is not None and options.scale == "quick":
        longest_first(items)
