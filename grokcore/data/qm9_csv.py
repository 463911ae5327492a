"""QM9 from the `qm9pack` package's CSV files (the `qm9` extra): molecules as (symbols, bonds).

qm9pack 1.0.3 ships all 130,831 characterized QM9 molecules (the 133,885 of GDB-9 less the
3,054 that PyG's ``uncharacterized.txt`` lists) in ``qm9pack/data/qm9_part{1,2,3}.csv``, one
row per molecule in GDB index order (column ``Index``), the rows split over the three files.
Per row: ``Elements`` (``"['C','H',...]"``), ``XYZ_Ang`` (``"[[x,y,z],...]"``, Å, B3LYP
geometry), ``SMILES`` (Kekulé, no aromatic atoms) and ``Polarizability_bohr3``, the
isotropic polarizability α in a0³: PyG's target 1, the notebook's ``target_idx = 1``, in the
same unit (both carry the QM9 paper's value, e.g. CH4 13.21, NH3 9.46).

qm9pack has no bond table. The reference's bonds (PyG reads them from ``gdb9.sdf``) are
explicit-hydrogen Kekulé bonds with no aromatic type (deepchem/deepchem#1569), perceived
from the geometry: the SDF bonds gdb_1150's bicyclo[1.1.1] bridgeheads, 1.87 Å apart, which
its SMILES does not (pyg-team/pytorch_geometric#10560). We rebuild them so:
- "close" pairs are those within r_i + r_j + 0.45 Å (Alvarez covalent radii; Open Babel's
  bond-perception rule);
- each hydrogen is bonded (single) to its nearest heavy atom, which must be close;
- the heavy-atom bonds and their orders (single / double / triple) come from the SMILES,
  laid on the geometry: each SMILES atom goes to a heavy atom of its element with as many
  hydrogens as the SMILES gives it, and every SMILES bond must join a close pair. The
  SMILES' atom order is the geometry's heavy-atom order for all but 6 molecules (checked
  first; gdb_23 and gdb_24 among them); for those a search finds the assignment;
- a close heavy-atom pair the SMILES does not bond is one more single bond, as gdb_1150's
  in the SDF: 7,880 such bonds (1.76-1.97 Å, almost all cage and bicyclo C-C) in 6,810
  molecules, 6 of them in OG-QM9's first 400 (gdb_105, 106, 316, 317, 319, 320). Whether
  the SDF bonds all of them is unverified (the SDF is not here to compare).
Bond orders may differ from the SDF's where its perception rewrote a molecule as charges
(#10560's gdb_133408); we keep the SMILES' orders. 130,829 of the 130,831 molecules build;
gdb_133857 and gdb_133859 (cages whose SMILES bond is 2.1 Å long in the geometry) raise
ValueError, as any row that fails a check does, naming the file, line and molecule.
Reading stops after the first n molecules, so OG-QM9's 400 read in a fraction of a second.
"""

from __future__ import annotations

import csv
import importlib.metadata
import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

PACKAGE = "qm9pack"
PACK_VERSION = "1.0.3"
PACK_FILES = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")
COLUMNS = ("Index", "Elements", "XYZ_Ang", "SMILES", "Polarizability_bohr3")
EXTRA = "pip install -e '.[qm9]'"  # qm9pack==1.0.3: a 104 MB wheel; it pulls pandas

VALENCES = {"C": (4,), "N": (3, 5), "O": (2,), "F": (1,)}  # SMILES' organic subset
# Alvarez (2008) covalent radii in Å (C sp3), as Open Babel uses them
RADIUS = {"H": 0.31, "C": 0.76, "N": 0.71, "O": 0.66, "F": 0.57}
TOLERANCE = 0.45  # Å over r_i + r_j: Open Babel's ConnectTheDots

# a bracket atom [NH3+], an organic-subset atom, a bond, a branch, a ring closure
_TOKEN = re.compile(r"\[([CNOF])(H\d?)?([+-]\d?)?\]|([CNOF])|([-=#])|(\()|(\))|(\d)")
_ORDER = {"-": 1, "=": 2, "#": 3}

