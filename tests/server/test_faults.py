"""Faults during a run: the server killed mid-load, PostgreSQL cut off, the tracers' endpoint down
for a whole pipeline. What a client was told was accepted is never lost, what was refused is
sent again, and everything ends up stored exactly once (real `leadtime serve` processes, real
`leadtime step` processes, a real loopback proxy in front of PostgreSQL)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests import load
from tests.conftest import clean_env, run_leadtime
from tests.gitrepos import History
from tests.server.conftest import wipe
from tests.tcpproxy import TcpProxy

PIPELINE = Path(__file__).resolve().parents[2] / "examples" / "local-pipeline.sh"


@pytest.fixture
def servers(engine):
    """Start `leadtime serve` processes; all stopped, and the database emptied, afterwards."""
    started: list[load.Server] = []

    def start(database_url: str, port: int | None = None, **settings: str) -> load.Server:
        started.append(load.Server(database_url, port=port, **settings))
        return started[-1].start()

    yield start
    for server in started:
        server.stop()
    wipe(engine)


def tracer_env(tmp_path: Path, endpoint: str, spool: Path) -> dict[str, str]:
    env = clean_env(
        tmp_path,
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        LEADTIME_EXPORT_TIMEOUT="2",
        LEADTIME_SPOOL_DIR=str(spool),
    )
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return env


def spooled(spool: Path) -> list[Path]:
    """The entries waiting: encoded requests, and the steps' documents their senders kept."""
    return sorted([*spool.rglob("*.otlp"), *spool.rglob("*.step.json")])


