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
# 2026-12-06, an Intel Xeon that ran a third slower than 2026-12-05's AMD EPYC; OG-INV then
# trains OG-TS's runs too, see `_warm_teacher_student`, so OG-TS reads the cache). Used for
# one thing: the longest claims are handed out first (longest processing time first), so
# that the workers finish together instead of one training a long claim alone at the end.
# A claim not listed keeps its place after the listed ones; a stale number costs balance,
# never a result.
QUICK_SECONDS: dict[str, int] = {
    "AR-SPIKE": 192, "AR-FRAC": 192, "OG-INV": 180, "AR-NOUNGROK": 126, "OG-CRIT": 114,
    "RP-RNN": 112, "OG-LU": 108, "LS-CORR": 106, "LS-DIV": 103, "RP-LATEWD": 98,
    "OG-NORM": 88, "LS-MNIST[aug0.1]": 84, "AR-OPS": 80, "LS-WD2": 62, "RP-FRAC": 62,
    "LS-ATTN": 59, "LS-MNIST[aug0.3]": 52, "LS-MNIST[aug1.0]": 51, "LS-BAND": 49,
    "LS-MNIST[aug0.2]": 46, "LS-MNIST[bs1024]": 44, "LS-MNIST[bs32]": 30, "LS-MNIST[4k]": 30,
    "LS-MNIST[ce]": 30, "LS-MNIST[nowd]": 29, "OG-MNIST": 28, "LS-MNIST[init0.1]": 28,
    "LS-MNIST[adam]": 28, "LS-MNIST[5k]": 27, "LS-MNIST[bs128]": 25, "LS-MNIST[3k]": 25,
    "LS-MNIST[2k]": 25, "OG-CONSTR": 24, "LS-MNIST[sgd]": 22, "OG-DATA": 21, "OG-REPR": 17,
    "LS-LAND": 12, "OG-TS": 5,
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
