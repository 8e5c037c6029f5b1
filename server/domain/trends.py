"""A repository's weeks: for each of the last weeks (each ending a whole number of weeks before
now, oldest first) its lead time p50 and p90 (merge -> production, of the mergesets that
week's production deploys shipped), its production deploys, change failure rate and rework
rate. The keys are domain/dora.py's own over that week (its facts read once for all the weeks),
so a week's figures are the ones `/api/dora?window=7d` gave at its end."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain.dora import DoraFacts, dora_keys, gather
from leadtime.server.domain.dora_tiers import CHANGE_FAILURE_RATE, REWORK_RATE
from leadtime.server.domain.stats import percentiles
from leadtime.server.settings import Settings

WEEK = timedelta(days=7)
WEEKS_SHOWN = 12


@dataclass(frozen=True)
class Week:
    start: datetime
    lead_time_p50: float | None  # seconds
    lead_time_p90: float | None
    deploys: int
    change_failure_rate: float | None
    rework_rate: float | None


def weekly_lead_times(
    pairs: Iterable[tuple[datetime, datetime]], now: datetime, weeks: int
) -> list[list[float]]:
    """The lead times (seconds) of (merged at, deployed at) pairs, in the week each was
    deployed, of the last `weeks` weeks ending now, oldest first."""
    since = now - weeks * WEEK
    buckets: list[list[float]] = [[] for _ in range(weeks)]
    for merged_at, deployed_at in pairs:
        if since <= deployed_at < now:
            buckets[int((deployed_at - since) / WEEK)].append(
                (deployed_at - merged_at).total_seconds()
            )
    return buckets


def _week(facts: DoraFacts, settings: Settings, end: datetime, leads: list[float]) -> Week:
    start = end - WEEK
    p50, p90 = percentiles(leads, (0.5, 0.9))
    rates = {key.key: key.value for key in dora_keys(facts, settings, start, end)}
    return Week(
        start=start,
        lead_time_p50=p50,
        lead_time_p90=p90,
        deploys=sum(start <= d.finished_at < end for d in facts.deploys),
        change_failure_rate=rates[CHANGE_FAILURE_RATE],
        rework_rate=rates[REWORK_RATE],
    )


def weekly_trend(
    session: Session, settings: Settings, now: datetime, repository: str, weeks: int = WEEKS_SHOWN
) -> list[Week]:
    """The weeks, oldest first, from facts read once for all of them."""
    repository_id = store.find_repository(session, repository).id
    facts = gather(session, settings, now - weeks * WEEK, now, repository_id)
    ends = [now - (weeks - 1 - index) * WEEK for index in range(weeks)]
    pairs = ((row.merged_at, row.deployed_at) for row in facts.shipped)
    leads = weekly_lead_times(pairs, now, weeks)
    return [_week(facts, settings, end, week) for end, week in zip(ends, leads, strict=True)]
