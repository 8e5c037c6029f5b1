"""SQLite's writers take turns in the server: one write transaction at a time per process, from
its first write to its commit, instead of several polling the file lock at once (which left
some waiting seconds behind the others)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event

from tests.server import otlp_payloads as otlp

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
WRITES = ("INSERT", "UPDATE", "DELETE")


class OpenWrites:
    """How many connections are inside a write transaction at once, at most: counted from a
    connection's first INSERT, UPDATE or DELETE to its commit or rollback."""

    def __init__(self) -> None:
        self.lock, self.writing, self.most = threading.Lock(), set[int](), 0

    def __enter__(self) -> OpenWrites:
        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(Engine, "commit", self._ended)
        event.listen(Engine, "rollback", self._ended)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(Engine, "before_cursor_execute", self._statement)
        event.remove(Engine, "commit", self._ended)
        event.remove(Engine, "rollback", self._ended)

    def _statement(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith(WRITES):
            with self.lock:
                self.writing.add(id(conn.connection.dbapi_connection))
                self.most = max(self.most, len(self.writing))

    def _ended(self, conn) -> None:
        with self.lock:
            self.writing.discard(id(conn.connection.dbapi_connection))


def _run(number: int) -> bytes:
    """A main-branch run of three steps: a mergeset, the repository's turn, steps and a run."""
    trace_id, sha = f"{number + 1:032x}", f"{number + 1:040x}"
    spans = [
        otlp.span(
            trace_id,
            f"{number + 1:012x}{step:04x}",
            f"step-{step}",
            T0 + timedelta(minutes=number),
            T0 + timedelta(minutes=number, seconds=30 + step),
            {**otlp.ci("main", sha, number), "cicd.pipeline.task.run.result": "success"},
        )
        for step in range(3)
    ]
    return otlp.request(spans)


def test_sqlite_writers_take_turns(live_server, client, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL takes many writers at once")
    bodies = [_run(number) for number in range(48)]
    with OpenWrites() as open_writes:
        answers = otlp.post_at_once(live_server.url, bodies)
    assert answers == [200] * 48
    assert open_writes.most == 1  # eight clients at once, one write transaction at a time
    assert len(client.get("/api/mergesets", params={"limit": 100}).json()) == 48
