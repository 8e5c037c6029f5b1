"""Each repository's run step summaries rolled up per UTC day, so the slowest-steps report over
a month reads a row a day, not every run.

- A day's rollup merges the step summaries (run_summaries.summarize_run) of the repository's runs
  started that day: per step name every duration, the failures and each run's time on the
  critical path; per job every run's time queued; each run that queued, its start and total.
  Nothing is approximated: the report's percentiles come out the same either way.
- Ingest marks the days of the runs whose summaries it saved as changed (the day's version
  moves on); the server's housekeeping builds changed days again a few seconds later, once the
  day is over (today is the cut last day of every window that ends now: always read run by
  run), and keeps a rollup only if its day did not change meanwhile.
- A window reads the current rollups of the days wholly inside it, and every other part (its
  first and last days, cut by the window, and days changed since their rollup) run by run.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain.run_summaries import STARTED_AT, run_step_summaries

DAY = timedelta(days=1)
REBUILD_BATCH_DAYS = 50  # days per unit of work


class StepTotals:
    """What the slowest-steps report reads, summed over runs and days (milliseconds)."""

    def __init__(self) -> None:
        self.runs = 0
        self.durations: dict[str, list[int]] = defaultdict(list)
        self.failures: dict[str, int] = defaultdict(int)
        self.on_path: dict[str, list[int]] = defaultdict(list)  # one value per run
        self.queued: dict[str, list[int]] = defaultdict(list)  # by job, one value per run
        self.queued_runs: list[tuple[float, int]] = []  # (start as epoch seconds, total queued)

    def add_run(self, summary: dict, started: datetime) -> None:
        """One run's step summary, read as a day of one run."""
        queued = summary.get("queued_ms") or []  # summaries kept before queues were: none
        self.add_day(
            {
                "runs": 1,
                "names": summary["names"],
                "durations_ms": summary["durations_ms"],
                "failures": summary["failures"],
                "on_path_ms": [[critical] for critical in summary["on_path_ms"]],
                "queued_names": summary.get("queued_names", []),
                "queued_ms": [[ms] for ms in queued],
                "queued_runs": [[started.timestamp(), sum(queued)]] if queued else [],
            }
        )

    def add_day(self, rollup: dict) -> None:
        self.runs += rollup["runs"]
        rows = zip(
            rollup["names"],
            rollup["durations_ms"],
            rollup["failures"],
            rollup["on_path_ms"],
            strict=True,
        )
        for name, times, failed, critical in rows:
            self.durations[name] += times
            self.failures[name] += failed
            self.on_path[name] += critical
        for job, times in zip(rollup["queued_names"], rollup["queued_ms"], strict=True):
            self.queued[job] += times
        self.queued_runs += [(started, total) for started, total in rollup["queued_runs"]]

    def rollup(self) -> dict:
        names = list(self.durations)
        return {
            "runs": self.runs,
            "names": names,
            "durations_ms": [self.durations[name] for name in names],
            "failures": [self.failures[name] for name in names],
            "on_path_ms": [self.on_path[name] for name in names],
            "queued_names": list(self.queued),
            "queued_ms": list(self.queued.values()),
            "queued_runs": [list(pair) for pair in self.queued_runs],
        }

    def queued_by_run(self) -> list[tuple[datetime, float]]:
        """(start, seconds queued) of each run that queued."""
        return [(datetime.fromtimestamp(t, UTC), ms / 1000) for t, ms in self.queued_runs]


def days_changed(
    runs: list[dict], stored: dict[str, tuple[int | None, datetime]]
) -> set[tuple[int, date]]:
    """(repository id, day) of the days a delivery's runs (`runs`: their columns as reported)
    started on before it (`stored`: their repository and start as stored, if they were) and
    after it: a run whose start moves to the day before leaves a day, and joins another."""
    days = set()
    for run in runs:
        repository, started = stored.get(run["trace_id"], (None, None))
        if repository is not None and started is not None:
            days.add((repository, started.date()))
        repository = repository or run["repository_id"]
        started = min(started, run["started_at"]) if started else run["started_at"]
        if repository is not None:
            days.add((repository, started.date()))
    return days


def _add_runs(session: Session, totals: StepTotals, repository_id: int, since, until) -> None:
    if since < until:
        for summary in run_step_summaries(session, repository_id, since, until):
            totals.add_run(summary, summary[STARTED_AT])


def step_totals(
    session: Session, repository_id: int, since: datetime, until: datetime
) -> StepTotals:
    """The figures of the repository's runs started in [since, until): whole days from their
    current rollups, the rest run by run."""
    totals = StepTotals()
    first = since.date() if store.day_start(since.date()) == since else since.date() + DAY
    last = until.date() - DAY  # the last day that ends by `until`
    rollups = store.current_rollups(session, repository_id, first, last) if first <= last else {}
    cursor = since
    for day in sorted(rollups):
        _add_runs(session, totals, repository_id, cursor, store.day_start(day))
        totals.add_day(rollups[day])
        cursor = store.day_start(day) + DAY
    _add_runs(session, totals, repository_id, cursor, until)
    return totals


def build_day(session: Session, repository_id: int, day: date) -> dict:
    totals = StepTotals()
    _add_runs(session, totals, repository_id, store.day_start(day), store.day_start(day) + DAY)
    return totals.rollup()


def rebuild_changed_days(session: Session, today: date, limit: int = REBUILD_BATCH_DAYS) -> int:
    """Build again up to `limit` days before `today` that changed since their rollup; how many
    were looked at. The caller commits, and calls again while a batch was full."""
    changed = store.changed_days(session, today, limit)
    for repository_id, day, version in changed:
        store.save_rollup(
            session, repository_id, day, version, build_day(session, repository_id, day)
        )
    return len(changed)
