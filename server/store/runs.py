"""Pipeline runs and their steps, and each run's step summary (kept as its steps arrive)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, null, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from leadtime.server.models import (
    PipelineRun,
    Step,
)
from leadtime.server.store.rows import (
    bulk_insert_ignoring_duplicates,
    rows_changed,
    table_of,
)
from leadtime.tracer.attributes import JOB_NAME


def insert_steps(session: Session, rows: list[dict], runs: Mapping[str, dict | None]) -> None:
    """Insert the new steps, each with only the attributes its run (`runs`: trace id -> the
    run's stored attributes) does not hold already."""
    for row in rows:
        row["attributes"] = own_attributes(row["attributes"], runs.get(row["trace_id"]))
    bulk_insert_ignoring_duplicates(session, Step, rows, ["trace_id", "span_id"])


def own_attributes(attributes: dict, run: Mapping | None) -> dict:
    """What a step says that its run does not: keys the run lacks, or holds another value of
    (or a value of another type: 1 is not True once read back as JSON)."""
    if not run:
        return attributes
    return {
        key: value
        for key, value in attributes.items()
        if key not in run or run[key] != value or type(run[key]) is not type(value)
    }


def step_attributes(step: Step, run_attributes: Mapping | None) -> dict:
    """A stored step's attributes as it was sent: its run's beneath its own."""
    return {**run_attributes, **step.attributes} if run_attributes else step.attributes


RUN_FIELDS = ("provider", "run_id", "attempt", "name", "branch", "sha", "url")


def upsert_pipeline_runs(session: Session, rows: list[dict]) -> dict[str, dict | None]:
    """Store each run once (`rows`: PipelineRun columns) in one statement, in trace id order (so
    two deliveries lock the rows they share in the same order). A later report widens the run's
    times, fills what it did not know yet, and clears its step summary (recording works it out
    again); a result, once known, is the newest report's; the run's attributes are the first
    report's. Returns each run's stored attributes, by trace id."""
    if not rows:
        return {}
    ordered = sorted(_folded(rows).values(), key=lambda row: row["trace_id"])
    upsert = _run_upsert(session.get_bind().dialect.name)
    return {trace_id: held for trace_id, held in session.execute(upsert, ordered)}


def _folded(rows: list[dict]) -> dict[str, dict]:
    """Rows of one trace (deliveries written together: group_writer.py) folded as the upsert
    folds a later report into a stored run, in the order given; one statement may not update a
    row twice (PostgreSQL refuses it)."""
    runs: dict[str, dict] = {}
    for row in rows:
        held = runs.get(row["trace_id"])
        if held is None:
            runs[row["trace_id"]] = dict(row)
            continue
        for name in RUN_KEEPS:
            if held.get(name) is None:
                held[name] = row.get(name)
        held["started_at"] = min(held["started_at"], row["started_at"])
        held["finished_at"] = max(held["finished_at"], row["finished_at"])
        if row.get("result") is not None:
            held["result"] = row["result"]
    return runs


@cache
def _run_upsert(dialect: str) -> Any:
    """The upsert of runs, built once per dialect: executed with a list of rows, its SQL is
    compiled once and SQLAlchemy sends the rows as one multi-row INSERT (insertmanyvalues)."""
    table = table_of(PipelineRun)
    postgres = dialect == "postgresql"
    earliest, latest = (func.least, func.greatest) if postgres else (func.min, func.max)
    statement = (postgresql.insert if postgres else sqlite.insert)(table)
    new = statement.excluded
    kept = {name: func.coalesce(table.c[name], new[name]) for name in RUN_KEEPS}
    return statement.on_conflict_do_update(
        index_elements=["trace_id"],
        set_={
            **kept,
            "started_at": earliest(table.c.started_at, new.started_at),
            "finished_at": latest(table.c.finished_at, new.finished_at),
            "step_summary": null(),
            "result": func.coalesce(new.result, table.c.result),
        },
    ).returning(table.c.trace_id, table.c.attributes)


RUN_KEEPS = (*RUN_FIELDS, "repository_id", "attributes")  # what the first report said wins


SERVER_KIND = 2  # spans stored before roles were kept: a SERVER span was the run's root
FIRST_ATTEMPT = "1"  # a run that names no attempt is its first


RunKey = tuple[str, str, str]  # (provider, run id, attempt): a run whatever sent its spans
KEYS_AT_ONCE = 500
RUN_KEY_COLUMNS = (
    PipelineRun.provider,
    PipelineRun.run_id,
    PipelineRun.attempt,
    PipelineRun.trace_id,
)


# The reads every delivery makes, built once: building a statement costs more than running it.
_RUNS = table_of(PipelineRun)
_STEPS = table_of(Step)
_RUNS_BY_KEY = (
    select(_RUNS.c.provider, _RUNS.c.run_id, _RUNS.c.attempt, _RUNS.c.trace_id)
    .where(
        _RUNS.c.provider.in_(bindparam("providers", expanding=True)),  # ix_pipeline_runs_identity
        _RUNS.c.run_id.in_(bindparam("run_ids", expanding=True)),
    )
    .order_by(_RUNS.c.id)
)
_STEP_TIMINGS = select(
    _STEPS.c.trace_id,
    _STEPS.c.span_id,
    _STEPS.c.parent_span_id,
    _STEPS.c.name,
    _STEPS.c.started_at,
    _STEPS.c.finished_at,
    _STEPS.c.kind,
    _STEPS.c.result,
    _STEPS.c.role,
    _STEPS.c.attributes[JOB_NAME].as_string(),
).where(_STEPS.c.trace_id.in_(bindparam("trace_ids", expanding=True)))
_STEP_COUNTS = (
    select(_STEPS.c.trace_id, func.count())
    .where(_STEPS.c.trace_id.in_(bindparam("trace_ids", expanding=True)))
    .group_by(_STEPS.c.trace_id)
)
_SAVE_SUMMARY = (
    _RUNS.update()
    .where(_RUNS.c.trace_id == bindparam("key"))
    .values(step_summary=bindparam("summary"))
)


def traces_of_runs(session: Session, keys: Iterable[RunKey]) -> dict[RunKey, str]:
    """The trace id stored first for each of these runs that is stored (a run that names no
    attempt is its first), in one read however many runs a delivery holds."""
    wanted = set(keys)
    providers = sorted({provider for provider, _, _ in wanted})
    run_ids = sorted({run_id for _, run_id, _ in wanted})
    found: dict[RunKey, str] = {}
    for first in range(0, len(run_ids), KEYS_AT_ONCE):
        rows = session.execute(
            _RUNS_BY_KEY, {"providers": providers, "run_ids": run_ids[first : first + KEYS_AT_ONCE]}
        )
        for provider, run_id, attempt, trace_id in rows:
            key = (provider, run_id, attempt or FIRST_ATTEMPT)
            if key in wanted:
                found.setdefault(key, trace_id)
    return found


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
        rows = session.execute(_STEP_TIMINGS, {"trace_ids": trace_ids[first : first + 500]})
        for trace_id, *fields in rows:
            found[trace_id].append(tuple(fields))
    return found


def step_counts(session: Session, trace_ids: list[str]) -> dict[str, int]:
    """How many steps each of these runs has stored, by trace id (none: absent)."""
    found: dict[str, int] = {}
    for first in range(0, len(trace_ids), 500):
        rows = session.execute(_STEP_COUNTS, {"trace_ids": trace_ids[first : first + 500]})
        found.update({trace_id: count for trace_id, count in rows})
    return found


def save_run_summaries(session: Session, summaries: dict[str, dict]) -> None:
    if summaries:
        rows = [{"key": trace_id, "summary": summary} for trace_id, summary in summaries.items()]
        session.execute(_SAVE_SUMMARY, rows)


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


def runs_past(session: Session, before: datetime, limit: int) -> list[tuple[str, bool]]:
    """(trace id, whether its step summary is kept) of up to `limit` runs started before
    `before` whose steps are still stored, oldest first."""
    query = (
        select(PipelineRun.trace_id, PipelineRun.step_summary.is_not(None))
        .where(PipelineRun.started_at < before, PipelineRun.steps_pruned_at.is_(None))
        .order_by(PipelineRun.started_at)
        .limit(limit)
    )
    return [(trace_id, bool(kept)) for trace_id, kept in session.execute(query)]


def prune_steps(session: Session, trace_ids: list[str], now: datetime) -> int:
    """Remove these runs' steps and mark the runs pruned; how many steps went."""
    steps, runs = table_of(Step), table_of(PipelineRun)
    removed = rows_changed(session.execute(steps.delete().where(steps.c.trace_id.in_(trace_ids))))
    session.execute(runs.update().where(runs.c.trace_id.in_(trace_ids)).values(steps_pruned_at=now))
    return removed
