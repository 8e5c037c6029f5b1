"""The weekly digest: each team's review (domain/weekly.py) in words, planned into the feedback
outbox each Monday once the team's working day has begun, once per team and ISO week."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from sqlalchemy.orm import Session

from leadtime.server.domain.digest_text import render
from leadtime.server.domain.feedback_events import DIGEST, Event
from leadtime.server.domain.feedback_messages import messages_for
from leadtime.server.domain.quiet_hours import hours_of
from leadtime.server.domain.weekly import weekly_report
from leadtime.server.hours import DAYS
from leadtime.server.models import Team
from leadtime.server.settings import Settings
from leadtime.server.store import feedback as stored
from leadtime.server.store import people as stored_people


def week_of(team: Team, settings: Settings, now: datetime) -> str | None:
    """The ISO week whose digest is due for the team at `now`: its digest day (Monday unless
    it chose another), once its working day has begun, in its time zone; None before."""
    hours = hours_of(team, settings)
    local = now.astimezone(hours.zone)
    if local.weekday() != DAYS.index(team.digest_day) or local.time() < hours.start:
        return None
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def plan_digests(session: Session, settings: Settings, now: datetime) -> int:
    """Store each team's digest that is due and not stored yet; how many messages were stored."""
    stored_count = 0
    for team in stored_people.teams(session):
        week = week_of(team, settings, now)
        if week is None or team.feedback.get(DIGEST) is False:
            continue
        key = f"digest:{team.name}:{week}"
        if stored.keys_starting(session, key + ":"):
            continue  # planned already, here or by another replica
        report = weekly_report(session, settings, team.name, now)
        event = Event(
            key=key,
            kind=DIGEST,
            subject=f"Weekly review of team {team.name}, {week}",
            lines=tuple(render(report)),
            link=f"{settings.dashboard_url}/weekly?team={quote(team.name)}",
            repository_id=0,
            service=None,
            team_only=True,
        )
        for row in messages_for(event, [team], [], [], settings, now):
            stored_count += stored.plan_message(session, row)
    return stored_count
