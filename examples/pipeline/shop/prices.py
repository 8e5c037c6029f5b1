"""Prices in cents, so no rounding surprises."""

from __future__ import annotations


def with_tax(cents: int, rate_percent: int) -> int:
    """The price with tax, rounded half up to a whole cent."""
    return (cents * (100 + rate_percent) + 50) // 100


def discounted(cents: int, percent_off: int) -> int:
    if not 0 <= percent_off <= 100:
        raise ValueError(f"a discount is 0 to 100 percent, not {percent_off}")
    return cents - (cents * percent_off + 50) // 100