Molecule = tuple[str, list[str], list[tuple[int, int, int]], float]  # name, symbols, bonds, α


def pack_dir() -> Path | None:
    """qm9pack's installed data directory (found without importing qm9pack), or None."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def pack_version() -> str:
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def smiles_graph(smiles: str) -> tuple[list[str], list[tuple[int, int, int]], list[int]]:
    """Heavy atoms, bonds (i, j, order 1-3) between them and each atom's hydrogen count, from a
    Kekulé SMILES over C, N, O, F; ValueError for anything else (aromatic atoms included)."""
    atoms: list[str] = []
    explicit_h: list[int | None] = []  # None: implicit (organic subset)
    bonds: list[tuple[int, int, int]] = []
    branches: list[int] = []
    rings: dict[str, tuple[int, int | None]] = {}
    prev: int | None = None
    order: int | None = None
    pos = 0
    while pos < len(smiles):
        m = _TOKEN.match(smiles, pos)
        if m is None:
            raise ValueError(f"SMILES {smiles!r}: cannot read {smiles[pos:]!r}")
        pos = m.end()
        if m[1] or m[4]:
            atoms.append(m[1] or m[4])
            explicit_h.append(None if m[4] else int(m[2][1:] or 1) if m[2] else 0)
            if prev is not None:
                bonds.append((prev, len(atoms) - 1, order or 1))
            prev, order = len(atoms) - 1, None
        elif m[5]:
            order = _ORDER[m[5]]
        elif m[6] and prev is not None:
            branches.append(prev)
        elif m[7] and branches:
            prev = branches.pop()
        elif m[8] and prev is not None:
            if m[8] in rings:
                j, opened = rings.pop(m[8])
                bonds.append((j, prev, order or opened or 1))
            else:
                rings[m[8]] = (prev, order)
            order = None
        else:
            raise ValueError(f"SMILES {smiles!r}: unexpected {m[0]!r} at {m.start()}")
    if rings or branches or not atoms:
        raise ValueError(f"SMILES {smiles!r}: unclosed ring or branch, or no atoms")
    degree = [0] * len(atoms)
    for i, j, o in bonds:
        degree[i] += o
        degree[j] += o
    hydrogens = []
    for a, h, d in zip(atoms, explicit_h, degree, strict=True):
        if h is None:
            fits = [v for v in VALENCES[a] if v >= d]
            if not fits:
                raise ValueError(f"SMILES {smiles!r}: {a} with bond orders {d}")
            h = fits[0] - d
        hydrogens.append(h)
    return atoms, bonds, hydrogens


def _close(symbols: list[str], xyz: np.ndarray) -> np.ndarray:
    """(n, n) bool: pairs within r_i + r_j + TOLERANCE of each other (Open Babel's rule)."""
    r = np.array([RADIUS[s] for s in symbols])
    d = np.linalg.norm(xyz[:, None] - xyz[None], axis=-1)
    close = d <= r[:, None] + r[None] + TOLERANCE
    np.fill_diagonal(close, False)
    return close


def _match(atoms, bonds, hydrogens, symbols, heavy, h_geo, close) -> list[int] | None:
    """The geometry's heavy atom of each SMILES atom: same element, same hydrogen count, every
    SMILES bond a close pair. The SMILES' own order first, else a backtracking search."""

    def fits(a: int, g: int, pi: dict[int, int]) -> bool:
        if symbols[heavy[g]] != atoms[a] or h_geo[g] != hydrogens[a]:
            return False
        return all(close[heavy[g], heavy[pi[b]]] for b in neighbours[a] if b in pi)

    neighbours: list[list[int]] = [[] for _ in atoms]
    for i, j, _ in bonds:
        neighbours[i].append(j)
        neighbours[j].append(i)
    identity = dict(enumerate(range(len(atoms))))
    if all(fits(a, a, identity) for a in identity):
        return list(range(len(atoms)))

    def extend(pi: dict[int, int]) -> dict[int, int] | None:
        a = len(pi)
        if a == len(atoms):
            return pi
        for g in sorted(set(range(len(heavy))) - set(pi.values())):
            if fits(a, g, pi) and (done := extend({**pi, a: g})) is not None:
                return done
        return None

    found = extend({})
    return None if found is None else [found[a] for a in range(len(atoms))]


def molecule(name: str, symbols: list[str], xyz: np.ndarray, smiles: str):
    """All bonds (i, j, order 1-3) of one molecule, indices into `symbols` (module docstring)."""
    heavy = [i for i, s in enumerate(symbols) if s != "H"]
    atoms, heavy_bonds, hydrogens = smiles_graph(smiles)
    if sorted(symbols[i] for i in heavy) != sorted(atoms) or not heavy:
        raise ValueError(f"{name}: the SMILES {smiles!r} has heavy atoms {atoms}, the "
                         f"geometry {[symbols[i] for i in heavy]}")  # fmt: skip
    close = _close(symbols, xyz)
    h_bonds, h_geo = [], [0] * len(heavy)
    for h in (i for i, s in enumerate(symbols) if s == "H"):
        k = int(np.argmin(np.linalg.norm(xyz[heavy] - xyz[h], axis=1)))
        if not close[heavy[k], h]:
            raise ValueError(f"{name}: hydrogen {h + 1} is far from every heavy atom")
        h_bonds.append((heavy[k], h, 1))
        h_geo[k] += 1
    pi = _match(atoms, heavy_bonds, hydrogens, symbols, heavy, h_geo, close)
    if pi is None:
        raise ValueError(f"{name}: no way to lay the SMILES {smiles!r} (hydrogens "
                         f"{hydrogens}) on the geometry with every bond within r_i + r_j + "
                         f"{TOLERANCE} Å and each atom's nearest hydrogens")  # fmt: skip
    bonds = [(heavy[pi[i]], heavy[pi[j]], o) for i, j, o in heavy_bonds]
    have = {frozenset(b[:2]) for b in bonds}
    extra = [(i, j, 1) for i in heavy for j in heavy
             if i < j and close[i, j] and frozenset((i, j)) not in have]  # fmt: skip
    return bonds + extra + h_bonds


def _row(path: Path, line: int, rec: dict[str, str]) -> Molecule:
    where = f"{path}: line {line}"
    try:
        name = f"gdb_{int(rec['Index'])}"  # gdb9.sdf's mol_id
        symbols = [s.strip().strip("'\"") for s in rec["Elements"].strip("[]").split(",")]
        flat = rec["XYZ_Ang"].replace("[", " ").replace("]", " ").split(",")
        xyz = np.array([float(v) for v in flat], dtype=np.float64).reshape(len(symbols), 3)
        alpha = float(rec["Polarizability_bohr3"])
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where}: cannot read Index / Elements / XYZ_Ang / "
                         f"Polarizability_bohr3 ({e})") from e  # fmt: skip
    try:
        return name, symbols, molecule(name, symbols, xyz, rec["SMILES"]), alpha
    except (KeyError, ValueError) as e:
        raise ValueError(f"{where}: {e}") from e


def read_molecules(d: Path) -> Iterator[Molecule]:
    """(name, symbols, bonds, α) of each molecule of qm9pack's CSVs in `d`, in file order."""
    csv.field_size_limit(1 << 24)  # a row's frequency and coordinate lists run to kilobytes
    for fname in PACK_FILES:
        path = d / fname
        with path.open(newline="", encoding="utf-8", errors="replace") as f:
            reader = csv.DictReader(f)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{path}: needs columns {list(COLUMNS)}, lacks {missing}")
            for line, rec in enumerate(reader, start=2):
                yield _row(path, line, rec)
