"""Claims as declared specs: one object per claim, in one place.

A claim is a `ClaimSpec`: what it asserts (id, source, statement, the catalogue's
setting, statistic and control), the runs it needs at a scale (`arms`, a pure function
of the scope), how those runs are judged (`judge`, with its region passed explicitly),
its figures (`draw`), what its card says (`card`), what it is known to give at each
scale (`expected`) and how long it takes at the quick tier (`quick_seconds`).

Because the runs are declared, a whole tier can be planned before anything trains
(`grokcore.plan`): every claim's arms, merged across claims into batched ensembles,
costed, sharded over processes or hosts, trained into one cache; then every claim is
judged from that cache. One generic test (`claims/test_claims.py`) executes a spec:

    arms = spec.prepare(scope)             # the runs, or NotRun with the reason
    runs = claim.run(arms)                 # histories by arm, from the cache
    j = spec.judge(scope, arms, runs)      # the statistic -> a Judgement
    spec.draw(scope, arms, runs, j, fig)   # figures for the card
    card = spec.card(scope, arms, j)       # statement, settings, deviations

The model is HELM's run specs (code builds a spec object, one runner executes it) and
scikit-learn's estimator checks (known failures are data: `expected`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch

from grokcore.budget import shortfall
from grokcore.config import RunConfig
from grokcore.data import missing_data
from grokcore.history import History
from grokcore.outcome import Expectation
from grokcore.seeds import MAX_SEED
from grokcore.stopping import StopRule
from grokcore.verdicts.judgement import Judgement

Scale = Literal["quick", "full"]
Arms = dict[str, list[RunConfig]]
Runs = dict[str, list[History]]
FigurePath = Callable[..., Path]  # figure(name, caption) -> the PNG path to draw to


@dataclass(frozen=True)
class Stopping:
    """A claim's stopping rule for its runs (grokcore/stopping.py), with the reason it leaves
    the claim's statistic as it was."""

    rule: StopRule
    why: str


class NotRun(Exception):
    """The claim cannot be judged in this scope (a budget below the LU time, data or
    hardware missing); the message is the NOT RUN reason on its card."""


@dataclass(frozen=True)
class Scope:
    """What a claim's runs depend on: the tier, the seeds, the data and the device."""

    scale: Scale
    seeds_override: int | None = None  # --seeds: every claim's seed count
    base_seed: int = 0  # --base-seed: claims use seeds N, N+1, ...
    data_dir: str | None = None  # --data-dir: full MNIST, IMDb, QM9
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    def __post_init__(self) -> None:
        if self.scale not in ("quick", "full"):
            raise ValueError(f"scale must be 'quick' or 'full', not {self.scale!r}")
        if self.seeds_override is not None and self.seeds_override < 1:
            raise ValueError(f"seeds must be >= 1, got {self.seeds_override}")
        if not 0 <= self.base_seed <= MAX_SEED:
            raise ValueError(f"base seed must be in [0, 2**63), got {self.base_seed}")

    @property
    def quick(self) -> bool:
        return self.scale == "quick"

    def seeds(self, default: int) -> list[int]:
        """n seeds from the base seed: n = --seeds if given, else the claim's default."""
        n = self.seeds_override if self.seeds_override is not None else default
        return list(range(self.base_seed, self.base_seed + n))


@dataclass
class Card:
    """What the claim's report card says beyond the judgement."""

    statement: str
    settings: dict[str, Any] = field(default_factory=dict)
    deviations: list[str] = field(default_factory=list)  # claim-level departures no config holds
    control_summary: str = ""


