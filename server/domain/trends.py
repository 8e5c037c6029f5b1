"""A repository's weeks: for each of the last weeks (each ending a whole number of weeks before
now, oldest first) its lead time p50 and p90 (merge -> production, of the mergesets that
week's production deploys shipped), its production deploys, change failure rate and rework
rate. The rates are domain/dora.py's own over that week, so a week's figures are the ones
`/api/dora?window=7d` gave at its end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain.dora import dora_report
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


def _week(session: Session, settings: Settings, end: datetime, repository: str) -> Week:
    repository_id = store.find_repository(session, repository).id
    pairs = store.lead_time_pairs(
        session, repository_id, settings.production_environment, end - WEEK, end
    )
    p50, p90 = percentiles([(done - merged).total_seconds() for merged, done in pairs], (0.5, 0.9))
    report = dora_report(session, settings, end, WEEK, repository)
    rates = {key.key: key.value for key in report.keys}
    return Week(
        start=end - WEEK,
        lead_time_p50=p50,
        lead_time_p90=p90,
        deploys=report.deploys,
        change_failure_rate=rates[CHANGE_FAILURE_RATE],
        rework_rate=rates[REWORK_RATE],
    )


def weekly_trend(
    session: Session, settings: Settings, now: datetime, repository: str, weeks: int = WEEKS_SHOWN
) -> list[Week]:
    return [
        _week(session, settings, now - (weeks - 1 - index) * WEEK, repository)
        for index in range(weeks)
    ]
