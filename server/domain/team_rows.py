"""A row per team on the every-repository page: the same figures as a repository's row
(domain/portfolio.py), counted over every repository the team owns at once (domain/people.py),
so a team's change failure rate is its deploys' failures over its deploys, never an average of
its repositories' rates. Sorted as repositories are: what needs attention first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain import dora_tiers as tiers
from leadtime.server.domain import people
from leadtime.server.domain.dora import DoraFacts, DoraReport, dora_keys, gather
from leadtime.server.domain.lead_time import Summary, summarize
from leadtime.server.domain.stats import percentile
from leadtime.server.domain.trends import WEEK, WEEKS_SHOWN, weekly_lead_times
from leadtime.server.models import Repository
from leadtime.server.settings import Settings
from leadtime.server.store import people as stored_people


@dataclass(frozen=True)
class TeamRow:
    name: str
    repositories: list[str]  # as people say them
    summary: Summary
    dora: DoraReport
    weekly_p50: list[float | None]

    @property
    def low_keys(self) -> int:
        return sum(key.tier == tiers.LOW for key in self.dora.keys)


def _facts(session: Session, settings: Settings, since, until, owned: list[Repository]):
    parts = [gather(session, settings, since, until, repository.id) for repository in owned]
    return DoraFacts(
        deploys=[d for part in parts for d in part.deploys],
        failures={k: v for part in parts for k, v in part.failures.items()},
        rollbacks_and_reverts=set().union(*(part.rollbacks_and_reverts for part in parts)),
        pages=[p for part in parts for p in part.pages],
        shipped=[s for part in parts for s in part.shipped],
    )


def _summary(
    session: Session, settings: Settings, facts: DoraFacts, owned, now: datetime, window
) -> Summary:
    environment = settings.production_environment
    lead_times = [row.deployed_at - row.merged_at for row in facts.shipped]
    default = settings.default_budget.total_seconds()
    over = [
        (row.deployed_at - row.merged_at).total_seconds() > (row.budget_seconds or default)
        for row in facts.shipped
    ]
    sizes = [
        size
        for repository in owned
        for size in store.deploy_sizes(session, environment, now - window, repository.id)
    ]
    waiting = [store.waiting_count_and_oldest(session, environment, r.id) for r in owned]
    oldest = min((at for _, at in waiting if at is not None), default=None)
    longest = now - oldest if oldest is not None else None
    return summarize(lead_times, over, sizes, (sum(n for n, _ in waiting), longest), window)


def _weekly(session: Session, settings: Settings, owned, now: datetime) -> list[float | None]:
    since = now - WEEKS_SHOWN * WEEK
    pairs = [
        pair
        for repository in owned
        for pair in store.lead_time_pairs(
            session, repository.id, settings.production_environment, since, now
        )
    ]
    return [percentile(values, 0.5) for values in weekly_lead_times(pairs, now, WEEKS_SHOWN)]


def team_rows(
    session: Session, settings: Settings, now: datetime, window: timedelta
) -> list[TeamRow]:
    repositories = store.repositories(session)
    owners = people.teams_of(session, repositories)
    rows = []
    for team in stored_people.teams(session):
        owned = [r for r in repositories if team.name in owners[r.id]]
        if not owned:
            continue
        facts = _facts(session, settings, now - window, now, owned)
        adopted = [r.adopted_at for r in owned if r.adopted_at is not None]
        dora = DoraReport(
            repository=None,
            window=window,
            deploys=len(facts.deploys),
            keys=dora_keys(facts, settings, now - window, now),
            source=tiers.SOURCE,
            measured_since=min(adopted, default=None),
        )
        rows.append(
            TeamRow(
                name=team.name,
                repositories=[people.short_name(session, r.id) for r in owned],
                summary=_summary(session, settings, facts, owned, now, window),
                dora=dora,
                weekly_p50=_weekly(session, settings, owned, now),
            )
        )
    return sorted(rows, key=lambda row: (-row.low_keys, -(row.summary.share_over_budget or 0)))
