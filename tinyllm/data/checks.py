"""Argument checks shared by the data helpers: each names the function, the argument and its valid range."""

from __future__ import annotations

from typing import Any

import numpy


def is_count(value: Any) -> bool:
    """A whole number that is not a bool (True would pass for 1)."""
    return isinstance(value, (int, numpy.integer)) and not isinstance(value, (bool, numpy.bool_))


def check_count(fn: str, name: str, value: Any, low: int = 1) -> None:
    """Refuse anything but a whole number >= low."""
    if not is_count(value) or value < low:
        kind = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ValueError(f"{fn}: {name} must be {kind}, not {value!r}")


def check_seed(fn: str, seed: Any) -> None:
    """A seed is None or a whole number >= 0 (what ``numpy.random.default_rng`` accepts)."""
    if seed is not None and (not is_count(seed) or seed < 0):
        raise ValueError(f"{fn}: seed must be a non-negative integer or None, not {seed!r}")


def check_flag(fn: str, name: str, value: Any) -> None:
    """Refuse a flag that is not True or False (a string like "no" would count as True)."""
    if not isinstance(value, (bool, numpy.bool_)):
        raise TypeError(f"{fn}: {name} must be True or False, not {value!r}")
