"""A delivery of runs and steps alone never waits for its repository's lock (PostgreSQL, across
servers): a merge or deploy being worked out holds the repository's row, and a feature branch's
one-span posts used to queue behind it. Two deliveries of one run still take turns, on the
run's own lock, so the run keeps one trace id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from leadtime.server import db, store
from leadtime.server.ingest.facts import Facts, MergesetFact, RepoRef, RunFact
from leadtime.server.recording import record_facts
from leadtime.server.settings import Settings
from tests.server.conftest import wipe

REPO = RepoRef(url="https://github.com/acme/shop")
# An hour ago, but never before today's midnight (UTC): yesterday closes an hour after it
# ends, and a closed day's rollup row is one both deliveries would write (domain/step_days.py).
_NOW = datetime.now(UTC).replace(microsecond=0)
T0 = max(_NOW - timedelta(hours=1), _NOW.replace(hour=0, minute=0, second=0))


def _run(trace_id: str, run_id: str = "41", branch: str = "feature/x") -> Facts:
    run = RunFact(
        trace_id,
        T0,
        T0 + timedelta(minutes=3),
        REPO,
        provider="github",
        run_id=run_id,
        attempt="1",
        branch=branch,
    )
    return Facts(runs=[run])


def _merge() -> Facts:
    return Facts(mergesets=[MergesetFact(REPO, "a" * 40, T0, "merge", "api", None)])


@pytest.fixture
def sessions(engine, db_url):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's writers take turns on the file: there is no lock to wait for")
    settings = Settings(database_url=db_url, migrate_on_start=False)
    factory = db.session_factory(engine)
    with db.unit_of_work(factory) as session:
        record_facts(session, _merge(), settings)  # the repository exists
    opened = []

    def open_one(timeout: str):
        session = factory()
        session.execute(text(f"SET LOCAL lock_timeout = '{timeout}'"))
        opened.append(session)
        return session

    yield open_one, settings, factory
    for session in reversed(opened):
        session.rollback()
        session.close()
    wipe(engine)  # what the tests committed: later tests count rows


KEY_41, KEY_42 = ("github", "41", "1"), ("github", "42", "1")  # (provider, run id, attempt)


def test_runs_go_on_while_the_repository_is_held_and_a_merge_waits(sessions):
    open_one, settings, factory = sessions
    holder = open_one("5s")
    store.lock_repository(holder, store.find_repository(holder, "acme/shop").id)
    runs = open_one("5s")
    record_facts(runs, _run("1" * 32), settings)  # would wait 5 s and fail with the old lock
    runs.commit()
    merge = open_one("300ms")
    with pytest.raises(OperationalError, match="lock timeout"):
        record_facts(merge, _merge(), settings)
    with factory() as session:
        assert store.traces_of_runs(session, [KEY_41]) == {KEY_41: "1" * 32}


def test_two_deliveries_of_one_run_take_turns_and_keep_one_trace(sessions):
    open_one, settings, factory = sessions
    first = open_one("5s")
    record_facts(first, _run("2" * 32, run_id="42"), settings)  # open: holds the run
    other_run = open_one("5s")
    record_facts(other_run, _run("4" * 32, run_id="43"), settings)  # another run: no wait
    other_run.commit()
    second = open_one("300ms")
    with pytest.raises(OperationalError, match="lock timeout"):
        record_facts(second, _run("3" * 32, run_id="42"), settings)
    second.rollback()
    first.commit()
    again = open_one("5s")
    record_facts(again, _run("3" * 32, run_id="42"), settings)
    again.commit()
    with factory() as session:
        assert store.traces_of_runs(session, [KEY_42]) == {KEY_42: "2" * 32}
        assert store.pipeline_run(session, "3" * 32) is None  # joined under the first trace
