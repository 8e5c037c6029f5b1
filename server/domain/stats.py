"""The two statistics every rule uses, one way: a percentile by linear interpolation between
closest ranks (numpy's default) and the median as its 50th."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """None for no values."""
    return percentiles(values, (fraction,))[0]


def percentiles(values: Sequence[float], fractions: Sequence[float]) -> list[float | None]:
    """Several percentiles of the same values, sorted once; None each for no values."""
    if not values:
        return [None for _ in fractions]
    ordered = sorted(values)
    found: list[float | None] = []
    for fraction in fractions:
        position = (len(ordered) - 1) * fraction
        low, high = math.floor(position), math.ceil(position)
        found.append(ordered[low] + (ordered[high] - ordered[low]) * (position - low))
    return found


def median(values: Sequence[float]) -> float | None:
    return percentile(values, 0.5)
