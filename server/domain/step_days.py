"""Each repository's run step summaries rolled up per UTC day, so the slowest-steps report over
a month reads a row a day, not every run.

- A day's rollup merges the step summaries (run_summaries.summarize_run) of the repository's runs
  started that day: per step name every duration, the failures and each run's time on the
  critical path; per job every run's time queued; each run that queued, its start and total.
  Nothing is approximated: the report's percentiles come out the same either way.
- A day is open until an hour after it ends (OPEN_FOR): it is the cut last day of every window
  ending now, always read run by run, and never rolled up. Ingest never writes an open day's
  row, so deliveries of one repository's runs never wait for each other there.
- Once a day closes, the server's housekeeping notes a row for each repository with runs that
  day (days_with_runs) and builds it. A run that arrives late for a closed day marks the day
  changed (its version moves on), as does a run whose start moves to another closed day; the
  housekeeping builds changed days again a few seconds later, and keeps a rollup only if its day
  did not change meanwhile.
- A window reads the current rollups of the days wholly inside it, and every other part (its
  first and last days, cut by the window, and days changed since their rollup) run by run.
- A report of several windows (the slowest steps, the window before, the weekly trend) reads
  each day's rollup once and each stretch of runs once (Reads), and sums them as arrays of
  milliseconds (domain/int_lists.py).
- Each day is rolled up twice: every run (the slowest-steps report) and the runs on the main
  branches only (LEADTIME_MAIN_BRANCHES; the regression rule's step durations). The second
  names the branches it was built for: once they change, those days are read run by run until
  the housekeeping has built them again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain.int_lists import Ints, ints, pack_lists, unpack_array, unpack_arrays
from leadtime.server.domain.run_summaries import STARTED_AT, run_step_summaries

DAY = timedelta(days=1)
OPEN_FOR = timedelta(hours=1)  # after a day ends, for its last deliveries to finish
REBUILD_BATCH_DAYS = 50  # days per unit of work
PACKED = ("durations_ms", "on_path_ms", "queued_ms")  # a rollup's lists (domain/int_lists.py)


class StepTotals:
    """What the slowest-steps report reads, summed over runs and days (milliseconds, as arrays:
    domain/int_lists.py); with `durations_only`, the durations of steps and of each job's
    queues alone (all the previous window's trends and the regression rule need: the other
    fields are never unpacked)."""

    def __init__(self, durations_only: bool = False) -> None:
        self.durations_only = durations_only
        self.runs = 0
        self.durations: dict[str, Ints] = defaultdict(ints)
        self.failures: dict[str, int] = defaultdict(int)
        self.on_path: dict[str, Ints] = defaultdict(ints)  # one value per run
        self.queued: dict[str, Ints] = defaultdict(ints)  # by job, one value per run
        self.queued_runs: list[tuple[float, int]] = []  # (start as epoch seconds, total queued)

    def add_run(self, summary: dict, started: datetime) -> None:
        """One run's step summary: what add_day does with a day of one run, without making
        that day (a report adds every run of the open day this way)."""
        self._add_durations(1, summary)
        queued = unpack_array(summary.get("queued_ms") or [])  # kept before queues were: none
        for job, ms in zip(summary.get("queued_names", []), queued, strict=True):
            self.queued[job].append(ms)
        if self.durations_only:
            return
        rows = zip(
            summary["names"], summary["failures"], unpack_array(summary["on_path_ms"]), strict=True
        )
        for name, failed, critical in rows:
            self.failures[name] += failed
            self.on_path[name].append(critical)
        if queued:
            self.queued_runs.append((started.timestamp(), sum(queued)))

    def _add_durations(self, runs: int, rollup: dict) -> None:
        self.runs += runs
        for name, times in zip(rollup["names"], unpack_arrays(rollup["durations_ms"]), strict=True):
            self.durations[name] += times

    def add_day(self, rollup: dict) -> None:
        """A day's rollup, stored (its lists packed) or unpacked (day_sums, unpacked_day)."""
        self._add_durations(rollup["runs"], rollup)
        queued = unpack_arrays(rollup["queued_ms"])
        for job, times in zip(rollup["queued_names"], queued, strict=True):
            self.queued[job] += times
        if self.durations_only:
            return
        rows = zip(
            rollup["names"], rollup["failures"], unpack_arrays(rollup["on_path_ms"]), strict=True
        )
        for name, failed, critical in rows:
            self.failures[name] += failed
            self.on_path[name] += critical
        self.queued_runs += [(started, total) for started, total in rollup["queued_runs"]]

    def rollup(self) -> dict:
        """The sums as a day's stored rollup: day_sums with their lists packed."""
        sums = self.day_sums()
        for packed in PACKED:
            sums[packed] = pack_lists(sums[packed])
        sums["queued_runs"] = [list(pair) for pair in self.queued_runs]
        return sums

    def day_sums(self) -> dict:
        """What rollup() holds, its lists not packed: for add_day in the same process."""
        names = list(self.durations)
        return {
            "runs": self.runs,
            "names": names,
            "durations_ms": [self.durations[name] for name in names],
            "failures": [self.failures[name] for name in names],
            "on_path_ms": [self.on_path[name] for name in names],
            "queued_names": list(self.queued),
            "queued_ms": list(self.queued.values()),
            "queued_runs": self.queued_runs,
        }

    def queued_by_run(self) -> list[tuple[datetime, float]]:
        """(start, seconds queued) of each run that queued."""
        return [(datetime.fromtimestamp(t, UTC), ms / 1000) for t, ms in self.queued_runs]


