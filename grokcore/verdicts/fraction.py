"""AR-FRAC and RP-FRAC: the larger the train fraction, the sooner the model generalizes.

arn §4.2 (Fig 4.2): "if fast generalization occurred, grokking occurred too when feeding less
data from the same dataset"; the rnn-poster finds the same for recurrent nets. Neither gives a
number, so the claim is the sign of the trend: Spearman ρ(train fraction, t_test) < 0. The
statistic is OG-DATA's (`delays.data_speedup`) on another x-axis: one implementation.
"""

from __future__ import annotations

from collections.abc import Sequence

from grokcore.history import History
from grokcore.verdicts.delays import data_speedup
from grokcore.verdicts.judgement import Judgement


def fraction_speedup(
    fractions: Sequence[float],
    histories: Sequence[History],
    tau: float = 0.95,
    tau_train: float = 0.95,
    need: float = 0.5,
    min_fractions: int = 2,
    seed: int = 0,
    paper_value: str | None = "less data, later generalization (no number given)",
) -> Judgement:
    """Spearman ρ(train fraction, t_test) with a pair-bootstrap CI below 0.

    A run that never reaches test accuracy `tau` counts at its budget and is reported (in
    `runs` as `test_censored`, and counted in the check's detail). Positive control: at
    ≥ `min_fractions` fractions, ≥ `need` of the runs generalize in budget.
    """
    return data_speedup(
        fractions,
        histories,
        tau=tau,
        tau_train=tau_train,
        need=need,
        min_sizes=min_fractions,
        seed=seed,
        x_name="train_frac",
        x_label="train fraction",
        x_plural="fractions",
        paper_value=paper_value,
    )
