"""BX-UNGROK (`verdicts.continued.ungrok_verdict`) on synthetic final accuracies, and
AR-NOUNGROK's detector control (`verdicts.ungrokking.detector_control`) on synthetic curves.

A synthetic un-grokking (small D' ends near chance, D stays at 1, the same critical D' at
both γ) is SUPPORTED; the control's outcome at every D' (no drop anywhere) is REFUTED; a
drop at D' = D too, parents that did not grok, or critical D' three grid steps apart are
not SUPPORTED.
"""

from __future__ import annotations

import numpy as np
import pytest

from grokcore.history import History
from grokcore.record import Verdict
from grokcore.verdicts.continued import critical_index, ungrok_verdict
from grokcore.verdicts.ungrokking import detector_control, no_ungrokking
from tests.synthetic import STEPS, synthetic

SIZES = (48, 96, 192, 288, 480)
GAMMAS = (1.0, 2.0)


def cells(finals: dict[float, list[float]], n: int = 6) -> dict:
    """Per γ, one final test accuracy per D' (the same for the n seeds, with a little noise)."""
    rng = np.random.default_rng(0)
    return {
        (d, g): list(np.clip(acc + rng.normal(0, 0.01, n), 0, 1))
        for g, accs in finals.items()
        for d, acc in zip(SIZES, accs, strict=True)
    }


UNGROK = [0.01, 0.02, 0.3, 0.99, 1.0]  # critical D' 288
GROKKED = [1.0] * 6


def judge(c, parents=GROKKED):
    return ungrok_verdict(c, parents, sizes=SIZES, gammas=GAMMAS)


def test_synthetic_ungrokking_is_supported():
    j = judge(cells({1.0: UNGROK, 2.0: UNGROK}))
    assert j.verdict is Verdict.SUPPORTED, j.reason
    assert [c.value for c in j.checks] == [1.0, 1.0, 0.0]
    assert j.evidence["critical"] == {1.0: 288, 2.0: 288}
    assert [c.verdict for c in j.control] == [Verdict.SUPPORTED] * 3  # parents, 2 controls


def test_critical_one_grid_step_apart_is_still_supported():
    j = judge(cells({1.0: UNGROK, 2.0: [0.01, 0.02, 0.9, 1.0, 1.0]}))
    assert j.verdict is Verdict.SUPPORTED, j.reason
    assert j.checks[-1].value == 1.0


def test_the_control_no_drop_at_any_size_is_refuted():
    """The control's outcome (continuing changes nothing) fed in as every D''s: REFUTED."""
    j = judge(cells({1.0: [1.0] * 5, 2.0: [1.0] * 5}))
    assert j.verdict is Verdict.REFUTED
    assert j.checks[0].value == 0.0 and j.checks[0].verdict is Verdict.REFUTED


def test_a_drop_at_full_d_fails_the_control():
    j = judge(cells({1.0: [0.01] * 5, 2.0: [0.01] * 5}))
    assert j.verdict is not Verdict.SUPPORTED
    assert "control failed" in j.reason


def test_parents_that_did_not_grok_fail_the_positive_control():
    j = judge(cells({1.0: UNGROK, 2.0: UNGROK}), parents=[0.1] * 6)
    assert j.verdict is Verdict.INCONCLUSIVE
    assert j.reason.startswith("positive control failed") and "the parents grokked" in j.reason


def test_critical_sizes_far_apart_refute_the_weight_decay_independence():
    j = judge(cells({1.0: [0.01, 1.0, 1.0, 1.0, 1.0], 2.0: [0.01, 0.01, 0.01, 0.01, 1.0]}))
    spread = j.checks[-1]
    assert spread.value == 3.0 and spread.verdict is Verdict.REFUTED
    assert j.verdict is Verdict.REFUTED


def test_critical_index_counts_half_as_kept_and_none_past_the_grid():
    c = {(d, 1.0): [0.1, 0.1, 0.9, 0.9] for d in SIZES}
    assert critical_index(c, SIZES, 1.0, 0.5) == 0
    c = {(d, 1.0): [0.1] for d in SIZES}
    assert critical_index(c, SIZES, 1.0, 0.5) == len(SIZES)


def test_a_grid_that_is_not_increasing_is_refused():
    with pytest.raises(ValueError, match="increasing grid"):
        ungrok_verdict({}, GROKKED, sizes=(96, 48), gammas=GAMMAS)


# -- AR-NOUNGROK's detector control ----------------------------------------------------------
def continued(drop_at: float | None) -> History:
    """A continued run: test accuracy 1 at its start, falling to 0.01 at `drop_at` (never for
    None)."""
    h = synthetic(1.0, 1.0)  # fitted and generalized from step 1
    if drop_at is None:
        return h
    fall = 1 / (1 + np.exp(-12 * (np.log(np.maximum(STEPS, 1)) - np.log(drop_at))))
    acc = 1.0 - 0.99 * fall
    return History(
        steps=h.steps, train_loss=h.train_loss, train_acc=h.train_acc, test_loss=1 - acc,
        test_acc=acc, norm=h.norm, budget=h.budget,
    )  # fmt: skip


def test_detector_flags_synthetic_ungrokked_runs():
    hs = [continued(300.0) for _ in range(5)] + [continued(None)]
    known = [True] * 5 + [False]
    c = detector_control(hs, known)
    assert c.verdict is Verdict.SUPPORTED and c.value == 1.0
    assert c.name.startswith("positive control: the detector flags")


def test_a_detector_blind_to_ungrokking_fails_and_makes_the_claim_inconclusive():
    # runs that fell to 0.5 only: BX's criterion (< 0.5) counts them, a detector whose "low"
    # is 0.3 does not flag them
    hs = [continued(300.0) for _ in range(5)]
    hs = [History(**{**h.__dict__, "test_acc": np.maximum(h.test_acc, 0.4)}) for h in hs]
    c = detector_control(hs, [True] * 5, low=0.3)
    assert c.verdict is Verdict.INCONCLUSIVE and c.value == 0.0
    runs = [synthetic(50.0, 500.0, seed=s) for s in range(30)]
    j = no_ungrokking(runs, [str(i) for i in range(30)], detector=c)
    assert j.verdict is Verdict.INCONCLUSIVE
    assert "the detector flags" in j.reason or any("the detector" in x.name for x in j.control)


def test_no_known_ungrokked_runs_is_inconclusive():
    c = detector_control([continued(None)], [False])
    assert c.verdict is Verdict.INCONCLUSIVE and "nothing to flag" in c.detail
