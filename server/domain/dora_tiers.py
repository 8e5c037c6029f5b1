"""DORA's performance tiers for the five keys, kept in one table with their source.

Source: the 2024 Accelerate State of DevOps report (p. 13), the latest with elite, high, medium
and low clusters; the 2025 report replaced them with seven team profiles that have no
per-key thresholds. The report gives each cluster a range or a typical value per key:

| key | elite | high | medium | low |
|---|---|---|---|---|
| deployment frequency | on demand (several a day) | daily to weekly | weekly to monthly | rarer |
| change lead time | under a day | a day to a week | a week to a month | a month and more |
| change failure rate | 5% | 20% | 10% | 40% |
| failed deployment recovery time | under an hour | under a day | under a day | a week to a month |
| deployment rework rate | (none published) | | | |

A value's tier is the first of elite, high and medium whose bound it meets, else low: at least
the bound for deployment frequency (deploys per day: elite from one a day), at most the bound
for the others. Taken literally the report never gives medium for the change failure rate (its
medium value, 10%, is below high's 20%) or for the recovery time (the same bound as high); the
table says so rather than invent bounds. DORA publishes no tiers for the rework rate, so it has
none unless an operator sets bounds: `LEADTIME_DORA_TIERS`, e.g.
`rework_rate=5%,10%,20%;change_lead_time=12h,3d,2w` (parse_tiers).
"""

from __future__ import annotations

from dataclasses import dataclass

from leadtime.server.timeparse import format_duration, parse_duration

# The window of every delivery-performance figure (DORA's keys, the change failure rate) when
# none is asked for, the same in the API, the terminal and the dashboard: one number per fact.
DEFAULT_WINDOW = "30d"
SOURCE = "DORA 2024 clusters (Accelerate State of DevOps 2024, p. 13)"
LEVELS = ("elite", "high", "medium")  # a value that meets none of their bounds is low
LOW = "low"
DAY, WEEK, MONTH = 86400.0, 7 * 86400.0, 30 * 86400.0

DEPLOYMENT_FREQUENCY = "deployment_frequency"
CHANGE_LEAD_TIME = "change_lead_time"
CHANGE_FAILURE_RATE = "change_failure_rate"
RECOVERY_TIME = "failed_deployment_recovery_time"
REWORK_RATE = "rework_rate"
KEYS = (DEPLOYMENT_FREQUENCY, CHANGE_LEAD_TIME, CHANGE_FAILURE_RATE, RECOVERY_TIME, REWORK_RATE)
NAMES = {
    DEPLOYMENT_FREQUENCY: "deployment frequency",
    CHANGE_LEAD_TIME: "change lead time",
    CHANGE_FAILURE_RATE: "change failure rate",
    RECOVERY_TIME: "failed deployment recovery time",
    REWORK_RATE: "rework rate",
}
UNITS = {
    DEPLOYMENT_FREQUENCY: "per day",
    CHANGE_LEAD_TIME: "seconds",
    CHANGE_FAILURE_RATE: "share",
    RECOVERY_TIME: "seconds",
    REWORK_RATE: "share",
}


@dataclass(frozen=True)
class Bounds:
    """The elite, high and medium bounds of one key; `higher_is_better` for frequency."""

    values: tuple[float, float, float]
    higher_is_better: bool = False

    def tier(self, value: float | None) -> str | None:
        if value is None:
            return None
        for level, bound in zip(LEVELS, self.values, strict=True):
            if (value >= bound) if self.higher_is_better else (value <= bound):
                return level
        return LOW


DORA_2024: dict[str, Bounds] = {
    DEPLOYMENT_FREQUENCY: Bounds((1.0, 1 / 7, 1 / 30), higher_is_better=True),
    CHANGE_LEAD_TIME: Bounds((DAY, WEEK, MONTH)),
    CHANGE_FAILURE_RATE: Bounds((0.05, 0.20, 0.10)),
    RECOVERY_TIME: Bounds((3600.0, DAY, DAY)),
}
NO_TIERS = {REWORK_RATE: "DORA publishes no tiers for the rework rate yet"}


def _bound(key: str, text: str) -> float:
    """One bound as an operator writes it: a duration for the times, a share (`5%` or 0.05)
    for the rates, deploys per day for the frequency."""
    text = text.strip()
    if UNITS[key] == "seconds":
        try:
            return parse_duration(text).total_seconds()
        except ValueError as error:
            raise ValueError(f"{key}: {error}") from None
    try:
        number = float(text.removesuffix("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise ValueError(f"{key}: {text!r} is not a number") from None
    if not number >= 0:
        raise ValueError(f"{key}: {text!r} must not be negative")
    return number


def parse_tiers(text: str) -> dict[str, Bounds]:
    """DORA_2024 with an operator's bounds in place of some: `key=elite,high,medium;...`."""
    tiers = dict(DORA_2024)
    for part in filter(None, (piece.strip() for piece in text.split(";"))):
        key, _, bounds = part.partition("=")
        key = key.strip()
        if key not in KEYS:
            raise ValueError(f"{key!r} is not one of {', '.join(KEYS)}")
        values = [_bound(key, value) for value in bounds.split(",")]
        if len(values) != len(LEVELS):
            raise ValueError(f"{key} needs three bounds (elite,high,medium)")
        tiers[key] = Bounds(
            (values[0], values[1], values[2]), higher_is_better=key == DEPLOYMENT_FREQUENCY
        )
    return tiers


def tier_note(key: str, tiers: dict[str, Bounds]) -> str | None:
    """Why a key has no tier, where it has none by design."""
    return None if key in tiers else NO_TIERS.get(key)


def as_read(value: float | None, unit: str) -> str:
    """A key's value as people read it, the same in the terminal and on the dashboard: deploys
    a day (a week when fewer than one a day), a duration, a percentage."""
    if value is None:
        return "-"
    if unit == "per day":
        return f"{value:.1f}/day" if value >= 1 else f"{value * 7:.1f}/week"
    if unit == "seconds":
        return format_duration(value)
    return f"{value:.0%}"
