"""The GROKCORE_* environment variables: what each one takes, parsed in one place.

Every read of a GROKCORE_* variable goes through this module, so a value that means
nothing is an error naming the variable and what it accepts, never a silent default:
`GROKCORE_CUDA_GRAPH=off` used to keep the graph on, because only "0" meant off.
`check()` parses every variable that is set; the pytest plugin and the CLI call it before
anything trains. The table of variables is `VARIABLES` (and docs/reliability.md).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

TRUE = ("1", "true", "on", "yes")
FALSE = ("0", "false", "off", "no")

# name -> the values it takes, in words (docs/reliability.md lists the same)
VARIABLES: dict[str, str] = {
    "GROKCORE_CACHE": "a directory: the run cache (default <rootdir>/.grokcore/cache)",
    "GROKCORE_DATA_DIR": "a directory with full MNIST, IMDb or QM9 (default: none)",
    "GROKCORE_DEVICE": "cpu, cuda, cuda:N or mps (default: cuda when available, else cpu)",
    "GROKCORE_CUDA_GRAPH": "a switch: replay each CUDA step as a captured graph (default on)",
    "GROKCORE_FUSED_ADAM": "a switch: torch's fused Adam kernel on CPU (default on)",
    "GROKCORE_FLUSH_DENORMAL": "a switch: flush subnormal floats while training on CPU "
    "(default on)",
    "GROKCORE_ESTIMATE": "probe or flops: how training time is estimated (default: probe on "
    "CUDA, flops elsewhere)",
    "GROKCORE_PROGRESS_EVERY": "a positive number of seconds between the controller's "
    "progress lines under pytest -n (default 30)",
    "GROKCORE_SESSION": "set by the pytest plugin for its workers: not for users",
}
SWITCHES = ("GROKCORE_CUDA_GRAPH", "GROKCORE_FUSED_ADAM", "GROKCORE_FLUSH_DENORMAL")


class EnvError(ValueError):
    """A GROKCORE_* variable holds a value it does not take."""


def _raw(name: str) -> str | None:
    """The variable's value, stripped; None when unset or empty (then the default holds)."""
    value = os.environ.get(name, "").strip()
    return value or None


def flag(name: str, default: bool) -> bool:
    """A switch: 1/true/on/yes or 0/false/off/no (any case); unset or empty: `default`."""
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise EnvError(
        f"{name}={os.environ[name]!r}: not a switch; use one of {'/'.join(TRUE)} "
        f"or {'/'.join(FALSE)} (or leave it unset for the default, "
        f"{'on' if default else 'off'})"
    )


def choice(name: str, choices: Sequence[str], default: str | None = None) -> str | None:
    """One of `choices` (any case); unset or empty: `default`."""
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in choices:
        return value.lower()
    raise EnvError(f"{name}={os.environ[name]!r}: use {' or '.join(choices)} (or leave it unset)")


def positive_number(name: str, default: float) -> float:
    """A finite number > 0; unset or empty: `default`."""
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (number > 0 and math.isfinite(number)):
        raise EnvError(
            f"{name}={os.environ[name]!r}: must be a positive, finite number of seconds "
            f"(default {default:g})"
        )
    return number


def check() -> None:
    """Parse every GROKCORE_* variable that is set; EnvError for the first bad one.

    GROKCORE_DEVICE is checked where the device is chosen (`grokcore.device`), which also
    knows whether CUDA is there; paths are checked where they are used.
    """
    for name in SWITCHES:
        flag(name, True)
    choice("GROKCORE_ESTIMATE", ("probe", "flops"))
    positive_number("GROKCORE_PROGRESS_EVERY", 30.0)
