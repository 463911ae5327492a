"""The papers the claims come from, named in full once per paper on the report.

Short names are those of `papers/README.md` (the claims' `paper`); the summary is what
the paper's claims are about, in one sentence. A paper without a public address has
link "" and its card says where the text is kept.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Paper:
    short: str
    title: str
    authors: str
    year: str
    venue: str
    link: str
    summary: str


PAPERS: dict[str, Paper] = {
    p.short: p
    for p in (
        Paper(
            "omnigrok",
            "Omnigrok: Grokking Beyond Algorithmic Data",
            "Ziming Liu, Eric J. Michaud, Max Tegmark",
            "2023",
            "ICLR 2023",
            "https://arxiv.org/abs/2210.01117",
            "the LU mechanism (a large weight norm memorizes, weight decay walks it to the "
            "'Goldilocks' norm that generalizes): teacher-student, MNIST, IMDb and QM9 grok "
            "from a large init, t ∝ 1/γ, and a constrained norm removes grokking.",
        ),
        Paper(
            "li-sakib",
            "ECE 826 Project – Grokking",
            "Li, Sakib",
            "2023",
            "course project report, UW–Madison",
            "",
            "transformer hyperparameter sweeps and their correlation with the grokking delay, "
            "batch size × train size phases, loss-landscape unevenness, attention-norm spikes, "
            "and a table of MNIST variations (loss, augmentation, data size, optimizer).",
        ),
        Paper(
            "arn",
            "Investigating Grokking – Late Generalisation in Deep Learning",
            "Arn",
            "2023",
            "bachelor thesis, ETH Zürich",
            "",
            "a replication of Power et al. with the openai/grok code: which operations grok, "
            "how the train fraction sets the delay, training-loss spikes, and no un-grokking.",
        ),
        Paper(
            "rnn-poster",
            "Grokking in RNNs and LSTMs",
            "0900130508ahmed17539 (GitHub)",
            "2023",
            "poster, with its code",
            "https://github.com/0900130508ahmed17539/grokking",
            "recurrent nets grok modular addition: data-size dependence, weight decay is "
            "necessary, and weight decay switched on late still groks.",
        ),
    )
}


def paper(short: str) -> Paper:
    """The paper named `short`, or a placeholder that says it is not in the list."""
    return PAPERS.get(short) or Paper(short, short, "", "", "", "", "")
