"""What /metrics reads: whole-history rows, streamed, and counts grouped in the database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from leadtime.server.models import Deploy, PipelineRun, Step

BATCH = 5000
SERVER_KIND = 2  # spans stored before roles were kept: a SERVER span was the run's root


def finished_runs(session: Session) -> Iterator[tuple[str | None, str, datetime, datetime]]:
    """(name, result, started at, finished at) of every run whose result is known."""
    query = select(
        PipelineRun.name, PipelineRun.result, PipelineRun.started_at, PipelineRun.finished_at
    ).where(PipelineRun.result.is_not(None))
    for row in session.execute(query.execution_options(yield_per=BATCH)):
        yield row.name, row.result, row.started_at, row.finished_at


def deploy_counts(session: Session) -> list[tuple[int | None, str, str, int]]:
    """(repository id, environment, status, how many) of finished deploys."""
    query = (
        select(Deploy.repository_id, Deploy.environment, Deploy.status, func.count())
        .where(Deploy.finished_at.is_not(None))
        .group_by(Deploy.repository_id, Deploy.environment, Deploy.status)
    )
    return [(row[0], row[1], row[2], row[3]) for row in session.execute(query)]


def step_times(session: Session) -> Iterator[tuple[int | None, str, datetime, datetime]]:
    """(repository id, name, started at, finished at) of every step (a span whose role is step;
    one stored before roles, unless it was a SERVER span)."""
    is_step = or_(Step.role == "step", (Step.role.is_(None)) & (Step.kind != SERVER_KIND))
    query = (
        select(PipelineRun.repository_id, Step.name, Step.started_at, Step.finished_at)
        .join(PipelineRun, PipelineRun.trace_id == Step.trace_id)
        .where(is_step)
    )
    for row in session.execute(query.execution_options(yield_per=BATCH)):
        yield row.repository_id, row.name, row.started_at, row.finished_at
