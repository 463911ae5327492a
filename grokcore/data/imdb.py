"""IMDb reviews for omnigrok §4 (Fig 4): a small balanced draw, tokenized as the Omnigrok notebook.

Layout (nothing is downloaded): the Large Movie Review Dataset v1.0 as it unpacks,
``<data_dir>/aclImdb/{train,test}/{pos,neg}/*.txt`` (or ``<data_dir>`` itself being
``aclImdb/``). The notebook (`imdb/grokking/imdb-grokking`, REFERENCES I1) reads the same 50k
reviews from Kaggle's ``IMDB Dataset.csv``, takes its first 1,000 rows and splits them 750 /
250 stratified. Here the 50k are pooled and each split is a balanced draw from a permutation
seeded by the data seed: ``n_train // 2`` positive reviews for training, the rest negative,
and the test reviews after them, so the two never overlap.

Tokenization follows the notebook's `tockenize` and `padding_` (App A: "we extract the 1000
most frequent words ... padded to length 500"): lower-case, split on whitespace, strip
non-word characters and digits from each word, drop NLTK's English stop words, keep the
`vocab` most frequent training words (ties in order of first appearance) as tokens
1..vocab; other words are dropped. Each review keeps its first `seq_len` tokens and is
left-padded with 0.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from grokcore.data.mnist import ENV_VAR, DataUnavailable, _resolve_dir

LAYOUT = "aclImdb/{train,test}/{pos,neg}/*.txt (the Large Movie Review Dataset v1.0)"
_PARTS = tuple(f"{split}/{label}" for split in ("train", "test") for label in ("pos", "neg"))

# NLTK's English stop-word list (179 words), which the notebook writes out in `tockenize`.
STOP_WORDS = frozenset(
    """a about above after again against ain all am an and any are aren aren't as at be because
    been before being below between both but by can couldn couldn't d did didn didn't do does
    doesn doesn't doing don don't down during each few for from further had hadn hadn't has
    hasn hasn't have haven haven't having he her here hers herself him himself his how i if in
    into is isn isn't it it's its itself just ll m ma me mightn mightn't more most mustn
    mustn't my myself needn needn't no nor not now o of off on once only or other our ours
    ourselves out over own re s same shan shan't she she's should should've shouldn shouldn't
    so some such t than that that'll the their theirs them themselves then there these they
    this those through to too under until up ve very was wasn wasn't we were weren weren't what
    when where which while who whom why will with won won't wouldn wouldn't y you you'd you'll
    you're you've your yours yourself yourselves""".split()
)


@dataclass(frozen=True)
class ImdbSplit:
    """Token ids (n, seq_len) int64, 0 = padding, and labels (n,) int64, 1 = positive."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    vocab: list[str]  # vocab[i] is token i + 1
    source: str


def find_imdb(data_dir: str | Path | None) -> Path:
    """The `aclImdb` directory under `data_dir` (or $GROKCORE_DATA_DIR), or DataUnavailable."""
    root = _resolve_dir(data_dir)
    if root is None:
        raise DataUnavailable(
            f"IMDb needs a data directory and none was given: pass --data-dir (or set "
            f"{ENV_VAR}) to a directory holding {LAYOUT}"
        )
    for d in (root / "aclImdb", root):
        if all((d / part).is_dir() for part in _PARTS):
            return d
    missing = [p for p in _PARTS if not (root / "aclImdb" / p).is_dir()]
    raise DataUnavailable(
        f"no IMDb found in data dir {root}: expected {LAYOUT} in {root / 'aclImdb'} or {root}; "
        f"missing {', '.join(missing)}. Nothing is downloaded"
    )


def _words(text: str) -> list[str]:
    """The notebook's `preprocess_string` applied to each whitespace-separated word."""
    out = []
    for word in text.lower().split():
        w = re.sub(r"\d", "", re.sub(r"[^\w\s]", "", word))
        if w:
            out.append(w)
    return out


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read IMDb review {path}: {e}") from e


def build_vocab(train_texts: list[str], size: int) -> dict[str, int]:
    """Word -> token id 1..size: the most frequent non-stop words of the training reviews."""
    counts = Counter(w for t in train_texts for w in _words(t) if w not in STOP_WORDS)
    top = sorted(counts, key=counts.__getitem__, reverse=True)[:size]  # stable: first seen wins
    return {w: i + 1 for i, w in enumerate(top)}


def encode(texts: list[str], vocab: dict[str, int], seq_len: int) -> torch.Tensor:
    """(n, seq_len) token ids: the first seq_len known words, left-padded with 0 (`padding_`)."""
    out = np.zeros((len(texts), seq_len), dtype=np.int64)
    for i, t in enumerate(texts):
        ids = [vocab[w] for w in _words(t) if w in vocab][:seq_len]
        if ids:
            out[i, seq_len - len(ids) :] = ids
    return torch.from_numpy(out)


def load_imdb(
    n_train: int,
    n_test: int,
    seed: int,
    data_dir: str | Path | None = None,
    vocab: int = 1000,
    seq_len: int = 500,
) -> ImdbSplit:
    """A balanced seeded draw of n_train + n_test reviews, tokenized on the training part."""
    root = find_imdb(data_dir)
    files = {
        label: sorted(p for s in ("train", "test") for p in (root / s / label).glob("*.txt"))
        for label in ("pos", "neg")
    }
    rng = np.random.default_rng(seed)
    need = {"pos": n_train // 2 + n_test // 2, "neg": n_train - n_train // 2 + n_test - n_test // 2}
    picked: dict[str, list[Path]] = {}
    for label, paths in files.items():
        if len(paths) < need[label]:
            raise ValueError(
                f"IMDb in {root} has {len(paths)} '{label}' reviews, fewer than the "
                f"{need[label]} that n_train={n_train}, n_test={n_test} need"
            )
        picked[label] = [paths[i] for i in rng.permutation(len(paths))[: need[label]]]
    n_pos_tr = n_train // 2
    train = [(p, 1) for p in picked["pos"][:n_pos_tr]]
    train += [(p, 0) for p in picked["neg"][: n_train - n_pos_tr]]
    test = [(p, 1) for p in picked["pos"][n_pos_tr:]]
    test += [(p, 0) for p in picked["neg"][n_train - n_pos_tr :]]
    order = rng.permutation(len(train))  # mix the classes before the vocabulary's tie-breaks
    train = [train[i] for i in order]
    train_texts = [_read(p) for p, _ in train]
    test_texts = [_read(p) for p, _ in test]
    words = build_vocab(train_texts, vocab)

    def labels(pairs: list[tuple[Path, int]]) -> torch.Tensor:
        return torch.tensor([y for _, y in pairs], dtype=torch.int64)

    return ImdbSplit(
        encode(train_texts, words, seq_len),
        labels(train),
        encode(test_texts, words, seq_len),
        labels(test),
        list(words),
        f"aclImdb:{root}",
    )
