"""Times as the sources write them, read as UTC-aware datetimes; durations as people read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def parse_time(value) -> datetime | None:
    """ISO 8601 (with `Z`, an offset or none, taken as UTC), GitLab's `2026-11-20 10:04:30 UTC`
    and `2026-11-20 10:04:30 +0200`, or Unix seconds; None if none of them."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None  # out of any calendar
    text = str(value).strip().replace("Z", "+00:00")
    if text.endswith(" UTC"):
        text = text.removesuffix(" UTC") + "+00:00"
    text = text.replace(" +", "+").replace(" -", "-")
    try:
        parsed = datetime.fromisoformat(text)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # not a time, or one out of any calendar in UTC
        return None


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: str) -> timedelta:
    """`90s`, `15m`, `24h`, `7d`, `2w` (or a bare number of seconds) as a timedelta."""
    text = value.strip().lower()
    unit = text[-1:] if text[-1:] in _UNITS else "s"
    number = text[:-1] if text[-1:] in _UNITS else text
    try:
        amount = float(number)
    except ValueError:
        raise ValueError(f"{value!r} is not a duration; write e.g. 15m, 24h or 7d") from None
    if not amount * _UNITS[unit] >= 1:  # also refuses nan; under a second means nothing here
        raise ValueError(f"{value!r}: a duration must be at least 1s")
    if amount * _UNITS[unit] > 100 * 365 * 86400:
        raise ValueError(f"{value!r}: a duration must be under 100 years")
    return timedelta(seconds=amount * _UNITS[unit])


def format_duration(seconds: float | None) -> str:
    """`4.2s`, `3m05s`, `1h02m`, `4d07h` (a day and more in days and hours); `-` for none."""
    if seconds is None:
        return "-"
    sign = "-" if seconds < 0 else ""
    if abs(seconds) < 10:
        return f"{seconds:.1f}s"  # short steps: a tenth of a second still tells something
    hours, rest = divmod(round(abs(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 24:
        return f"{sign}{hours // 24}d{hours % 24:02d}h"
    if hours:
        return f"{sign}{hours}h{minutes:02d}m"
    return f"{sign}{minutes}m{secs:02d}s" if minutes else f"{sign}{secs}s"
