"""A repository's weeks: for each of the last weeks (each ending a whole number of weeks before
now, oldest first) its lead time p50 and p90 (merge -> production, of the mergesets that
week's production deploys shipped), its production deploys, change failure rate and rework
rate. The keys are domain/dora.py's own over that week (its facts read once for all the weeks),
so a week's figures are the ones `/api/dora?window=7d` gave at its end."""

from __future__ import annotations

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


def _week(facts: DoraFacts, settings: Settings, end: datetime) -> Week:
    start = end - WEEK
    leads = [
        (row.deployed_at - row.merged_at).total_seconds()
        for row in facts.shipped
        if start <= row.deployed_at < end
    ]
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
    return [_week(facts, settings, end) for end in ends]
