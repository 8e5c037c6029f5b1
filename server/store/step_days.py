"""Each repository's day of step summaries, rolled up (domain/step_days.py): which days changed
since their rollup, and the rollups that are current."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from functools import cache
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from leadtime.server.models import PipelineRun, StepDay
from leadtime.server.store.rows import dialect_insert, rows_changed, table_of


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def run_starts(session: Session, trace_ids: list[str]) -> dict[str, tuple[int | None, datetime]]:
    """(repository id, start) of each of these runs stored already, by trace id."""
    found = {}
    for first in range(0, len(trace_ids), 500):
        rows = session.execute(_RUN_STARTS, {"trace_ids": trace_ids[first : first + 500]})
        found.update({trace_id: (repository, started) for trace_id, repository, started in rows})
    return found


_RUNS = table_of(PipelineRun)
_RUN_STARTS = select(_RUNS.c.trace_id, _RUNS.c.repository_id, _RUNS.c.started_at).where(
    _RUNS.c.trace_id.in_(bindparam("trace_ids", expanding=True))
)  # built once: every delivery reads it


def mark_days_changed(session: Session, days: Iterable[tuple[int, date]]) -> None:
    """Each day's rollup is out of date from now on (its version moves on), in key order."""
    rows = [
        {"repository_id": repository_id, "day": day, "version": 1, "built_version": 0}
        for repository_id, day in sorted(days)
    ]
    if rows:
        session.execute(_day_changed(session.get_bind().dialect.name), rows)


@cache
def _day_changed(dialect: str) -> Any:
    """The upsert that moves a day's version on, built once per dialect."""
    table = table_of(StepDay)
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return statement.on_conflict_do_update(
        index_elements=["repository_id", "day"], set_={"version": table.c.version + 1}
    )


def days_with_runs(
    session: Session, since: datetime | None, until: datetime
) -> set[tuple[int, date]]:
    """(repository id, UTC day) of every run started in [since, until) (since the first when
    `since` is None)."""
    query = select(PipelineRun.repository_id, PipelineRun.started_at).where(
        PipelineRun.started_at < until, PipelineRun.repository_id.is_not(None)
    )
    if since is not None:
        query = query.where(PipelineRun.started_at >= since)
    days: set[tuple[int, date]] = set()
    for repository_id, started in session.execute(query.execution_options(yield_per=5000)):
        if repository_id is not None:
            days.add((repository_id, started.date()))
    return days


def note_days(session: Session, days: Iterable[tuple[int, date]]) -> None:
    """A row, to be built, for each of these days that has none yet."""
    rows = [
        {"repository_id": repository_id, "day": day, "version": 1, "built_version": 0}
        for repository_id, day in sorted(days)
    ]
    for first in range(0, len(rows), 1000):
        session.execute(
            dialect_insert(session, StepDay)
            .values(rows[first : first + 1000])
            .on_conflict_do_nothing(index_elements=["repository_id", "day"])
        )


def branches_key(branches: tuple[str, ...]) -> str:
    """How a day's rollup names the main branches it was built for."""
    return "\n".join(branches)


def changed_days(
    session: Session, before: date, main_branches: str, limit: int
) -> list[tuple[int, date, int]]:
    """(repository id, day, version) of up to `limit` days before `before` whose rollup is not
    current, or was built for other main branches than `main_branches` (branches_key)."""
    query = (
        select(StepDay.repository_id, StepDay.day, StepDay.version)
        .where(
            or_(
                StepDay.version != StepDay.built_version,
                StepDay.main_branches.is_distinct_from(main_branches),
            ),
            StepDay.day < before,
        )
        .order_by(StepDay.repository_id, StepDay.day)
        .limit(limit)
    )
    return [(repository_id, day, version) for repository_id, day, version in session.execute(query)]


def save_rollup(
    session: Session,
    repository_id: int,
    day: date,
    version: int,
    rollups: tuple[dict, dict],
    main_branches: str,
) -> bool:
    """Keep a day's rollups (all its runs, its main-branch runs) built from its runs as they were
    at `version`; False (nothing kept) when the day changed again meanwhile: the next round
    builds it anew."""
    table = table_of(StepDay)
    result = session.execute(
        table.update()
        .where(
            table.c.repository_id == repository_id,
            table.c.day == day,
            table.c.version == version,
        )
        .values(
            rollup=rollups[0],
            main_rollup=rollups[1],
            main_branches=main_branches,
            built_version=version,
        )
    )
    return rows_changed(result) == 1


def current_rollups(
    session: Session, repository_id: int, first: date, last: date, main_branches: str | None
) -> dict[date, dict]:
    """The current rollups of the repository's days from `first` to `last`, both included: of
    every run, or with `main_branches` (branches_key) of the runs on those branches."""
    column = StepDay.rollup if main_branches is None else StepDay.main_rollup
    query = select(StepDay.day, column).where(
        StepDay.repository_id == repository_id,
        StepDay.day >= first,
        StepDay.day <= last,
        StepDay.version == StepDay.built_version,
        column.is_not(None),
    )
    if main_branches is not None:
        query = query.where(StepDay.main_branches == main_branches)
    return {day: rollup for day, rollup in session.execute(query)}


def move_step_days(session: Session, survivor_id: int, gone_id: int) -> None:
    """A repository merged into another: its days become the survivor's changed days."""
    table = table_of(StepDay)
    days = list(session.scalars(select(StepDay.day).where(StepDay.repository_id == gone_id)))
    session.execute(table.delete().where(table.c.repository_id == gone_id))
    mark_days_changed(session, [(survivor_id, day) for day in days])
