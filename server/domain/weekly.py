"""A team's weekly review: the last 7 days of its repositories and services, worked out by the
same functions as the dashboard and the API (lead time from repository_summary, steps from
slowest_steps, change failure from change_failure_report, pages from oncall_review), so every
number in the digest is one the dashboard shows.

- Per repository: lead time p50 and p90 against the four weeks before (the change as a ratio),
  share over budget, share of batched deploys, and the three slowest steps on the critical path
  with their trend.
- Per service: change failure rate and recovery time, pages per week (flagged over
  LEADTIME_WEEKLY_PAGE_LIMIT), out-of-hours pages, time to acknowledge and to resolve, the
  noisiest titles.
- Pages no person confirmed a suspect of, and authors of its repositories nobody is mapped to.

The digest is sent each Monday (or the team's `digest_day`) once the team's working day has
begun (its time zone), once per team and ISO week: its outbox key names both, so of several
replicas one stores it and one sends it (domain/feedback.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain import people
from leadtime.server.domain.budget import slowest_steps
from leadtime.server.domain.lead_time import repository_summary
from leadtime.server.domain.oncall import change_failure_report, oncall_review
from leadtime.server.domain.stats import percentiles
from leadtime.server.domain.suspects import CONFIRMED
from leadtime.server.errors import NotFound
from leadtime.server.models import Team
from leadtime.server.settings import Settings
from leadtime.server.store import feedback as stored
from leadtime.server.store import people as stored_people

WEEK = timedelta(days=7)
BEFORE = timedelta(days=28)  # the four weeks the last one is held against
SLOWEST_SHOWN = 3


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _change(now: float | None, before: float | None) -> float | None:
    return None if now is None or not before else now / before - 1


def _lead_times_between(
    session: Session, settings: Settings, reference: str, since: datetime, until: datetime
) -> list[float | None]:
    """The p50 and p90 of merge -> production of what deploys finished in [since, until)."""
    repository = store.find_repository(session, reference)
    pairs = store.lead_time_pairs(
        session, repository.id, settings.production_environment, since, until
    )
    return percentiles(
        [(deployed - merged).total_seconds() for merged, deployed in pairs], (0.5, 0.9)
    )


def _repository_week(
    session: Session, settings: Settings, reference: str, name: str, now: datetime
) -> dict:
    week = repository_summary(session, settings, now, WEEK, reference)
    before = _lead_times_between(session, settings, reference, now - WEEK - BEFORE, now - WEEK)
    steps = [
        {"name": s.name, "p50_seconds": s.p50, "critical_share": s.critical_share, "trend": s.trend}
        for s in slowest_steps(session, settings, now, reference, WEEK).steps
        if s.kind == "step" and s.critical_share > 0
    ]
    p50, p90 = _seconds(week.lead_time_median), _seconds(week.lead_time_p90)
    return {
        "repository": name,
        "deploys": week.deploys,
        "lead_time_p50_seconds": p50,
        "lead_time_p90_seconds": p90,
        "lead_time_p50_change": _change(p50, before[0]),
        "lead_time_p90_change": _change(p90, before[1]),
        "share_over_budget": week.share_over_budget,
        "share_batched_deploys": week.share_batched_deploys,
        "slowest_steps": steps[:SLOWEST_SHOWN],
    }


def _service_weeks(session: Session, settings: Settings, team: Team, now: datetime) -> list[dict]:
    failures = {
        f.service: f
        for service in team.services
        for f in change_failure_report(session, settings, now, WEEK, service)
    }
    rows = []
    for service in team.services:
        failure = failures.get(service)
        weeks = oncall_review(session, settings, now, WEEK, service)
        rows.append(
            {
                "service": service,
                "deploys": failure.deploys if failure else 0,
                "change_failure_rate": failure.rate if failure else None,
                "recovery_p50_seconds": failure.recovery_median_seconds if failure else None,
                "pages": sum(w.pages for w in weeks),
                "weeks": [
                    {
                        "week": w.week,
                        "pages": w.pages,
                        "flagged": w.flagged,
                        "out_of_hours": w.out_of_hours,
                        "acknowledge_p50_seconds": w.acknowledge_median_seconds,
                        "resolve_p50_seconds": w.resolve_median_seconds,
                        "noisiest": [{"title": t, "pages": n} for t, n in w.noisiest],
                    }
                    for w in weeks
                ],
            }
        )
    return rows


def team_repositories(session: Session, team: Team) -> list[tuple[str, str]]:
    """(reference, name as people say it) of each stored repository the team owns."""
    wanted = {name.lower() for name in team.repositories}
    return [
        (repository.display_name, people.short_name(session, repository.id))
        for repository in store.repositories(session)
        if wanted & {name.lower() for name in people.repository_names(repository)}
    ]


def weekly_report(session: Session, settings: Settings, team_name: str, now: datetime) -> dict:
    team = stored_people.team_named(session, team_name)
    if team is None:
        raise NotFound(f"no team named {team_name!r}; teams come from `leadtime people import`")
    repositories = team_repositories(session, team)
    unconfirmed = [
        {"id": page.id, "title": page.title, "service": page.service}
        for page in stored.pages_since(session, now - WEEK)
        if page.service in team.services and page.link_state != CONFIRMED
    ]
    unmapped = [
        entry
        for entry in people.unmapped_authors(session)
        if set(entry["repositories"]) & {name for _, name in repositories}
    ]
    return {
        "team": team.name,
        "week_ending": now,
        "repositories": [
            _repository_week(session, settings, reference, name, now)
            for reference, name in repositories
        ],
        "services": _service_weeks(session, settings, team, now),
        "pages_without_a_confirmed_suspect": unconfirmed,
        "unmapped": unmapped,
    }
