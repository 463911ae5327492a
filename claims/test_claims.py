"""Every claim of the registry as one test: its runs (trained by the session's plan, or
read from the cache), its statistic, its figures and its card. Ids read `OG-INV-quick`."""

from __future__ import annotations

import pytest

from claims import REGISTRY
from grokcore.record import Verdict
from grokcore.spec import ClaimSpec

_MARK = {Verdict.REFUTED: "expect_refuted", Verdict.INCONCLUSIVE: "expect_inconclusive"}


def _param(spec: ClaimSpec):
    marks = [
        pytest.mark.claim(
            spec.id,
            paper=spec.paper,
            section=spec.section,
            title=spec.title,
            paper_value=spec.paper_value,
        )
    ]
    if spec.gpu:
        marks.append(pytest.mark.gpu)
    for scale, exp in spec.expected.items():  # known outcomes: strict expectations
        marks.append(getattr(pytest.mark, _MARK[exp.verdict])(scale=scale, reason=exp.why))
    return pytest.param(spec, id=spec.id, marks=marks)


@pytest.mark.parametrize("spec", [_param(s) for s in REGISTRY])
def test_claim(claim, spec: ClaimSpec) -> None:
    claim.execute(spec)
