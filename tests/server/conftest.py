"""Server fixtures: a migrated database (SQLite, and PostgreSQL when LEADTIME_TEST_DATABASE_URL
names one), a real uvicorn server on a free loopback port, and an HTTP client for it."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import text

from leadtime.server import db
from leadtime.server.app import create_app
from leadtime.server.models import Base
from leadtime.server.settings import Settings
from tests.server.live import leadtime_server

BACKENDS = ["sqlite", "postgresql"]


def _reset_postgresql(url: str) -> None:
    engine = db.make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(request, tmp_path_factory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'leadtime.db'}"
    url = os.environ.get("LEADTIME_TEST_DATABASE_URL")
    if not url:
        pytest.skip("LEADTIME_TEST_DATABASE_URL is not set: PostgreSQL runs are skipped")
    _reset_postgresql(url)
    return url


@pytest.fixture(scope="session")
def engine(db_url):
    engine = db.make_engine(db_url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


def wipe(engine) -> None:
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def session(engine):
    factory = db.session_factory(engine)
    with factory() as session:
        yield session
    wipe(engine)


def count_rows(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.execute(text(f"SELECT count(*) FROM {table.name}")).scalar()
            for table in Base.metadata.sorted_tables
        }


class LiveServer:
    """A real uvicorn server in a thread, on a free port of 127.0.0.1."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="error")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def settings_for(db_url: str, **overrides) -> Settings:
    # Alerting and housekeeping run only where a test asks for them: their threads would write
    # between tests (and the histories here reach back years).
    overrides.setdefault("alerts_enabled", False)
    overrides.setdefault("housekeeping_enabled", False)
    overrides.setdefault("feedback_enabled", False)
    return Settings(database_url=db_url, migrate_on_start=False, **overrides)


@pytest.fixture(scope="session")
def live_server(engine, db_url):
    with LiveServer(settings_for(db_url, auth="off")) as server:
        yield server


@pytest.fixture
def client(live_server, engine):
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client
    wipe(engine)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def served(db_url, engine):
    """A real `leadtime serve` process on the database (tests/server/live.py), wiped after."""
    with leadtime_server(db_url) as url:
        yield url
    wipe(engine)
