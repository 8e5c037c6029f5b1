"""Many steps at once (store.insert_steps): on PostgreSQL by COPY (by INSERTs again, should a key
be there already), on SQLite one INSERT each. Either way the rows stored are those one INSERT
each would store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from leadtime.server import db
from leadtime.server.models import Step
from leadtime.server.store.rows import (
    COPY_ROWS,
    bulk_insert_ignoring_duplicates,
    insert_ignoring_duplicates,
)
from tests.server.conftest import wipe
from tests.tcpproxy import TcpProxy

T0 = datetime(2026, 11, 20, 10, 0, 0, 250, tzinfo=UTC)
KEYS = ["trace_id", "span_id"]


def _row(trace: int, span: int, name: str = "build") -> dict:
    start = T0 + timedelta(seconds=trace * 60 + span)
    return {
        "trace_id": f"{trace:032x}",
        "span_id": f"{span:016x}",
        "parent_span_id": None if span == 0 else f"{0:016x}",
        "name": name,
        "kind": 1,
        "service": "shop",
        "result": "failure" if span % 7 == 0 else "success",
        "exit_code": span % 3 or None,
        "task_type": "test",
        "role": "step",
        "cache_hit": (None, True, False)[span % 3],
        "started_at": start,
        "finished_at": start + timedelta(seconds=span, microseconds=1),
        "attributes": {"leadtime.job.name": f"job-{span % 4}", "n": span, "ok": True, "x": [1.5]},
    }


def _batch() -> list[dict]:
    """Enough rows to be copied, one of them twice (the first is kept), one stored before."""
    rows = [_row(trace, span) for trace in range(1, 4) for span in range(COPY_ROWS // 2)]
    rows.insert(5, {**rows[20], "name": "the first of two"})
    rows.append(_row(9, 0, "stored before: a later report"))
    return rows


def _stored(engine) -> list[tuple]:
    columns = ", ".join(column for column in _row(0, 0) if column != "attributes")
    with engine.connect() as connection:
        rows = connection.execute(text(f"SELECT {columns}, attributes FROM steps ORDER BY id"))
        return [(*row[:-1], _json(row[-1])) for row in rows]


def _json(value: str | dict) -> dict:
    return value if isinstance(value, dict) else json.loads(value)  # SQLite reads text


def _insert(engine, insert, rows: list[dict]) -> None:
    with db.unit_of_work(db.session_factory(engine)) as session:
        insert_ignoring_duplicates(session, Step, [_row(9, 0, "stored before")], KEYS)
    with db.unit_of_work(db.session_factory(engine)) as session:
        insert(session, Step, [_row(8, span) for span in range(COPY_ROWS)], KEYS)  # all new
    with db.unit_of_work(db.session_factory(engine)) as session:
        insert(session, Step, rows, KEYS)


def test_many_rows_are_stored_as_one_insert_each_would_store_them(engine):
    """New rows (copied, on PostgreSQL), then rows one of which is there already and another
    twice (inserted again one by one)."""
    _insert(engine, insert_ignoring_duplicates, _batch())
    one_at_a_time = _stored(engine)
    wipe(engine)

    _insert(engine, bulk_insert_ignoring_duplicates, _batch())

    assert _stored(engine) == one_at_a_time
    names = [row[3] for row in one_at_a_time]
    assert names[0] == "stored before" and "the first of two" in names
    assert len(one_at_a_time) == 1 + COPY_ROWS + len(_batch()) - 2  # not the second of two,
    wipe(engine)  # nor the later report


def test_a_bulk_insert_rolled_back_leaves_nothing_for_the_next(engine):
    sessions = db.session_factory(engine)
    with sessions() as session:
        bulk_insert_ignoring_duplicates(session, Step, _batch()[:COPY_ROWS], KEYS)
        session.rollback()
    later = [_row(5, span) for span in range(COPY_ROWS)]
    with db.unit_of_work(sessions) as session:  # the pool's same connection, on one worker
        bulk_insert_ignoring_duplicates(session, Step, later, KEYS)
    with db.unit_of_work(sessions) as session:
        bulk_insert_ignoring_duplicates(session, Step, later, KEYS)

    assert [row[:2] for row in _stored(engine)] == [(r["trace_id"], r["span_id"]) for r in later]
    wipe(engine)


def test_postgresql_cut_off_during_the_copy_is_sqlalchemy_s_operational_error(db_url):
    """A database gone mid-COPY raises what every other statement raises then, which the
    server answers with a 503 (not psycopg's own error, which would be a 500)."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite takes one INSERT each")
    real = make_url(db_url)
    proxy = TcpProxy((real.host or "127.0.0.1", real.port or 5432)).open()
    engine = db.make_engine(real.set(host="127.0.0.1", port=proxy.port).render_as_string(False))

    def cut_before_the_copy(_connection, _cursor, statement, *_args) -> None:
        if statement.startswith("SAVEPOINT"):  # the COPY's own
            proxy.cut()

    event.listen(engine, "after_cursor_execute", cut_before_the_copy)
    try:
        with db.session_factory(engine)() as session, pytest.raises(OperationalError):
            bulk_insert_ignoring_duplicates(session, Step, _batch(), KEYS)
    finally:
        proxy.close()
        engine.dispose()
