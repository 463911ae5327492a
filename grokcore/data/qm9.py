"""QM9 molecules for omnigrok §4 (Fig 5): dense padded graphs and the isotropic polarizability α.

Two sources, nothing downloaded. (1) A data directory (--data-dir) holding either layout
below; (2) else the `qm9pack` package, the `qm9` extra (``pip install -e '.[qm9]'``),
whose CSVs hold all 130,831 molecules with geometries but no bonds; how its graphs are
built to match the SDF's is `grokcore/data/qm9_csv.py`'s docstring. Both give the same
molecules in the same order (GDB index, the 3,054 uncharacterized ones left out), the same
α (a0³, PyG's target 1) and the same node features below.

PyG layout: the raw files torch_geometric's `QM9(root)` fetches into
``<root>/raw/``: ``gdb9.sdf`` (all molecules, hydrogens explicit, V2000 blocks) and
``gdb9.sdf.csv`` (one row per molecule, with columns ``mol_id`` and ``alpha`` in a0³),
and optionally ``uncharacterized.txt`` (the 3,054 molecules PyG skips). They are looked for
in ``<data_dir>``, ``<data_dir>/raw``, ``<data_dir>/qm9/raw``, ``<data_dir>/QM9/raw`` and
``<data_dir>/qm9``. Parsing needs no rdkit. qm9pack layout: its ``qm9_part{1,2,3}.csv``
(the files of ``site-packages/qm9pack/data``) in one of the same directories.

Selection: the notebook (`qm9/grokking/qm9-grokking.ipynb`, REFERENCES Q1) takes
``dset[:size]`` and a `random_split` 50/50; here the first n_train + n_test molecules (after
the skipped ones) are permuted with the data seed, the first n_train train.

Graphs follow PyG's QM9 processing, one molecule per sample row, padded to MAX_ATOMS atoms.
Every atom is a node, hydrogens included, in the file's atom order. Node features (11, PyG's
order): one-hot H, C, N, O, F; atomic number; aromatic; sp; sp2; sp3; number of bonded
hydrogens. The aromatic and hybridization columns are 0: PyG reads the SDF with rdkit's
``sanitize=False``, which perceives no aromaticity and leaves hybridization UNSPECIFIED for
many atoms (pyg-team/pytorch_geometric#2163); we perceive neither. Bonds are one-hot
single / double / triple / aromatic (SDF bond types 1-4), the notebook's 4 edge features,
stored in both directions; gdb9.sdf, and so PyG's QM9, has no aromatic bond
(deepchem/deepchem#1569), nor does qm9pack's Kekulé SMILES. A molecule is packed as a
(MAX_ATOMS, 11 + 4·MAX_ATOMS + 1) float row per atom: its features, its adjacency row for
each bond type, and a 1 for a real atom (0 for padding), so a batch is one tensor and the
model runs under `torch.func.vmap`.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from grokcore.data.mnist import ENV_VAR, DataUnavailable, _resolve_dir
from grokcore.data.qm9_csv import (
    EXTRA,
    PACK_FILES,
    PACK_VERSION,
    pack_dir,
    pack_version,
    read_molecules,
)

MAX_ATOMS = 29  # QM9's largest molecule, hydrogens included
NODE_FEATURES = 11
BOND_TYPES = 4
ATOM_TYPES = {"H": 0, "C": 1, "N": 2, "O": 3, "F": 4}
ATOMIC_NUMBER = {"H": 1, "C": 6, "N": 7, "O": 8, "F": 9}
FILES = ("gdb9.sdf", "gdb9.sdf.csv")
SKIP_FILE = "uncharacterized.txt"
LAYOUT = "gdb9.sdf and gdb9.sdf.csv (torch_geometric QM9's raw/ files)"


@dataclass(frozen=True)
class Qm9Split:
    """Packed graphs (n, MAX_ATOMS, 11 + 4·MAX_ATOMS + 1) float32 and α (n, 1) float32 in a0³."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    names: list[str]  # mol_id of every selected molecule, train first
    source: str


