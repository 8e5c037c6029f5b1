"""An evaluation of a repository's alerts and its ingestion do not wait for each other, while
two evaluations of it take turns (PostgreSQL, across servers): each deploy sets one off in the
background, and a merge that came right after used to wait for the repository's row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from leadtime.server import db, store
from leadtime.server.domain.regression import evaluate_repository
from leadtime.server.ingest.facts import DeployFact, Facts, MergesetFact, RepoRef
from leadtime.server.recording import record_facts
from leadtime.server.settings import Settings
from tests.server.conftest import wipe

REPO = RepoRef(url="https://github.com/acme/shop")
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)


def _merge(n: int) -> Facts:
    parent = f"{n - 1:040x}" if n else None
    at = T0 + timedelta(minutes=n)
    return Facts(mergesets=[MergesetFact(REPO, f"{n:040x}", at, "merge", "api", parent)])


def test_a_merge_goes_on_while_an_evaluation_holds_its_turn(engine, db_url):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's writers take turns on the file; one process evaluates at a time")
    settings = Settings(database_url=db_url, migrate_on_start=False)
    sessions = db.session_factory(engine)
    with db.unit_of_work(sessions) as session:
        record_facts(session, _merge(0), settings)
        deploy = DeployFact(REPO, "api", "shop", "production", f"{0:040x}", "succeeded", "d0")
        record_facts(
            session, Facts(deploys=[DeployFact(**{**vars(deploy), "finished_at": T0})]), settings
        )
    evaluating, merging, second = sessions(), sessions(), sessions()
    try:
        repository = store.find_repository(evaluating, "acme/shop")
        repository_id = repository.id
        evaluate_repository(evaluating, repository, settings, datetime.now(UTC), ["log"])
        # The evaluation's transaction is still open: a merge and a deploy go on without it.
        merging.execute(text("SET LOCAL lock_timeout = '5s'"))
        record_facts(merging, _merge(1), settings)
        merging.commit()
        # A second evaluation of the repository waits for its turn.
        second.execute(text("SET LOCAL lock_timeout = '300ms'"))
        with pytest.raises(OperationalError, match="lock timeout"):
            evaluate_repository(second, repository, settings, datetime.now(UTC), ["log"])
    finally:
        for session in (second, merging, evaluating):
            session.rollback()
            session.close()
    with sessions() as session:
        assert store.count_mergesets(session, repository_id) == 2
    wipe(engine)  # what the test committed: later tests count rows
