"""Pipeline runs and their steps, and each run's step summary (kept as its steps arrive)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from leadtime.server.models import (
    PipelineRun,
    Step,
)
from leadtime.server.store.rows import insert_if_new, insert_ignoring_duplicates, table_of
from leadtime.tracer.attributes import JOB_NAME


def insert_steps(session: Session, rows: list[dict]) -> None:
    insert_ignoring_duplicates(session, Step, rows, ["trace_id", "span_id"])


RUN_FIELDS = ("provider", "run_id", "attempt", "name", "branch", "sha", "url")


def upsert_pipeline_run(session: Session, values: dict, repository_id: int | None) -> None:
    """Store a run once (`values`: PipelineRun columns); later reports widen its times and fill
    what it did not know yet; a result, once known, is the newest report's."""
    times = {name: values[name] for name in ("trace_id", "started_at", "finished_at")}
    insert_if_new(session, PipelineRun, times, ["trace_id"])
    row = session.scalars(
        select(PipelineRun).where(PipelineRun.trace_id == values["trace_id"]).with_for_update()
    ).one()
    row.started_at = min(row.started_at, values["started_at"])
    row.finished_at = max(row.finished_at, values["finished_at"])
    row.step_summary = None  # more spans: the summary is worked out again (recording)
    row.repository_id = row.repository_id or repository_id
    for name in RUN_FIELDS:
        if getattr(row, name) is None and values.get(name) is not None:
            setattr(row, name, values[name])
    if values.get("result"):
        row.result = values["result"]


SERVER_KIND = 2  # spans stored before roles were kept: a SERVER span was the run's root
FIRST_ATTEMPT = "1"  # a run that names no attempt is its first


def trace_of_run(session: Session, provider: str, run_id: str, attempt: str | None) -> str | None:
    """The trace id stored first for this (provider, run id, attempt), if any."""
    return session.scalar(
        select(PipelineRun.trace_id)
        .where(
            PipelineRun.provider == provider,
            PipelineRun.run_id == run_id,
            func.coalesce(PipelineRun.attempt, FIRST_ATTEMPT) == (attempt or FIRST_ATTEMPT),
        )
        .order_by(PipelineRun.id)
        .limit(1)
    )


def pipeline_run(session: Session, trace_id: str) -> PipelineRun | None:
    return session.scalar(select(PipelineRun).where(PipelineRun.trace_id == trace_id))


def steps_of(session: Session, trace_id: str) -> list[Step]:
    return list(
        session.scalars(select(Step).where(Step.trace_id == trace_id).order_by(Step.started_at))
    )


def run_summaries(
    session: Session,
    repository_id: int,
    since: datetime,
    until: datetime,
    branches: Sequence[str] | None = None,
) -> list[tuple[str, datetime, dict | None]]:
    """(trace id, start, cached step summary or None) of the repository's runs started in the
    window, on `branches` only when given."""
    query = select(PipelineRun.trace_id, PipelineRun.started_at, PipelineRun.step_summary).where(
        PipelineRun.repository_id == repository_id,
        PipelineRun.started_at >= since,
        PipelineRun.started_at < until,
    )
    if branches is not None:
        query = query.where(PipelineRun.branch.in_(branches))
    return [(trace_id, started, summary) for trace_id, started, summary in session.execute(query)]


def steps_of_runs(session: Session, trace_ids: list[str]) -> dict[str, list[tuple]]:
    """Timing columns of every step of these runs, by trace id."""
    found: dict[str, list[tuple]] = {trace_id: [] for trace_id in trace_ids}
    for first in range(0, len(trace_ids), 500):
        rows = session.execute(
            select(
                Step.trace_id,
                Step.span_id,
                Step.parent_span_id,
                Step.name,
                Step.started_at,
                Step.finished_at,
                Step.kind,
                Step.result,
                Step.role,
                Step.attributes[JOB_NAME].as_string(),
            ).where(Step.trace_id.in_(trace_ids[first : first + 500]))
        )
        for trace_id, *fields in rows:
            found[trace_id].append(tuple(fields))
    return found


def save_run_summaries(session: Session, summaries: dict[str, dict]) -> None:
    if summaries:
        session.execute(
            table_of(PipelineRun)
            .update()
            .where(table_of(PipelineRun).c.trace_id == bindparam("key"))
            .values(step_summary=bindparam("summary")),
            [{"key": trace_id, "summary": summary} for trace_id, summary in summaries.items()],
        )


def main_run_of(
    session: Session, repository_id: int, sha: str, main_branches: tuple[str, ...]
) -> str | None:
    """The trace id of the first main-branch pipeline run of `sha`."""
    return session.scalar(
        select(PipelineRun.trace_id)
        .where(
            PipelineRun.repository_id == repository_id,
            PipelineRun.sha == sha,
            PipelineRun.branch.in_(main_branches),
        )
        .order_by(PipelineRun.started_at)
        .limit(1)
    )


def executions_query(columns: tuple, repository_id: int, since: datetime, until: datetime):
    """`columns` of the steps (joined to their runs) of the repository's runs started in
    [since, until), oldest first; the caller adds which spans."""
    return (
        select(*columns)
        .select_from(PipelineRun)
        .join(Step, Step.trace_id == PipelineRun.trace_id)
        .where(
            PipelineRun.repository_id == repository_id,
            PipelineRun.started_at >= since,
            PipelineRun.started_at < until,
        )
        .order_by(Step.started_at)
        .execution_options(yield_per=5000)
    )


IS_STEP = or_(Step.role == "step", Step.role.is_(None) & (Step.kind != SERVER_KIND))


def revision_executions(
    session: Session, repository_id: int, sha: str
) -> Iterator[tuple[str | None, str | None, str, str | None, datetime, datetime]]:
    """(branch, role, name, result, started at, finished at) of every step and test case of the
    repository's runs of `sha`, every attempt, oldest first."""
    query = (
        select(
            PipelineRun.branch, Step.role, Step.name, Step.result, Step.started_at, Step.finished_at
        )
        .select_from(PipelineRun)
        .join(Step, Step.trace_id == PipelineRun.trace_id)
        .where(
            PipelineRun.repository_id == repository_id,
            PipelineRun.sha == sha,
            or_(IS_STEP, Step.role == "test"),
        )
        .order_by(Step.started_at)
    )
    yield from session.execute(query)


def step_executions(
    session: Session, repository_id: int, since: datetime, until: datetime
) -> Iterator[tuple[str, str | None, str | None, str | None, str, str | None, datetime, datetime]]:
    """(trace id, run id, sha, branch, step name, result, started at, finished at) of every step
    of the repository's runs started in [since, until), oldest first: a span whose role is step,
    or one stored before roles that was not a SERVER span."""
    columns = (
        PipelineRun.trace_id,
        PipelineRun.run_id,
        PipelineRun.sha,
        PipelineRun.branch,
        Step.name,
        Step.result,
        Step.started_at,
        Step.finished_at,
    )
    query = executions_query(columns, repository_id, since, until).where(IS_STEP)
    for row in session.execute(query):
        yield tuple(row)