def find_qm9(data_dir: str | Path | None) -> Path:
    """The directory holding QM9: gdb9.sdf and gdb9.sdf.csv, or qm9pack's CSVs, under the data
    directory, else the installed qm9pack's data; DataUnavailable naming both otherwise."""
    root = _resolve_dir(data_dir)
    dirs: tuple[Path, ...] = ()
    if root is not None:
        dirs = (root, root / "raw", root / "qm9" / "raw", root / "QM9" / "raw", root / "qm9")
        for d in dirs:
            if all((d / f).is_file() for f in FILES) or _is_pack(d):
                return d
    pack = pack_dir()
    if pack is not None and _is_pack(pack):
        return pack
    install = f"install the qm9 extra ({EXTRA}: qm9pack {PACK_VERSION}, all of QM9 offline)"
    if pack is not None:
        install = (f"qm9pack is installed but {pack} lacks {', '.join(PACK_FILES)}: "
                   f"reinstall it ({EXTRA})")  # fmt: skip
    if root is None:
        raise DataUnavailable(
            f"QM9 needs its data and none was found: {install}, or pass --data-dir (or set "
            f"{ENV_VAR}) to a directory holding {LAYOUT}"
        )
    looked = ", ".join(str(d) for d in dirs)
    raise DataUnavailable(
        f"no QM9 found in data dir {root}: expected {LAYOUT}, or qm9pack's "
        f"{', '.join(PACK_FILES)}; looked in {looked}. Or {install}. Nothing is downloaded"
    )


def _is_pack(d: Path) -> bool:
    return all((d / f).is_file() for f in PACK_FILES)


PACK_DEVIATION = (
    "QM9 read from qm9pack 1.0.3's CSVs (the qm9 extra), which have no bonds: each H is bonded "
    "to its nearest heavy atom, heavy-atom bonds and orders come from the SMILES laid on the "
    "geometry, and heavy atoms within r_i + r_j + 0.45 Å get a single bond, as gdb9.sdf's "
    "perceived bonds do (data/qm9_csv.py); PyG reads gdb9.sdf's bonds"
)


def uses_qm9pack(data_dir: str | Path | None) -> bool:
    """Whether `load_qm9` with this data dir reads qm9pack's CSVs rather than gdb9.sdf."""
    try:
        return _is_pack(find_qm9(data_dir))
    except DataUnavailable:
        return False


def graphs(data_dir: str | Path | None) -> Literal["sdf", "qm9pack"]:
    """The `Qm9Task.graphs` of this data dir: the bonds its graphs will carry."""
    return "qm9pack" if uses_qm9pack(data_dir) else "sdf"


def _skipped(d: Path) -> set[int]:
    """1-based positions (= gdb indices) of PyG's uncharacterized molecules, if listed."""
    path = d / SKIP_FILE
    if not path.is_file():
        return set()
    ids = set()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        first = line.split()[:1]
        if first and first[0].isdigit():
            ids.add(int(first[0]))
    return ids


def _molecules(sdf: Path):
    """Yield (name, symbols, bonds [(i, j, type 1-4)]) per V2000 block; ValueError if malformed."""
    with sdf.open(encoding="utf-8", errors="replace") as f:
        block: list[str] = []
        for line in f:
            if line.startswith("$$$$"):
                yield _parse_block(block, sdf)
                block = []
            else:
                block.append(line.rstrip("\n"))
        if any(s.strip() for s in block):
            raise ValueError(f"{sdf}: the last molecule is not closed by '$$$$' (truncated?)")


def _parse_block(block: list[str], sdf: Path) -> tuple[str, list[str], list[tuple[int, int, int]]]:
    name = block[0].strip() if block else "?"
    try:
        n_atoms, n_bonds = int(block[3][0:3]), int(block[3][3:6])
        symbols = [block[4 + i].split()[3] for i in range(n_atoms)]
        bonds = []
        for k in range(n_bonds):
            row = block[4 + n_atoms + k]
            bonds.append((int(row[0:3]) - 1, int(row[3:6]) - 1, int(row[6:9])))
    except (IndexError, ValueError) as e:
        raise ValueError(f"{sdf}: molecule {name!r} is not a V2000 block ({e})") from e
    bad = [s for s in symbols if s not in ATOM_TYPES]
    if bad or n_atoms > MAX_ATOMS:
        raise ValueError(f"{sdf}: molecule {name!r} has {n_atoms} atoms {symbols}; QM9 has "
                         f"at most {MAX_ATOMS}, of H, C, N, O, F")  # fmt: skip
    for i, j, t in bonds:
        if not (0 <= i < n_atoms and 0 <= j < n_atoms and 1 <= t <= BOND_TYPES):
            raise ValueError(f"{sdf}: molecule {name!r} has a bad bond {i + 1}-{j + 1} type {t}")
    return name, symbols, bonds


def pack(symbols: list[str], bonds: list[tuple[int, int, int]]) -> np.ndarray:
    """One molecule as (MAX_ATOMS, 11 + 4·MAX_ATOMS + 1) float32 rows (layout: module doc)."""
    row = np.zeros((MAX_ATOMS, NODE_FEATURES + BOND_TYPES * MAX_ATOMS + 1), dtype=np.float32)
    adj = np.zeros((MAX_ATOMS, BOND_TYPES, MAX_ATOMS), dtype=np.float32)
    for i, j, t in bonds:  # undirected: PyG stores both directions
        adj[i, t - 1, j] = adj[j, t - 1, i] = 1.0
    for i, s in enumerate(symbols):
        row[i, ATOM_TYPES[s]] = 1.0
        row[i, 5] = ATOMIC_NUMBER[s]
        # columns 6-9 (aromatic, sp, sp2, sp3) stay 0, see the module docstring
        row[i, 10] = sum(symbols[j] == "H" for j in np.flatnonzero(adj[i].sum(0)))
        row[i, -1] = 1.0
    row[:, NODE_FEATURES:-1] = adj.reshape(MAX_ATOMS, -1)
    return row


