"""Quiet hours: feedback that is not a page waits for working hours, the owning team's (its
`working_hours`, `working_days`, `time_zone`), or the server's (LEADTIME_WORKING_HOURS, ...)
where no team owns the change. With several owning teams, the first to start work decides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadtime.server.hours import WorkingHours, parse_working_hours
from leadtime.server.models import Team
from leadtime.server.settings import Settings

LOOK_AHEAD = timedelta(days=8)  # a week of days off at most, and a day over


def hours_of(team: Team | None, settings: Settings) -> WorkingHours:
    if team is None:
        return parse_working_hours(settings.working_hours, settings.working_days, settings.timezone)
    return parse_working_hours(team.working_hours, team.working_days, team.time_zone)


def next_working_moment(hours: WorkingHours, now: datetime) -> datetime:
    """`now` when it is inside working hours, else the start of the next working period."""
    if not hours.out_of_hours(now):
        return now
    local = now.astimezone(hours.zone)
    for days in range(LOOK_AHEAD.days + 1):
        day = (local + timedelta(days=days)).date()
        start = datetime.combine(day, hours.start, tzinfo=hours.zone)
        if start > local and not hours.out_of_hours(start):
            return start.astimezone(UTC)
    return now  # no working day at all: never hold a message for ever


def next_send(is_page: bool, teams: list[Team], settings: Settings, now: datetime) -> datetime:
    """When a message may go: a page at once; anything else in working hours."""
    if is_page:
        return now
    owners: list[Team | None] = list(teams) or [None]
    return min(next_working_moment(hours_of(team, settings), now) for team in owners)
