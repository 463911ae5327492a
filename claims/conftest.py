"""Claims: each test also matches its paper under `-k`, and at the quick tier the longest
claims start first."""

from __future__ import annotations

import pytest

from grokcore.session import OPTIONS
from grokcore.spec import ClaimSpec


def _spec(item: pytest.Item) -> ClaimSpec | None:
    callspec = getattr(item, "callspec", None)
    spec = callspec.params.get("spec") if callspec is not None else None
    return spec if isinstance(spec, ClaimSpec) else None


def longest_first(items: list[pytest.Item]) -> None:
    """Sort `items` in place, longest expected quick-tier claim first (`quick_seconds`; a
    stable sort: unlisted items keep their order, after the listed ones). The plan trains
    before any claim is judged, so this orders what is left: judging (LS-LAND's loss
    slices) and claims the plan could not train."""
    items.sort(key=lambda item: -(s.quick_seconds if (s := _spec(item)) else 0))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if (spec := _spec(item)) is not None:
            item.extra_keyword_matches.add(spec.paper)  # `-k arn` selects arn's claims
    options = config.stash.get(OPTIONS, None)
    if options is not None and options.scale == "quick":
        longest_first(items)
