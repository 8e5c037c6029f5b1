"""What the pages say about delivery and about the people on call.

- **Change failure rate** of a service over a window: the distinct production deploys that are
  the suspect (automatic or confirmed) of at least one page, or that were rolled back, over all
  its successful production deploys in the window. Deploys, not pages: one bad deploy paging
  five times is one failure.
- **Failed deployment recovery time**: for each failed deploy whose pages are all resolved, from
  the deploy's finish to the last of its pages' resolutions or its rollback; median and p90.
- **On-call load**, per service, team and ISO week (in the team's time zone): pages, pages out of
  hours (outside the working hours and days), median time to acknowledge and to resolve, the
  noisiest titles; weeks with more pages than the weekly limit (default 5) are flagged.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain.stats import median, percentile
from leadtime.server.hours import WorkingHours, parse_working_hours
from leadtime.server.settings import Settings


@dataclass(frozen=True)
class ChangeFailure:
    service: str
    deploys: int
    failed_deploys: int
    rate: float | None
    recovery_median_seconds: float | None
    recovery_p90_seconds: float | None
    recovered: int


def change_failure(
    service: str,
    deploys: Sequence[tuple[int, datetime]],
    pages_of: dict[int, list[tuple[datetime, datetime | None]]],
) -> ChangeFailure:
    """The numbers on plain values: (deploy id, finished at) of the service's deploys, and for
    each deploy the (triggered, resolved) of the pages it is the suspect of."""
    failed = [(deploy_id, at) for deploy_id, at in deploys if pages_of.get(deploy_id)]
    # Recovered when every page after the deploy is resolved: at the last resolution.
    resolutions = {
        deploy_id: [resolved for _, resolved in pages_of[deploy_id] if resolved is not None]
        for deploy_id, _ in failed
    }
    recoveries = [
        (max(resolutions[deploy_id]) - at).total_seconds()
        for deploy_id, at in failed
        if len(resolutions[deploy_id]) == len(pages_of[deploy_id])
    ]
    return ChangeFailure(
        service=service,
        deploys=len(deploys),
        failed_deploys=len(failed),
        rate=len(failed) / len(deploys) if deploys else None,
        recovery_median_seconds=percentile(recoveries, 0.5),
        recovery_p90_seconds=percentile(recoveries, 0.9),
        recovered=len(recoveries),
    )


def change_failure_report(
    session: Session, settings: Settings, now: datetime, window: timedelta, service: str | None
) -> list[ChangeFailure]:
    chosen = (settings.production_environment, now - window, now, service)
    deploys = store.production_deploys_between(session, *chosen)
    by_service: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
    for deploy_id, name, finished_at in deploys:
        by_service[name].append((deploy_id, finished_at))
    pages_of = failures_of(session, deploys, store.production_deploy_ids(*chosen))
    return [change_failure(name, rows, pages_of) for name, rows in sorted(by_service.items())]


def failures_of(
    session: Session,
    deploys: Sequence[tuple[int, str, datetime]],
    ids: store.DeployIds | None = None,
) -> dict[int, list[tuple[datetime, datetime | None]]]:
    """For each of these (id, service, finished at) deploys that failed, the (triggered,
    resolved) of what says so: the pages it is the suspect of, and its rollback. `ids`: the
    statement that selected them, if there are many (store.DeployIds)."""
    finished = {deploy_id: at for deploy_id, _, at in deploys}
    ids = list(finished) if ids is None else ids
    followed = store.pages_after_deploys(session, ids)
    pages_of = {
        deploy_id: [(page.triggered_at, page.resolved_at) for page in pages]
        for deploy_id, pages in followed.items()
        if pages
    }
    # A rollback undoes a failed change: it recovered when the rollback finished.
    for deploy_id, rolled_back_at in store.rollbacks_of(session, ids).items():
        pages_of.setdefault(deploy_id, []).append((finished[deploy_id], rolled_back_at))
    return pages_of


# On-call load ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageTimes:
    service: str
    team: str | None
    title: str
    triggered_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None


@dataclass
class OncallWeek:
    service: str
    team: str | None
    week: str  # ISO week, e.g. 2026-W47
    pages: int = 0
    out_of_hours: int = 0
    acknowledge_median_seconds: float | None = None
    resolve_median_seconds: float | None = None
    noisiest: list[tuple[str, int]] = field(default_factory=list)
    flagged: bool = False


def oncall_weeks(pages: Sequence[PageTimes], hours: WorkingHours, limit: int) -> list[OncallWeek]:
    """The review's rows, newest week first, then by service and team."""
    groups: dict[tuple[str, str | None, str], list[PageTimes]] = defaultdict(list)
    for page in pages:
        year, number, _ = page.triggered_at.astimezone(hours.zone).isocalendar()
        groups[(page.service, page.team, f"{year}-W{number:02d}")].append(page)
    rows = []
    for (service, team, week), members in groups.items():
        acknowledged = [
            (p.acknowledged_at - p.triggered_at).total_seconds()
            for p in members
            if p.acknowledged_at
        ]
        resolved = [
            (p.resolved_at - p.triggered_at).total_seconds() for p in members if p.resolved_at
        ]
        rows.append(
            OncallWeek(
                service=service,
                team=team,
                week=week,
                pages=len(members),
                out_of_hours=sum(hours.out_of_hours(p.triggered_at) for p in members),
                acknowledge_median_seconds=median(acknowledged),
                resolve_median_seconds=median(resolved),
                noisiest=Counter(p.title for p in members).most_common(3),
                flagged=len(members) > limit,
            )
        )
    rows.sort(key=lambda row: (row.service, row.team or ""))
    rows.sort(key=lambda row: row.week, reverse=True)
    return rows


def oncall_review(
    session: Session,
    settings: Settings,
    now: datetime,
    window: timedelta,
    service: str | None = None,
    team: str | None = None,
) -> list[OncallWeek]:
    pages = [
        PageTimes(
            service=p.service or p.pager_service,
            team=p.team,
            title=p.title,
            triggered_at=p.triggered_at,
            acknowledged_at=p.acknowledged_at,
            resolved_at=p.resolved_at,
        )
        for p in session.scalars(store.pages_query(service, since=now - window, limit=100_000))
        if team is None or p.team == team
    ]
    return oncall_weeks(
        pages,
        parse_working_hours(settings.working_hours, settings.working_days, settings.timezone),
        settings.weekly_page_limit,
    )
