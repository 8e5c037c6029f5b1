"""The facts DORA's keys are worked out from, read for weeks of deploys by the statement that
chose the deploys: the same rollbacks, reverts and failed deploys, with no statement whose
parameters grow with the deploys (on PostgreSQL, thousands of them cost more to render and
send than the query takes)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from leadtime.server import store
from leadtime.server.domain.dora import gather
from leadtime.server.domain.oncall import change_failure_report
from tests.factories import REPO, make_deploy
from tests.server.conftest import settings_for
from tests.server.dora_history import seed_dora_history

REDEPLOYS = 40  # of the last sha, after everything else: they change none of the story's facts


@contextmanager
def parameter_counts(engine) -> Iterator[list[int]]:
    """How many parameters each statement the engine runs meanwhile carries."""
    counts: list[int] = []

    def note(_connection, _cursor, _statement, parameters, _context, executemany) -> None:
        counts.append(max(map(len, parameters)) if executemany else len(parameters or ()))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield counts
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _seed_many_deploys(client) -> list[dict]:
    """The DORA history and REDEPLOYS more deploys; the history's deploys, oldest first."""
    seed_dora_history(client)
    deploys = client.get("/api/deploys", params={"limit": 500}).json()
    last_sha = max(deploys, key=lambda d: d["finished_at"])["sha"]
    later = datetime.now(UTC).replace(microsecond=0) - timedelta(days=4)
    for minute in range(REDEPLOYS):
        make_deploy(client, "shop", last_sha, later + timedelta(minutes=minute))
    return sorted(deploys, key=lambda d: d["finished_at"])


def test_the_facts_of_many_deploys_come_from_one_statement_each_whatever_their_number(
    client, session, engine, db_url
):
    history = _seed_many_deploys(client)
    d2, d3, d4, d6 = (history[i]["id"] for i in (1, 2, 3, 5))
    repository_id = store.find_repository(session, REPO).id
    now = datetime.now(UTC)
    with parameter_counts(engine) as counts:
        facts = gather(session, settings_for(db_url), now - timedelta(weeks=12), now, repository_id)

    assert len(facts.deploys) == len(history) + REDEPLOYS
    assert facts.rollbacks_and_reverts == {d3, d4}  # the rollback, and the revert it shipped
    assert set(facts.failures) == {d2, d6}  # paged after; d2 rolled back as well
    assert len(facts.failures[d2]) == 2
    assert counts and max(counts) < REDEPLOYS


def test_the_change_failure_report_of_many_deploys_names_none_by_id(
    client, session, engine, db_url
):
    history = _seed_many_deploys(client)
    with parameter_counts(engine) as counts:
        (shop,) = change_failure_report(
            session, settings_for(db_url), datetime.now(UTC), timedelta(weeks=12), None
        )

    assert shop.deploys == len(history) + REDEPLOYS
    assert shop.failed_deploys == 2  # the one paged and rolled back, and the one paged
    assert counts and max(counts) < REDEPLOYS