class ClaimSpec:
    """One published claim. Subclass it and fill in the class attributes and methods.

    `arms` must be pure: the same scope gives the same configs, so that a plan made in
    one process names exactly the runs another process judges.
    """

    id: ClassVar[str]
    paper: ClassVar[str]  # the short name of grokcore.report's bibliography
    section: ClassVar[str]
    title: ClassVar[str]
    # the catalogue's row, so that the repository alone says what the claim asserts
    setting: ClassVar[str] = ""
    statistic: ClassVar[str] = ""
    control: ClassVar[str] = ""
    # the paper's number for the headline statistic, as its first check states it: the
    # summary's paper column, also where the claim has no checks (NOT RUN)
    paper_value: ClassVar[str] = ""
    gpu: ClassVar[bool] = False  # the paper tier needs a CUDA device
    quick_seconds: ClassVar[int] = 0  # measured at the quick tier; longest first, for balance
    expected: ClassVar[Mapping[str, Expectation]] = {}  # scale -> known non-SUPPORTED outcome
    # when its runs may end before their budget, and why that moves no statistic; None: the
    # claim reads the end of training (final losses, norms, weights, spikes after the fit)
    stop: ClassVar[Stopping | None] = None

    # -- what it trains -----------------------------------------------------------------
    def arms(self, scope: Scope) -> Arms:
        """The runs by arm; raise NotRun when the scope cannot hold the claim."""
        raise NotImplementedError

    def stopping(self, scope: Scope) -> Stopping | None:
        """The stopping rule of this claim's runs at `scope` (the class's `stop`)."""
        return self.stop

    def must_grok(self, scope: Scope, arms: Arms) -> Mapping[str, Sequence[RunConfig]]:
        """The arms that must grok, checked against the LU time (omnigrok §2)."""
        return {}

    def prepare(self, scope: Scope) -> Arms:
        """`arms`, after the hardware, data and budget checks: NotRun with the reason if they
        fail (missing data names the files it expects)."""
        if self.gpu and scope.scale == "full" and scope.device.type != "cuda":
            raise NotRun("full scale needs a CUDA device")
        arms = self.arms(scope)
        if why := missing_data(c.task for cs in arms.values() for c in cs):
            raise NotRun(why)
        if why := shortfall(self.must_grok(scope, arms)):
            raise NotRun(why)
        if (stopping := self.stopping(scope)) is not None:
            rule = (stopping.rule,)
            arms = {a: [c if c.keep_params else c.replace(stop=rule) for c in cs]
                    for a, cs in arms.items()}  # fmt: skip
        return arms

    # -- how it is judged ---------------------------------------------------------------
    def judge(self, scope: Scope, arms: Arms, runs: Runs) -> Judgement:
        raise NotImplementedError

    def draw(self, scope: Scope, arms: Arms, runs: Runs, j: Judgement, figure: FigurePath) -> None:
        """Draw the card's figures: `figure(name, caption)` gives each one's path."""

    def card(self, scope: Scope, arms: Arms, j: Judgement) -> Card:
        raise NotImplementedError

    def paper_arms(self, scope: Scope) -> Arms | None:
        """The claim's runs at the paper tier (one seed), whose settings are its paper's: the
        quick card's settings table reads its paper column from them. None where the paper
        tier cannot be built here (its data is missing, say)."""
        if scope.scale == "full":
            return None  # the runs themselves are the paper tier's
        try:
            return self.arms(Scope("full", seeds_override=1, data_dir=scope.data_dir))
        except Exception:  # NotRun, missing data: the table falls back on the setup's notes
            return None

    def expectation(self, scale: str) -> Expectation | None:
        return self.expected.get(scale)

    def __repr__(self) -> str:
        return f"<claim {self.id}>"


class Registry:
    """Every claim spec, by id, in the order they were declared."""

    def __init__(self, specs: Iterable[ClaimSpec] = ()):
        self._specs: dict[str, ClaimSpec] = {}
        for s in specs:
            self.add(s)

    def add(self, spec: ClaimSpec) -> ClaimSpec:
        if spec.id in self._specs:
            raise ValueError(f"claim {spec.id} is declared twice")
        for name in ("id", "paper", "section", "title"):
            if not getattr(spec, name, ""):
                raise ValueError(f"claim spec {type(spec).__name__} has no {name}")
        for scale in spec.expected:
            if scale not in ("quick", "full"):
                raise ValueError(f"{spec.id}: expectation for unknown scale {scale!r}")
        self._specs[spec.id] = spec
        return spec

    def __iter__(self) -> Iterator[ClaimSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def __getitem__(self, claim_id: str) -> ClaimSpec:
        try:
            return self._specs[claim_id]
        except KeyError:
            raise KeyError(f"no claim {claim_id!r}; known: {', '.join(self._specs)}") from None

    def ids(self) -> list[str]:
        return list(self._specs)

    def select(self, keyword: str | None = None) -> list[ClaimSpec]:
        """The specs a pytest `-k` expression selects (matched as pytest matches it: a
        case-insensitive substring of the test's names, here the claim id, its paper and
        the generic test's name)."""
        if not keyword:
            return list(self)
        from _pytest.mark.expression import Expression

        try:
            expr = Expression.compile(keyword)
        except Exception as exc:  # pytest's ParseError: say it the way pytest would
            raise ValueError(f"-k {keyword!r}: {exc}") from None

        def matcher(spec: ClaimSpec) -> Callable[..., bool]:
            names = [spec.id, f"test_claim[{spec.id}]", "test_claim", spec.paper, "claims"]
            lowered = [n.lower() for n in names]
            return lambda sub, **_: any(sub.lower() in n for n in lowered)

        return [s for s in self if expr.evaluate(matcher(s))]


def load_registry(package: str = "claims") -> Registry:
    """The registry of the claims package (`claims.REGISTRY`), importing it from the current
    directory when it is not installed: `grokcore plan` runs in the repository."""
    import importlib
    import sys

    try:
        module = importlib.import_module(package)
    except ModuleNotFoundError:
        sys.path.insert(0, str(Path.cwd()))
        try:
            module = importlib.import_module(package)
        except ModuleNotFoundError:
            raise ValueError(
                f"no claims package {package!r} here ({Path.cwd()}): run grokcore from the "
                "repository's root"
            ) from None
    registry = getattr(module, "REGISTRY", None)
    if not isinstance(registry, Registry):
        raise ValueError(f"{package} has no REGISTRY of claim specs")
    return registry


__all__ = [
    "Arms",
    "Card",
    "ClaimSpec",
    "NotRun",
    "Registry",
    "Runs",
    "Scope",
    "Stopping",
    "load_registry",
]
