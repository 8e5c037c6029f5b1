"""Feedback: tell the person who made a change, first, and the team that owns it.

The rules, in DESIGN.md's words:
- A **page** with a suspect deploy reaches the authors of that deploy's mergesets and the team
  owning its service or repository: the page's title, the deploy, their mergeset, the other
  candidates and a link to confirm or clear the suspect. When a person later clears the
  suspect or names another deploy, the same people hear so in a follow-up.
- A **failure**: a failed production deploy reaches the authors of the mergesets it was to ship;
  a failed main-branch pipeline run, the author of its mergeset.
- **Waiting**: a mergeset stuck longer than the budget (the stuck-mergeset alert) reaches its
  author and the team.
- A **regression** of a step reaches the team's channel only: no single author owns a slow step.
- Each message says why it reached this person. Each is planned once per event, channel and
  recipient (a unique key: two replicas planning the same message store it once) and sent once
  (store/outbox.py's claim). A team may turn any kind off (`feedback: {kind: false}`); anything
  but a page waits for the team's working hours (quiet hours), the server's where no team owns it.
- News is what happened within LEADTIME_FEEDBACK_LOOKBACK_HOURS.

Channels: Slack (a direct message to a mapped person through the chat API when a bot token is
set; the team's channel otherwise, mentioning mapped authors as `<@U...>`; the server's Slack
webhook where no team owns the change), email (each author with an address, and the team's
list) and the server's JSON webhook (one per event, listing the recipients).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain import people, quiet_hours
from leadtime.server.domain.feedback_events import PAGE, Event, Told, mergeset_ref, news
from leadtime.server.domain.feedback_messages import messages_for
from leadtime.server.models import Team
from leadtime.server.settings import Settings
from leadtime.server.store import feedback as stored
from leadtime.server.store import people as stored_people


def authors_told(session: Session, event: Event) -> tuple[list[Told], list[str]]:
    """The mapped authors with their reasons (one per person), and the unmapped authors'
    names."""
    if event.team_only:
        return [], []
    found = people.authors_of(session, list(event.mergesets))
    told: dict[int, Told] = {}
    loose: list[str] = []
    for mergeset in event.mergesets:
        for author in found.get(mergeset.id, []):
            if author.person is None:
                loose.append(author.shown)
            elif author.person.id not in told:
                why = event.why_author.replace("{mergeset}", mergeset_ref(mergeset))
                told[author.person.id] = Told(author.person, why)
    return list(told.values()), sorted(set(loose))


def owners(session: Session, event: Event) -> list[Team]:
    repository = store.repository_by_id(session, event.repository_id)
    names = people.repository_names(repository) if repository else set()
    return people.teams_owning(stored_people.teams(session), names, event.service)


def plan(session: Session, settings: Settings, now: datetime) -> int:
    """Store the messages the news calls for (those stored already stay as they are); how many
    this call stored."""
    stored_count = 0
    for event in news(session, settings, now):
        teams = owners(session, event)
        if any(team.feedback.get(event.kind) is False for team in teams):
            continue  # the owning team turned this kind off
        told, loose = authors_told(session, event)
        due = quiet_hours.next_send(event.kind == PAGE, teams, settings, now)
        for row in messages_for(event, teams, told, loose, settings, due):
            # read first: a message planned in an earlier round costs no write (nor, on
            # PostgreSQL, a sequence number) when the news is planned again
            if not stored.planned(session, row["key"]):
                stored_count += stored.plan_message(session, row)
    return stored_count