def first_open_day(now: datetime) -> date:
    """Days before this one are closed (see the module)."""
    return (now - OPEN_FOR).date()


def days_changed(
    runs: list[dict], stored: dict[str, tuple[int | None, datetime]], now: datetime
) -> set[tuple[int, date]]:
    """(repository id, day) of the closed days a delivery's runs (`runs`: their columns as
    reported) started on before it (`stored`: their repository and start as stored, if they
    were) and after it: a run whose start moves to the day before leaves a day, and joins
    another."""
    days = set()
    for run in runs:
        repository, started = stored.get(run["trace_id"], (None, None))
        if repository is not None and started is not None:
            days.add((repository, started.date()))
        repository = repository or run["repository_id"]
        started = min(started, run["started_at"]) if started else run["started_at"]
        if repository is not None:
            days.add((repository, started.date()))
    open_from = first_open_day(now)
    return {(repository, day) for repository, day in days if day < open_from}


def unpacked_day(rollup: dict) -> dict:
    """A stored rollup with its lists unpacked, to be added more than once."""
    return {**rollup, **{packed: unpack_arrays(rollup[packed]) for packed in PACKED}}


@dataclass
class Reads:
    """What one report has read, for its other windows (the slowest steps, the window before
    and the weekly trend read many of the same days). Made for one report and dropped with it,
    never shared."""

    # By (repository, since, until, branches): the runs read one by one, summed per UTC day
    # they started on (StepTotals.day_sums). Today's, which no rollup holds yet, are read and
    # summed once; the second window adds a day's sums, not every run again.
    runs: dict[tuple, dict[date, dict]] = field(default_factory=dict)
    # By (repository, branches key): each day looked up, with its current rollup unpacked, or
    # None where it has none. A day's rollup is read and unpacked once.
    days: dict[tuple, dict[date, dict | None]] = field(default_factory=dict)


def _add_runs(
    session: Session,
    totals: Callable[[datetime], StepTotals],
    repository_id: int,
    window: tuple[datetime, datetime],
    branches: tuple[str, ...] | None,
    reads: Reads | None = None,
) -> None:
    since, until = window
    if since >= until:
        return
    if reads is None:
        for summary in run_step_summaries(session, repository_id, since, until, branches):
            totals(summary[STARTED_AT]).add_run(summary, summary[STARTED_AT])
        return
    key = (repository_id, since, until, branches)
    if key not in reads.runs:
        by_day: dict[date, StepTotals] = defaultdict(StepTotals)
        for summary in run_step_summaries(session, repository_id, since, until, branches):
            by_day[summary[STARTED_AT].date()].add_run(summary, summary[STARTED_AT])
        reads.runs[key] = {day: day_totals.day_sums() for day, day_totals in by_day.items()}
    for day, sums in reads.runs[key].items():
        totals(store.day_start(day)).add_day(sums)


def step_totals(
    session: Session,
    repository_id: int,
    since: datetime,
    until: datetime,
    branches: tuple[str, ...] | None = None,
    durations_only: bool = False,
    reads: Reads | None = None,
) -> StepTotals:
    """The figures of the repository's runs started in [since, until) (on `branches` only, when
    given; the durations of steps and queues alone with `durations_only`): whole days from their
    current rollups, the rest run by run (kept in `reads`, when given, for the report's next
    window)."""
    totals = StepTotals(durations_only)
    _read(session, repository_id, (since, until), lambda _: totals, branches, reads)
    return totals


