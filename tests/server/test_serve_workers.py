"""`leadtime serve --workers N` on a database nobody has migrated yet: the command migrates once
before the workers start (two workers both running Alembic on an empty PostgreSQL database
collided on its version table), then every worker serves the port, and writes from many
clients at once all land."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from leadtime.server import db
from tests import load
from tests.server import otlp_payloads as otlp

WORKERS = 2
SPANS = 24


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request, tmp_path):
    """The URL of a database with no tables at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'new.db'}"
        return
    base = os.environ.get("LEADTIME_TEST_DATABASE_URL")
    if not base:
        pytest.skip("LEADTIME_TEST_DATABASE_URL is not set: PostgreSQL runs are skipped")
    admin = db.make_engine(base).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS leadtime_workers"))
        connection.execute(text("CREATE DATABASE leadtime_workers"))
    yield make_url(base).set(database="leadtime_workers").render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS leadtime_workers WITH (FORCE)"))
    admin.dispose()


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def test_workers_start_on_a_new_database_and_all_writes_land(fresh_database):
    server = load.Server(fresh_database, args=("--workers", str(WORKERS))).start()
    try:
        assert f"{WORKERS} workers" in server.logged()
        assert server.process is not None
        assert len(_children(server.process.pid)) >= WORKERS
        engine = db.make_engine(fresh_database)
        assert not db.pending_migrations(engine)
        engine.dispose()
        start, trace = datetime.now(UTC) - timedelta(hours=1), f"{5:032x}"

        def post(index: int) -> int:
            moment = start + timedelta(seconds=index)
            span = otlp.span(
                trace,
                f"{index + 1:016x}",
                f"step-{index}",
                moment,
                moment + timedelta(seconds=1),
                otlp.ci("main", "7" * 40, 5),
            )
            with httpx.Client(base_url=server.url, timeout=30) as client:
                body = otlp.request([span])
                answer = client.post(
                    "/v1/traces", content=body, headers={"content-type": "application/json"}
                )
                return answer.status_code

        with ThreadPoolExecutor(8) as pool:
            answers = set(pool.map(post, range(SPANS)))
        assert answers == {200}, server.logged()[-4000:]  # what the workers said, if not
        run = httpx.get(f"{server.url}/api/pipelines/{trace}", timeout=30).json()
        assert len(run["steps"]) == SPANS
    finally:
        server.stop()
