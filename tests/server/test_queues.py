"""Time queued for a runner, with known answers: a job that waits 3 minutes for a runner before
its steps run, in three runs of a main branch, one of them deployed. The slowest-steps report
(API and CLI) has a `queued: build` row and the run's share of the budget spent queued; the
mergeset's breakdown names the wait "queued for a runner"."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from leadtime.tracer.cli import cli
from tests.server import otlp_payloads as otlp

QUEUED = otlp.QUEUED_SECONDS  # the build job waits 3 minutes for a runner


@pytest.fixture
def history(client):
    now = datetime.now(UTC)
    for run in range(1, 4):
        otlp.post_queued_run(
            client, run, now - timedelta(hours=run), sha=f"{run:040x}", deploy=run == 1
        )
    return client


def test_the_slowest_steps_report_has_a_queued_row_and_the_share_of_the_budget(history):
    report = history.get("/api/reports/slowest-steps", params={"repo": "acme/shop"}).json()
    rows = {step["name"]: step for step in report["steps"]}
    queued = rows["queued: build"]
    assert (queued["kind"], queued["runs"], queued["p50"]) == ("queued", 3, QUEUED)
    assert queued["slow"] is False  # waiting, however long: never a slow step
    assert report["queued_p50"] == QUEUED
    assert report["queued_share_of_budget"] == pytest.approx(QUEUED / 900)
    assert "queue-build" not in rows and rows["compile"]["kind"] == "step"


def test_the_mergeset_breakdown_says_queued_for_a_runner(history):
    breakdown = history.get(f"/api/mergesets/{1:040x}/breakdown").json()
    parts = {part["name"]: part for part in breakdown["parts"]}
    assert parts["queued for a runner"]["seconds"] == pytest.approx(QUEUED)
    assert parts["queued for a runner"]["waiting"] is True
    assert parts["compile"]["seconds"] == pytest.approx(100)


def test_the_cli_shows_the_queued_row_and_the_share(history, live_server, monkeypatch):
    monkeypatch.setenv("LEADTIME_URL", live_server.url)
    shown = CliRunner().invoke(cli, ["report", "slowest", "--repo", "acme/shop"])
    assert shown.exit_code == 0, shown.output
    assert "queued: build" in shown.output
    assert "queued for runners: p50 3m" in shown.output and "20%" in shown.output
    as_json = CliRunner().invoke(cli, ["report", "slowest", "--repo", "acme/shop", "--json"])
    assert json.loads(as_json.output)["queued_p50"] == QUEUED


def test_the_queued_row_has_a_trend_against_the_window_before(client):
    """Runs that waited half as long the week before: the `queued: build` row is twice as slow,
    its trend +100%, the way a step's trend is worked out."""
    now = datetime.now(UTC)
    for run, age, seconds in [(1, 1, QUEUED), (2, 2, QUEUED), (3, 8, QUEUED // 2), (4, 9, 60)]:
        otlp.post_queued_run(
            client, run, now - timedelta(days=age), f"{run:040x}", queued_seconds=seconds
        )
    params = {"repo": "acme/shop", "window": "7d"}
    report = client.get("/api/reports/slowest-steps", params=params).json()
    queued = {step["name"]: step for step in report["steps"]}["queued: build"]
    before = (QUEUED // 2 + 60) / 2  # the p50 of the two waits the week before
    assert (queued["runs"], queued["p50"]) == (2, QUEUED)
    assert queued["trend"] == pytest.approx(QUEUED / before - 1)
