"""Time queued for runners as a trend: the p50 of a run's time queued (domain/budget.py's
queue rule), per day for windows of two weeks or less and per week beyond, oldest first.

Runs that report no queue are left out of a bucket's p50; a bucket with none of them keeps its
place with no p50, so a chart shows the gap instead of joining over it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from leadtime.server.domain.stats import percentile

DAILY_UP_TO = timedelta(days=14)


@dataclass(frozen=True)
class QueueBucket:
    started_at: datetime
    runs: int  # runs in the bucket that reported a queue
    p50: float | None  # seconds a run spent queued


def bucket_size(window: timedelta) -> timedelta:
    return timedelta(days=1) if window <= DAILY_UP_TO else timedelta(weeks=1)


def queue_trend(
    runs: list[tuple[datetime, float]], now: datetime, window: timedelta
) -> list[QueueBucket]:
    """Buckets over [now - window, now), the last ending now, from (run start, seconds the run
    spent queued) of the runs that reported a queue."""
    size = bucket_size(window)
    count = max(1, -(-window // size))  # ceiling: a 10-day window in weeks is two buckets
    first = now - count * size
    seconds: list[list[float]] = [[] for _ in range(count)]
    for started, queued in runs:
        index = (started - first) // size
        if 0 <= index < count:
            seconds[index].append(queued)
    return [
        QueueBucket(first + index * size, len(found), percentile(found, 0.5))
        for index, found in enumerate(seconds)
    ]
