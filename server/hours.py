"""A team's working hours (LEADTIME_WORKING_HOURS, _WORKING_DAYS, _TIMEZONE): when a page is out
of hours. Read here, below the settings, so a misspelled value stops the server at start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class WorkingHours:
    start: time
    end: time
    days: frozenset[int]  # 0 = Monday
    zone: ZoneInfo

    def out_of_hours(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        return local.weekday() not in self.days or not (self.start <= local.time() < self.end)


def parse_working_hours(hours: str, days: str, zone: str) -> WorkingHours:
    """`09:00-18:00`, `mon-fri` (or `mon,wed,fri`), an IANA zone; a ValueError saying what
    is wrong otherwise."""
    try:
        start_text, end_text = hours.split("-")
        start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    except ValueError:
        raise ValueError(f"working hours {hours!r}: write them as 09:00-18:00") from None
    chosen: set[int] = set()
    for part in days.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"working days {days!r}: write them as mon-fri or mon,tue,wed")
        low, high = DAYS.index(first), DAYS.index(last or first)
        chosen.update(range(low, high + 1))
    try:
        tz = ZoneInfo(zone)
    except (KeyError, ValueError):
        raise ValueError(f"time zone {zone!r} is not an IANA name like Europe/Berlin") from None
    return WorkingHours(start, end, frozenset(chosen), tz)
