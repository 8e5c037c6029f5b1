"""Each step's trend for the slowest-steps report: its p50 duration in each of the last weeks.

The weeks are whole UTC days: the last one is the six days before today and today up to now,
each earlier one the seven days before it, so every closed day is read from its rollup
(domain/step_days.py), in one pass for all the weeks. A week in which the step did not run has
no value (None), never a zero.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain.int_lists import Ints, ints
from leadtime.server.domain.stats import percentile
from leadtime.server.domain.step_days import Reads, step_totals_by_day

WEEKS_SHOWN = 8
WEEK_DAYS = 7
MILLISECOND = 0.001


def weekly_step_p50(
    session: Session,
    repository_id: int,
    now: datetime,
    weeks: int = WEEKS_SHOWN,
    reads: Reads | None = None,
) -> dict[str, list[float | None]]:
    """Per step name, its p50 duration (seconds) in each of the last `weeks` weeks ending
    today, oldest first (the runs read one by one shared through `reads` with the report's
    other windows)."""
    first_day = now.date() - timedelta(days=weeks * WEEK_DAYS - 1)
    days = step_totals_by_day(session, repository_id, store.day_start(first_day), now, reads)
    durations: dict[str, list[Ints]] = {}
    for day, totals in days.items():
        week = (day - first_day).days // WEEK_DAYS
        for name, times in totals.durations.items():
            if name not in durations:
                durations[name] = [ints() for _ in range(weeks)]
            durations[name][week] += times
    return {
        name: [_p50_seconds(times) for times in per_week] for name, per_week in durations.items()
    }


def _p50_seconds(milliseconds: Ints) -> float | None:
    p50 = percentile(milliseconds, 0.5)
    return None if p50 is None else p50 * MILLISECOND