def flush(env: dict[str, str]) -> dict:
    done = run_leadtime(["flush", "--json"], env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def scalar(engine, sql: str) -> int:
    with engine.connect() as connection:
        return connection.execute(text(sql)).scalar()


# The tracer's endpoint down for a whole pipeline --------------------------------------------


def test_pipeline_sent_while_the_server_was_down_is_stored_once_after_flush(
    servers, engine, db_url, tmp_path, free_port
):
    repository = tmp_path / "repo"
    repository.mkdir()
    History(repository).merge("checkout")
    spool = tmp_path / "spool"
    env = tracer_env(tmp_path, f"http://127.0.0.1:{free_port}", spool)
    pipeline = subprocess.run(
        ["bash", str(PIPELINE)],
        cwd=repository,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert pipeline.returncode == 0, pipeline.stderr  # the pipeline never noticed
    assert "spooled" in pipeline.stderr
    waiting = spooled(spool)
    assert waiting, "the steps' spans wait in the spool"
    kept = tmp_path / "kept"
    shutil.copytree(spool, kept)  # the same spool, to send again as if every answer was lost

    servers(db_url, port=free_port)
    sent = flush(env)
    assert sent["sent"] == {"otlp": len(waiting)}
    assert spooled(spool) == []
    assert flush(env)["sent"] == {}  # nothing left to send

    def stored() -> tuple:
        return (
            scalar(engine, "SELECT count(*) FROM steps"),
            scalar(engine, "SELECT count(DISTINCT trace_id) FROM steps"),
            scalar(engine, "SELECT count(*) FROM pipeline_runs WHERE result = 'success'"),
            # this pipeline's deploys: a write of an earlier test's server may land late
            scalar(
                engine,
                "SELECT count(*) FROM deploys WHERE status = 'succeeded' AND service = 'example'",
            ),
        )

    # root, build, test (unit-tests and lint inside it) and the deploy: one trace, one deploy
    assert stored() == (6, 1, 1, 1)
    resent = flush(tracer_env(tmp_path, f"http://127.0.0.1:{free_port}", kept))
    assert resent["sent"] == {"otlp": len(waiting)}
    assert stored() == (6, 1, 1, 1)  # every span once, however often it arrives


# The server killed in the middle of a load run ----------------------------------------------

JOBS, STEPS_PER_JOB = 3, 8
MERGESETS, PAGES = 10, 4


def run_job(job: int, env: dict[str, str], codes: list[int], where: Path) -> None:
    """One CI job: its steps one after another, each through `leadtime step`, outside any git
    checkout (in this one, on main, its steps would name a mergeset)."""
    for step in range(STEPS_PER_JOB):
        done = run_leadtime(["step", f"job{job}-step{step}", "--", "true"], env, cwd=where)
        codes.append(done.returncode)


def wait_until(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_server_killed_mid_load_then_restarted_loses_nothing(servers, engine, db_url, tmp_path):
    first = servers(db_url)
    spools = [tmp_path / f"spool-{job}" for job in range(JOBS)]
    envs = [tracer_env(tmp_path, first.url, spool) for spool in spools]
    codes: list[int] = []
    jobs = [
        threading.Thread(target=run_job, args=(job, envs[job], codes, tmp_path))
        for job in range(JOBS)
    ]
    api: dict[str, load.Tally] = {}
    # Merges, deploys, PR webhooks and pages, retried (as clients and forges do) until taken.
    rounds = load.workload(MERGESETS, 0, PAGES)
    feeder = threading.Thread(
        target=lambda: api.setdefault("tally", load.run([first.url], rounds, 3, attempts=150))
    )
    started = time.monotonic()
    for thread in [*jobs, feeder]:
        thread.start()
    # Kill it once some of the load has been stored, so the rest arrives at a dead port.
    wait_until(lambda: scalar(engine, "SELECT count(*) FROM steps") >= JOBS, 60)
    first.kill()
    killed_at = scalar(engine, "SELECT count(*) FROM steps")
    time.sleep(1.0)
    servers(db_url, port=first.port)
    for thread in [*jobs, feeder]:
        thread.join(120)
    took = time.monotonic() - started
    assert codes == [0] * (JOBS * STEPS_PER_JOB)  # no step failed for the server's death

    flushed = sum(flush(env)["sent"].get("otlp", 0) for env in envs)
    tally = api["tally"]
    print(
        f"killed with {killed_at} of {JOBS * STEPS_PER_JOB} steps stored; "
        f"{flushed} spooled batches flushed after the restart; API: "
        + load.report(tally, load.stored(engine), took, 1)
    )
    assert killed_at < JOBS * STEPS_PER_JOB  # the kill did land in the middle
    assert flushed > 0  # and some steps' spans had to wait in their spool
    assert tally.failures == []
    counts = load.stored(engine)
    assert counts["steps"] == JOBS * STEPS_PER_JOB
    assert scalar(engine, "SELECT count(DISTINCT name) FROM steps") == JOBS * STEPS_PER_JOB
    assert counts["mergesets"] == MERGESETS and counts["deploys"] == MERGESETS
    assert counts["deploy_mergesets"] == MERGESETS and counts["pages"] == PAGES
    mergesets = httpx.get(f"{first.url}/api/mergesets", params={"limit": 100}).json()
    assert {m["lead_time_seconds"] for m in mergesets} == {9 * 60}


# PostgreSQL cut off during a run --------------------------------------------------------------


def merge(n: int) -> dict:
    return {
        "repository": "acme/shop",
        "sha": f"{n:040x}",
        "merged_at": f"2026-11-20T10:0{n}:00Z",
    }


def test_postgresql_cut_off_is_a_503_then_the_server_recovers_by_itself(servers, engine, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite is a file in the server's process: nothing to cut")
    real = make_url(db_url)
    proxy = TcpProxy((real.host or "127.0.0.1", real.port or 5432)).open()
    through_proxy = real.set(host="127.0.0.1", port=proxy.port)
    server = servers(through_proxy.render_as_string(hide_password=False))
    assert httpx.post(f"{server.url}/api/merges", json=merge(1)).status_code == 200

    proxy.cut()
    refused = httpx.post(f"{server.url}/api/merges", json=merge(2), timeout=30)
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "5"
    assert "retry" in refused.json()["error"]["message"]
    assert httpx.get(f"{server.url}/api/mergesets", timeout=30).status_code == 503
    ready = httpx.get(f"{server.url}/readyz", timeout=30)
    assert ready.status_code == 503
    assert ready.json()["reason"].startswith("database unreachable: ")
    assert "Traceback" not in server.logged()

    proxy.open()  # the database is back; nobody restarts the server
    wait_until(lambda: httpx.get(f"{server.url}/readyz", timeout=30).status_code == 200, seconds=30)
    assert httpx.post(f"{server.url}/api/merges", json=merge(2)).status_code == 200
    shas = {m["sha"] for m in httpx.get(f"{server.url}/api/mergesets").json()}
    assert shas == {merge(1)["sha"], merge(2)["sha"]}


def test_a_hanging_postgresql_is_a_503_within_the_request_timeout(servers, db_url):
    """The database stops answering without resetting anything (the proxy holds every byte):
    requests get a 503 after LEADTIME_REQUEST_TIMEOUT_SECONDS, /healthz answers at once."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite is a file in the server's process: nothing to hang")
    real = make_url(db_url)
    proxy = TcpProxy((real.host or "127.0.0.1", real.port or 5432)).open()
    through_proxy = real.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
    server = servers(through_proxy, LEADTIME_REQUEST_TIMEOUT_SECONDS="2")
    assert httpx.post(f"{server.url}/api/merges", json=merge(1)).status_code == 200
    try:
        proxy.hang()
        started = time.monotonic()
        with ThreadPoolExecutor(4) as pool:
            writes = [
                pool.submit(httpx.post, f"{server.url}/api/merges", json=merge(n), timeout=60)
                for n in (2, 3)
            ]
            reads = [pool.submit(httpx.get, f"{server.url}/api/mergesets", timeout=60)]
            time.sleep(0.5)
            probe_started = time.monotonic()
            assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
            probe_took = time.monotonic() - probe_started
            answers = [future.result() for future in writes + reads]
        took = time.monotonic() - started
    finally:
        proxy.close()
    assert [answer.status_code for answer in answers] == [503, 503, 503]
    assert all(answer.headers["retry-after"] == "5" for answer in answers)
    assert "retry later" in answers[0].json()["error"]["message"]
    assert took < 2 + 8  # the bound, with room for a loaded machine; the hang itself is endless
    assert probe_took < 1.0