def step_totals_by_day(
    session: Session,
    repository_id: int,
    since: datetime,
    until: datetime,
    reads: Reads | None = None,
) -> dict[date, StepTotals]:
    """The step durations of the repository's runs started in [since, until), per UTC day they
    started on (days with no run left out), read in one pass as step_totals reads a window."""
    days: dict[date, StepTotals] = {}

    def totals_of(moment: datetime) -> StepTotals:
        return days.setdefault(moment.date(), StepTotals(durations_only=True))

    _read(session, repository_id, (since, until), totals_of, None, reads)
    return days


def _read(
    session: Session,
    repository_id: int,
    window: tuple[datetime, datetime],
    totals: Callable[[datetime], StepTotals],
    branches: tuple[str, ...] | None,
    reads: Reads | None = None,
) -> None:
    """Add the runs started in the window to the totals `totals` gives for their start: whole
    days from their current rollups, the rest run by run."""
    since, until = window
    first = since.date() if store.day_start(since.date()) == since else since.date() + DAY
    last = until.date() - DAY  # the last day that ends by `until`
    key = None if branches is None else store.branches_key(branches)
    rollups = _rollups(session, repository_id, (first, last), key, reads) if first <= last else {}
    cursor = since
    for day in sorted(rollups):
        _add_runs(session, totals, repository_id, (cursor, store.day_start(day)), branches, reads)
        totals(store.day_start(day)).add_day(rollups[day])
        cursor = store.day_start(day) + DAY
    _add_runs(session, totals, repository_id, (cursor, until), branches, reads)


def _rollups(
    session: Session,
    repository_id: int,
    days: tuple[date, date],
    key: str | None,
    reads: Reads | None,
) -> dict[date, dict]:
    """The current rollups of the days from first to last, both included (see _read); with
    `reads`, only the days it has not looked up yet are read, one query per stretch of them."""
    first, last = days
    if reads is None:
        return store.current_rollups(session, repository_id, first, last, key)
    known = reads.days.setdefault((repository_id, key), {})
    wanted = [first + n * DAY for n in range((last - first).days + 1)]
    for start, end in _stretches([day for day in wanted if day not in known]):
        found = store.current_rollups(session, repository_id, start, end, key)
        for n in range((end - start).days + 1):
            day = start + n * DAY
            known[day] = unpacked_day(found[day]) if day in found else None
    return {day: rollup for day in wanted if (rollup := known[day]) is not None}


def _stretches(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as (first, last) of each run of consecutive ones."""
    stretches: list[tuple[date, date]] = []
    for day in days:
        if stretches and stretches[-1][1] + DAY == day:
            stretches[-1] = (stretches[-1][0], day)
        else:
            stretches.append((day, day))
    return stretches


def build_day(
    session: Session, repository_id: int, day: date, main_branches: tuple[str, ...]
) -> tuple[dict, dict]:
    """The day's rollups: of all its runs, and of its runs on the main branches."""
    window = (store.day_start(day), store.day_start(day) + DAY)
    every, main = StepTotals(), StepTotals()
    _add_runs(session, lambda _: every, repository_id, window, None)
    _add_runs(session, lambda _: main, repository_id, window, main_branches)
    return every.rollup(), main.rollup()


def note_closed_days(session: Session, since: date | None, now: datetime) -> date:
    """Note a row, to be built, for each repository with runs on each day closed since `since`
    (every closed day when None); the first day still open, for the next call's `since`."""
    open_from = first_open_day(now)
    first = store.day_start(since) if since is not None else None
    store.note_days(session, store.days_with_runs(session, first, store.day_start(open_from)))
    return open_from


def rebuild_changed_days(
    session: Session,
    now: datetime,
    main_branches: tuple[str, ...],
    limit: int = REBUILD_BATCH_DAYS,
) -> int:
    """Build again up to `limit` closed days that changed since their rollup (or whose rollup was
    built for other main branches); how many were looked at. The caller commits, and calls again
    while a batch was full."""
    key = store.branches_key(main_branches)
    changed = store.changed_days(session, first_open_day(now), key, limit)
    for repository_id, day, version in changed:
        rollups = build_day(session, repository_id, day, main_branches)
        store.save_rollup(session, repository_id, day, version, rollups, key)
    return len(changed)