def _targets(path: Path, n: int, skip: set[int]) -> list[tuple[str, float]]:
    """(mol_id, alpha) of the first n rows whose 1-based position is not in `skip`."""
    out: list[tuple[str, float]] = []
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        reader = csv.DictReader(f)
        cols = reader.fieldnames or []
        if "mol_id" not in cols or "alpha" not in cols:
            raise ValueError(f"{path}: needs columns 'mol_id' and 'alpha', has {cols}")
        for line, rec in enumerate(reader, start=2):
            if line - 1 in skip:
                continue
            try:
                out.append((rec["mol_id"], float(rec["alpha"])))
            except (TypeError, ValueError) as e:
                raise ValueError(f"{path}: line {line} has no numeric alpha ({e})") from e
            if len(out) == n:
                break
    return out


def load_qm9(
    n_train: int,
    n_test: int,
    seed: int,
    data_dir: str | Path | None = None,
    expect: Literal["sdf", "qm9pack"] | None = None,
) -> Qm9Split:
    """The first n_train + n_test molecules, split by a permutation seeded with `seed`.
    expect: the graphs the config was keyed with; a data dir that now holds the other kind
    is an error, not a silently different run under the same key."""
    d = find_qm9(data_dir)
    n = n_train + n_test
    if expect is not None and ("qm9pack" if _is_pack(d) else "sdf") != expect:
        raise DataUnavailable(
            f"the config's QM9 graphs are {expect!r}, but {d} holds the other kind: build the "
            "config with the data dir it will train on (setups.qm9)"
        )
    if _is_pack(d):
        graphs, targets, source = _from_pack(d, n)
    else:
        graphs, targets = _from_sdf(d, n)
        source = f"qm9:{d}"
    if min(len(graphs), len(targets)) < n:
        raise ValueError(f"QM9 in {d} has {min(len(graphs), len(targets))} molecules, fewer "
                         f"than n_train + n_test = {n}")  # fmt: skip
    perm = np.random.default_rng(seed).permutation(n)
    tr, te = perm[:n_train], perm[n_train:]
    x = torch.from_numpy(np.stack(graphs))
    y = torch.tensor([a for _, a in targets], dtype=torch.float32).view(-1, 1)
    names = [targets[i][0] for i in (*tr, *te)]
    return Qm9Split(x[tr], y[tr], x[te], y[te], names, source)


def _from_pack(d: Path, n: int) -> tuple[list[np.ndarray], list[tuple[str, float]], str]:
    """The first n molecules of qm9pack's CSVs, packed, with (name, α); and the source."""
    graphs: list[np.ndarray] = []
    targets: list[tuple[str, float]] = []
    for name, symbols, bonds, alpha in read_molecules(d):
        if len(graphs) == n:
            break
        if len(symbols) > MAX_ATOMS or set(symbols) - set(ATOM_TYPES):
            raise ValueError(f"{d}: molecule {name!r} has atoms {symbols}; QM9 has at most "
                             f"{MAX_ATOMS}, of H, C, N, O, F")  # fmt: skip
        graphs.append(pack(symbols, bonds))
        targets.append((name, alpha))
    version = pack_version() if d == pack_dir() else "files"
    return graphs, targets, f"qm9pack {version}:{d}"


def _from_sdf(d: Path, n: int) -> tuple[list[np.ndarray], list[tuple[str, float]]]:
    """The first n molecules of gdb9.sdf (less uncharacterized.txt's), packed, with (name, α)."""
    skip = _skipped(d)
    targets = _targets(d / FILES[1], n, skip)
    graphs: list[np.ndarray] = []
    for position, (name, symbols, bonds) in enumerate(_molecules(d / FILES[0]), start=1):
        if position in skip:
            continue
        if len(graphs) == len(targets):
            break
        want = targets[len(graphs)][0]
        if name.startswith("gdb_") and want.startswith("gdb_") and name != want:
            raise ValueError(f"{d / FILES[0]}: molecule {len(graphs) + 1} is {name!r} but "
                             f"row {len(graphs) + 1} of {FILES[1]} is {want!r}")  # fmt: skip
        graphs.append(pack(symbols, bonds))
    return graphs, targets
