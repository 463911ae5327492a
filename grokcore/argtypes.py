"""argparse types shared by the pytest options and the `grokcore` CLI: each refuses a bad
value with a message naming what it must be, before anything runs."""

from __future__ import annotations

import argparse

from grokcore.seeds import MAX_SEED


def positive_int(text: str) -> int:
    """argparse type for --seeds: an integer >= 1 (0 would silently mean 'the default')."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return value


def nonnegative_int(text: str) -> int:
    """argparse type for --base-seed: a seed, 0 <= N <= MAX_SEED (torch takes no larger one)."""
    value = _int(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**63), got {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def minutes(text: str) -> float:
    """argparse type for --train-limit: a finite number of minutes >= 0 (0: train nothing)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < float("inf"):  # NaN fails this too
        raise argparse.ArgumentTypeError(f"must be a number of minutes >= 0, got {text!r}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


__all__ = ["minutes", "nonnegative_int", "positive_float", "positive_int"]
