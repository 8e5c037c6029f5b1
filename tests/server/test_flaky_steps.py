"""Flaky steps with known answers: on one revision of main, e2e fails in attempts 1 and 2 of a run
and passes in attempt 3 (retried twice before passing); on a second revision it passes at once;
`migrate` fails on a revision and never passes (broken, not flaky); lint always passes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from leadtime.tracer.cli import cli
from tests.server import otlp_payloads as otlp

E2E_FAILED = (240, 300)  # seconds of the two failed attempts
FLAKY_SHA, STEADY_SHA, BROKEN_SHA = "a" * 40, "b" * 40, "c" * 40


def _attempt(client, trace: int, run: int, attempt: int, sha: str, start, steps) -> None:
    spans, cursor = [], start
    for index, (name, seconds, result) in enumerate(steps):
        end = cursor + timedelta(seconds=seconds)
        attributes = {
            **otlp.ci("main", sha, run),
            "cicd.pipeline.run.attempt": str(attempt),
            "cicd.pipeline.task.run.result": result,
        }
        spans.append(
            otlp.span(f"{trace:032x}", f"{trace:08x}{index:08x}", name, cursor, end, attributes)
        )
        cursor = end
    body = otlp.request(spans)
    assert client.post("/v1/traces", content=body, headers={"content-type": "application/json"})


@pytest.fixture
def history(client):
    start = datetime.now(UTC) - timedelta(hours=6)
    for attempt, seconds in enumerate(E2E_FAILED, start=1):  # run 100, attempts 1 and 2 fail
        steps = [("lint", 30, "success"), ("e2e", seconds, "failure")]
        _attempt(client, attempt, 100, attempt, FLAKY_SHA, start + timedelta(hours=attempt), steps)
    passed = [("lint", 30, "success"), ("e2e", 200, "success")]
    _attempt(client, 3, 100, 3, FLAKY_SHA, start + timedelta(hours=3), passed)
    _attempt(client, 4, 101, 1, STEADY_SHA, start + timedelta(hours=4), passed)
    for trace in (5, 6):  # migrate fails twice on its revision, and never passes
        steps = [("migrate", 10, "failure")]
        _attempt(client, trace, 100 + trace, 1, BROKEN_SHA, start + timedelta(hours=trace), steps)
    return client


def test_a_step_retried_twice_before_passing_is_flaky_with_the_time_it_lost(history):
    report = history.get("/api/reports/flaky-steps", params={"repo": "acme/shop"}).json()
    assert report["threshold"] == 0.05
    (e2e,) = report["steps"]  # lint never failed, migrate never passed: neither is flaky
    assert e2e["name"] == "e2e"
    assert (e2e["runs"], e2e["revisions"], e2e["flaky_revisions"]) == (4, 2, 1)
    assert e2e["flaky_rate"] == 0.5 and e2e["flaky"] is True
    assert e2e["retries"] == 2
    assert e2e["seconds_lost"] == e2e["seconds_lost_on_main"] == sum(E2E_FAILED)


def test_the_window_leaves_older_runs_out(history):
    report = history.get(
        "/api/reports/flaky-steps", params={"repo": "acme/shop", "window": "1h"}
    ).json()
    assert report["steps"] == []


def test_a_bad_window_or_repository_is_a_clear_4xx(history):
    bad = history.get("/api/reports/flaky-steps", params={"repo": "acme/shop", "window": "soon"})
    assert bad.status_code in (400, 422) and "window" in bad.json()["error"]["message"]
    missing = history.get("/api/reports/flaky-steps", params={"repo": "nobody/none"})
    assert missing.status_code == 422 and "nobody/none" in missing.json()["error"]["message"]


def test_the_cli_flags_the_flaky_step(history, live_server, monkeypatch):
    monkeypatch.setenv("LEADTIME_URL", live_server.url)
    shown = CliRunner().invoke(cli, ["report", "flaky", "--repo", "acme/shop"])
    assert shown.exit_code == 0, shown.output
    (line,) = [row for row in shown.output.splitlines() if row.startswith("e2e")]
    assert "1/2" in line and "FLAKY" in line and "9m" in line  # 540 s lost
    as_json = CliRunner().invoke(cli, ["report", "flaky", "--repo", "acme/shop", "--json"])
    assert json.loads(as_json.output)["steps"][0]["retries"] == 2


def test_the_mergeset_shows_the_step_retried_twice_and_not_the_broken_one(history):
    flaky = history.get(f"/api/mergesets/{FLAKY_SHA}/breakdown").json()["retried"]
    assert [(r["name"], r["retries"], r["seconds_lost_on_main"]) for r in flaky] == [
        ("e2e", 2, sum(E2E_FAILED))
    ]
    assert history.get(f"/api/mergesets/{BROKEN_SHA}/breakdown").json()["retried"] == []
    assert history.get(f"/api/mergesets/{STEADY_SHA}/breakdown").json()["retried"] == []
