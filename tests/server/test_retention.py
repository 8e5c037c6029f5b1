"""Raw step spans past the retention are removed; each run's step summary, and every mergeset,
stay, so the slowest-steps report over a year reads the same before and after."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from leadtime.server import db
from leadtime.server.housekeeping import prune
from tests.server import otlp_payloads as otlp
from tests.server.conftest import LiveServer, settings_for, wipe

NOW = datetime.now(UTC)
AGES = {1: 120, 2: 100, 3: 10}  # run -> days since it started
STEPS = [("build", 60, "success"), ("test", 120, "success"), ("package", 30, "success")]


def _post_runs(client) -> None:
    for run, days in AGES.items():
        steps = [(name, seconds + run, result) for name, seconds, result in STEPS]
        otlp.post_run(client, run, NOW - timedelta(days=days), steps, "main", f"{run:040x}")


def _steps_by_run(engine) -> dict[int, int]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT trace_id, count(*) FROM steps GROUP BY trace_id"))
        return {int(trace_id, 16): count for trace_id, count in rows}


def _slowest(client) -> list[dict]:
    params = {"repo": "acme/shop", "window": "365d"}
    return client.get("/api/reports/slowest-steps", params=params).json()["steps"]


def test_steps_past_the_retention_go_and_their_summaries_stay(client, engine):
    _post_runs(client)
    before = _slowest(client)
    assert {step["name"]: step["runs"] for step in before} == {"build": 3, "test": 3, "package": 3}
    with engine.begin() as connection:  # a run stored before summaries were kept
        connection.execute(
            text("UPDATE pipeline_runs SET step_summary = NULL WHERE trace_id = :t"),
            {"t": f"{1:032x}"},
        )
    sessions = db.session_factory(engine)
    assert prune(sessions, NOW, 0) == (0, 0)  # 0 keeps everything

    assert prune(sessions, NOW, 90) == (2, 6)

    assert _steps_by_run(engine) == {3: 3}
    assert _slowest(client) == before  # from the summaries, the pruned run's worked out first
    old, recent = (client.get(f"/api/pipelines/{run:032x}").json() for run in (1, 3))
    assert old["steps"] == [] and old["steps_pruned_at"] is not None
    assert old["duration_seconds"] == sum(seconds + 1 for _, seconds, _ in STEPS)
    assert [step["name"] for step in recent["steps"]] == ["build", "test", "package"]
    assert recent["steps_pruned_at"] is None
    shas = {m["sha"] for m in client.get("/api/mergesets", params={"limit": 10}).json()}
    assert shas == {f"{run:040x}" for run in AGES}
    assert prune(sessions, NOW, 90) == (0, 0)  # nothing left to remove


def test_the_server_prunes_and_rolls_up_on_its_own(client, engine, db_url):
    _post_runs(client)
    assert _days_to_roll_up(engine) == len(AGES)  # each run's day, changed by its arrival
    with LiveServer(settings_for(db_url, housekeeping_enabled=True, step_retention_days=30)):
        deadline = time.monotonic() + 60  # the first round runs a few seconds after start
        while _busy(engine) and time.monotonic() < deadline:
            time.sleep(0.2)
    assert _steps_by_run(engine) == {3: 3}
    assert _days_to_roll_up(engine) == 0  # and it rolled the runs' days up


def _days_to_roll_up(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT count(*) FROM step_days WHERE version <> built_version")
        ).scalar_one()


def _busy(engine) -> bool:
    return _steps_by_run(engine) != {3: 3} or _days_to_roll_up(engine) > 0


def test_leadtime_db_prune(client, engine, db_url):
    _post_runs(client)
    done = subprocess.run(
        [sys.executable, "-m", "leadtime.tracer", "db", "prune", "--days", "110", "--db", db_url],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LEADTIME_STEP_RETENTION_DAYS": "5"},  # --days wins
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "removed 3 steps of 1 runs started over 110 days ago"
    assert _steps_by_run(engine) == {2: 3, 3: 3}
    wipe(engine)
