"""Several replicas, one database, everything sent twice at once: stored exactly once, every
lead time right, no error but a retryable 503 reaching a client (real `leadtime serve`
processes; the longer run is tests/benchmarks/bench_load.py)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests import load
from tests.server.conftest import wipe

MERGESETS, RUNS, PAGES = 12, 16, 6


@pytest.fixture
def servers(db_url, engine):
    started: list[load.Server] = []

    def start(count: int) -> list[load.Server]:
        for _ in range(count):
            started.append(load.Server(db_url).start())
        return started

    yield start
    for server in started:
        server.stop()
    wipe(engine)


def check_everything_once(engine, tally, urls) -> None:
    counts = load.stored(engine)
    assert tally.failures == []
    assert counts["steps"] == RUNS * 5  # every span once, from whichever server took it first
    assert counts["mergesets"] == MERGESETS
    assert counts["deploys"] == MERGESETS
    assert counts["deploy_mergesets"] == MERGESETS  # each mergeset in its own deploy
    assert counts["pages"] == PAGES
    assert counts["webhook_deliveries"] == MERGESETS + PAGES
    mergesets = httpx.get(f"{urls[0]}/api/mergesets", params={"limit": 100}).json()
    assert {m["lead_time_seconds"] for m in mergesets} == {9 * 60}
    assert {m["pr_number"] for m in mergesets} == set(range(1, MERGESETS + 1))
    pages = httpx.get(f"{urls[-1]}/api/pages", params={"limit": 100}).json()
    for page in pages:  # each page 15 minutes after a merge, 6 after its deploy
        assert page["seconds_after_deploy"] == pytest.approx(6 * 60)


def test_two_replicas_store_everything_exactly_once(servers, engine, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("replicas share PostgreSQL; SQLite runs one server (next test)")
    urls = [server.url for server in servers(2)]
    started = time.monotonic()
    tally = load.run(urls, load.workload(MERGESETS, RUNS, PAGES), threads=4)
    print(load.report(tally, load.stored(engine), time.monotonic() - started, len(urls)))
    check_everything_once(engine, tally, urls)
    assert set(tally.answers) <= {200, 202, 503}


def test_one_server_on_sqlite_never_says_database_is_locked(servers, engine, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("the SQLite case")
    urls = [servers(1)[0].url]
    # every request twice at once to the one server: concurrent writers on one SQLite file
    started = time.monotonic()
    tally = load.run(urls * 2, load.workload(MERGESETS, RUNS, PAGES), threads=4)
    print(load.report(tally, load.stored(engine), time.monotonic() - started, 2))
    check_everything_once(engine, tally, urls)
    assert set(tally.answers) <= {200, 202}  # not even a 503: writers queue, none fails
