"""DORA's five keys of one repository (or all) over a window, each with its tier
(domain/dora_tiers.py), computed by the same functions the other reports use:

- **Deployment frequency**: successful production deploys finished in the window, per day.
- **Change lead time**: the median, over the mergesets those deploys shipped, of first commit ->
  production (lead_time.change_lead_time); where git told no mergeset's first commit (squash
  and rebase merges), the median merge -> production, and it says so.
- **Change failure rate** and **failed deployment recovery time**: as the change-failure report
  counts them (domain/oncall.py), over the same deploys.
- **Deployment rework rate**: the share of those deploys that were unplanned, made to fix a
  problem in production: a rollback, a deploy shipping a revert (domain/reverts.py), or one that
  finished while a page on its service was open or within LEADTIME_REWORK_AFTER_PAGE_MINUTES
  (default 60) after it resolved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain import dora_tiers as tiers
from leadtime.server.domain.lead_time import change_lead_time
from leadtime.server.domain.oncall import change_failure, failures_of
from leadtime.server.domain.stats import percentile
from leadtime.server.settings import Settings
from leadtime.server.store.deploys import Shipped


@dataclass(frozen=True)
class DoraKey:
    key: str
    value: float | None
    unit: str  # per day, seconds or share
    tier: str | None
    counts: str  # what the value counts, in words
    note: str | None = None  # why there is no tier, where there is none by design


@dataclass(frozen=True)
class DoraReport:
    repository: str | None
    window: timedelta
    deploys: int
    keys: list[DoraKey]
    source: str
    measured_since: datetime | None


@dataclass(frozen=True)
class DeployFacts:
    id: int
    service: str
    finished_at: datetime


PageWindow = tuple[str, datetime, datetime | None]  # service, triggered, resolved


def unplanned(
    deploys: Sequence[DeployFacts],
    rollbacks_and_reverts: set[int],
    pages: Sequence[PageWindow],
    after_page: timedelta,
) -> set[int]:
    """The deploys made to fix a problem in production (the rework rate's numerator)."""
    found = {deploy.id for deploy in deploys if deploy.id in rollbacks_and_reverts}
    for deploy in deploys:
        for service, triggered, resolved in pages:
            open_then = resolved is None or deploy.finished_at <= resolved + after_page
            if service == deploy.service and triggered <= deploy.finished_at and open_then:
                found.add(deploy.id)
    return found


def _key(key: str, value: float | None, counts: str, bounds: dict[str, tiers.Bounds]) -> DoraKey:
    found = bounds.get(key)
    return DoraKey(
        key=key,
        value=value,
        unit=tiers.UNITS[key],
        tier=found.tier(value) if found else None,
        counts=counts,
        note=tiers.tier_note(key, bounds),
    )


def _lead_time(shipped: Sequence[Shipped]) -> tuple[float | None, str]:
    """Change lead time's median in seconds, and what it counts."""
    changes = [
        change.total_seconds()
        for row in shipped
        if (change := change_lead_time(row.merged_at, row.first_commit_at, row.deployed_at))
        is not None
    ]
    if changes:
        return percentile(changes, 0.5), (
            f"median first commit -> production of {len(changes)} of {len(shipped)} "
            "mergesets shipped (those whose first commit git told)"
        )
    merges = [(row.deployed_at - row.merged_at).total_seconds() for row in shipped]
    return percentile(merges, 0.5), (
        f"median merge -> production of {len(merges)} mergesets shipped "
        "(no first commit known: squash or rebase merges)"
    )


@dataclass(frozen=True)
class DoraFacts:
    """What the keys are worked out from, read once for a span of time (one window, or the
    weeks of a trend), so each window within it is counted without reading again."""

    deploys: list[DeployFacts]
    failures: dict[int, list[tuple[datetime, datetime | None]]]  # oncall.failures_of
    rollbacks_and_reverts: set[int]
    pages: list[PageWindow]
    shipped: list[Shipped]


def gather(
    session: Session,
    settings: Settings,
    since: datetime,
    until: datetime,
    repository_id: int | None,
) -> DoraFacts:
    environment = settings.production_environment
    rows = store.production_deploys_between(session, environment, since, until, None, repository_id)
    deploys = [DeployFacts(deploy_id, service, at) for deploy_id, service, at in rows]
    # the deploys' facts read by the statement that chose them, not by thousands of ids
    ids = store.production_deploy_ids(environment, since, until, None, repository_id)
    rollbacks, reverting = store.rollbacks_and_reverts(session, ids)
    after_page = timedelta(minutes=settings.rework_after_page_minutes)
    services = {d.service for d in deploys}
    return DoraFacts(
        deploys=deploys,
        failures=failures_of(session, rows, ids),
        rollbacks_and_reverts=rollbacks | reverting,
        pages=store.pages_of_services(session, services, since - after_page, until),
        shipped=[
            row
            for row in store.shipped_since(session, environment, since, repository_id)
            if row.deployed_at < until
        ],
    )


def dora_keys(
    facts: DoraFacts, settings: Settings, since: datetime, until: datetime
) -> list[DoraKey]:
    """The five keys over the deploys of `facts` that finished in [since, until)."""
    deploys = [d for d in facts.deploys if since <= d.finished_at < until]
    shipped = [row for row in facts.shipped if since <= row.deployed_at < until]
    failure = change_failure("", [(d.id, d.finished_at) for d in deploys], facts.failures)
    after_page = timedelta(minutes=settings.rework_after_page_minutes)
    reworked = unplanned(deploys, facts.rollbacks_and_reverts, facts.pages, after_page)
    bounds = tiers.parse_tiers(settings.dora_tiers)
    days, n = (until - since).total_seconds() / tiers.DAY, len(deploys)
    lead_time, lead_time_counts = _lead_time(shipped)
    return [
        _key(
            tiers.DEPLOYMENT_FREQUENCY, n / days, f"{n} production deploys in {days:g} days", bounds
        ),
        _key(tiers.CHANGE_LEAD_TIME, lead_time, lead_time_counts, bounds),
        _key(
            tiers.CHANGE_FAILURE_RATE,
            failure.rate,
            f"{failure.failed_deploys} of {n} deploys were the suspect of a page or rolled back",
            bounds,
        ),
        _key(
            tiers.RECOVERY_TIME,
            failure.recovery_median_seconds,
            f"median deploy -> last page resolved or rollback, of {failure.recovered} failed "
            "deploys recovered",
            bounds,
        ),
        _key(
            tiers.REWORK_RATE,
            len(reworked) / n if n else None,
            f"{len(reworked)} of {n} deploys unplanned: rollbacks, reverts, or shipped while a "
            f"page on their service was open (or within {settings.rework_after_page_minutes:g} "
            "minutes after it resolved)",
            bounds,
        ),
    ]


def dora_report(
    session: Session,
    settings: Settings,
    now: datetime,
    window: timedelta,
    repository: str | None = None,
) -> DoraReport:
    """The five keys with their tiers, over the production deploys that finished in the
    window."""
    repository_id = store.find_repository(session, repository).id if repository else None
    facts = gather(session, settings, now - window, now, repository_id)
    return DoraReport(
        repository=repository,
        window=window,
        deploys=len(facts.deploys),  # gather read those of the window only
        keys=dora_keys(facts, settings, now - window, now),
        source=tiers.SOURCE,
        measured_since=store.adopted_at(session, repository_id),
    )
