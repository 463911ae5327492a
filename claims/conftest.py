"""Claims: the expectation table (claims/expectations.py) becomes strict per-scale markers."""

from __future__ import annotations

import pytest

from claims.expectations import EXPECTED
from grokcore.record import Verdict

_MARK = {Verdict.REFUTED: "expect_refuted", Verdict.INCONCLUSIVE: "expect_inconclusive"}


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
