"""Caches: a step's p50 split by cache hit and miss, and what the misses cost a week.

Steps say whether their cache was hit (`leadtime.cache.hit`: `leadtime step --cache-hit`, the
GitHub Action's `cache-hit` input from actions/cache). Per step name over the window: hits,
misses, the hit rate, the p50 of each, and the **cost of misses per week**: what each miss took
over the hit p50, times the misses, scaled to seven days. Without a hit to compare to, the cost
is unknown (None). A mergeset's page lists each cache use of its runs, hit or miss.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain.stats import percentile
from leadtime.server.models import Step

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class CacheStats:
    name: str
    hits: int
    misses: int
    hit_rate: float
    hit_p50: float | None
    miss_p50: float | None
    miss_cost_per_week: float | None


def _stats(name: str, hits: list[float], misses: list[float], window: timedelta) -> CacheStats:
    hit_p50, miss_p50 = percentile(hits, 0.5), percentile(misses, 0.5)
    cost = None
    if hit_p50 is not None:
        lost = sum(max(0.0, seconds - hit_p50) for seconds in misses)
        cost = lost * (WEEK / window)
    return CacheStats(
        name=name,
        hits=len(hits),
        misses=len(misses),
        hit_rate=len(hits) / (len(hits) + len(misses)),
        hit_p50=hit_p50,
        miss_p50=miss_p50,
        miss_cost_per_week=cost,
    )


def cache_stats(
    session: Session, repository_id: int, now: datetime, window: timedelta
) -> list[CacheStats]:
    """Per step that reports its cache, over the window; the costliest misses first."""
    seconds: dict[str, dict[bool, list[float]]] = defaultdict(lambda: {True: [], False: []})
    for name, hit, started, finished in store.cache_executions(
        session, repository_id, now - window, now
    ):
        seconds[name][hit].append((finished - started).total_seconds())
    stats = [_stats(name, found[True], found[False], window) for name, found in seconds.items()]
    stats.sort(key=lambda s: (s.miss_cost_per_week or 0.0, s.misses), reverse=True)
    return stats


@dataclass(frozen=True)
class CacheUse:
    """One step of a run that said whether its cache was hit (a mergeset's runs)."""

    name: str
    hit: bool
    seconds: float
    trace_id: str


def cache_uses(steps: list[Step]) -> list[CacheUse]:
    """The steps that said whether their cache was hit, in the order they ran."""
    return [
        CacheUse(
            step.name,
            step.cache_hit,
            (step.finished_at - step.started_at).total_seconds(),
            step.trace_id,
        )
        for step in sorted(steps, key=lambda s: s.started_at)
        if step.cache_hit is not None
    ]
