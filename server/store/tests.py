"""Test cases and cache hits as the store keeps them: rows of steps, read for the reports."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy.orm import Session

from leadtime.server.models import PipelineRun, Step
from leadtime.server.store.runs import executions_query

TEST_ROLE = "test"


def test_executions(
    session: Session, repository_id: int, since: datetime, until: datetime
) -> Iterator[tuple[str | None, str | None, str, str | None, datetime, datetime]]:
    """(sha, branch, test name, result, started at, finished at) of every test case of the
    repository's runs started in [since, until), oldest first."""
    columns = (
        PipelineRun.sha,
        PipelineRun.branch,
        Step.name,
        Step.result,
        Step.started_at,
        Step.finished_at,
    )
    query = executions_query(columns, repository_id, since, until).where(Step.role == TEST_ROLE)
    for row in session.execute(query):
        yield tuple(row)


def cache_executions(
    session: Session, repository_id: int, since: datetime, until: datetime
) -> Iterator[tuple[str, bool, datetime, datetime]]:
    """(step name, cache hit, started at, finished at) of every step that said whether its cache
    was hit, in the repository's runs started in [since, until)."""
    columns = (Step.name, Step.cache_hit, Step.started_at, Step.finished_at)
    query = executions_query(columns, repository_id, since, until)
    for row in session.execute(query.where(Step.cache_hit.is_not(None))):
        yield tuple(row)
