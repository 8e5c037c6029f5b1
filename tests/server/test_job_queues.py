"""Queue time where no source reports it (Buildkite, CircleCI): `leadtime pipeline start` marks the
run's start, and each job's wait before its first `leadtime step` is queued for a runner.

Known answers: three main-branch runs as the tracer sends them from Buildkite (a root span of
kind SERVER, steps carrying `leadtime.job.name`). The build job's first step starts 3 minutes
after the run does; the test job, which needs build, starts 40 s after build's last step ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from leadtime.tracer.cli import cli
from tests.conftest import clean_env, run_leadtime
from tests.server import otlp_payloads as otlp

BUILD_WAIT, TEST_WAIT = 180, 40
BUILD_STEPS, TEST_STEPS = (("checkout", 20), ("compile", 100)), (("unit", 60),)
JOB = "leadtime.job.name"


def _post(client, spans: list[dict]) -> None:
    answer = client.post(
        "/v1/traces", content=otlp.request(spans), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 200 and "partialSuccess" not in answer.json(), answer.text


def _job_steps(trace, run, job, steps, cursor, attributes, root) -> tuple[list[dict], datetime]:
    spans = []
    for index, (name, seconds) in enumerate(steps):
        end = cursor + timedelta(seconds=seconds)
        span_id = f"{run:04x}{len(job):04x}{index:08x}"
        spans.append(otlp.span(trace, span_id, name, cursor, end, {**attributes, JOB: job}, root))
        cursor = end
    return spans, cursor


def post_buildkite_run(
    client, run: int, start: datetime, build_wait=BUILD_WAIT, test_wait=TEST_WAIT, extra=()
):
    """A run as `leadtime step` and `leadtime pipeline end` send it; `extra` spans are added."""
    trace, root = f"{run:032x}", f"{run:08x}0000ffff"
    attributes = {**otlp.ci("main", f"{run:040x}", run), "leadtime.ci.provider": "buildkite"}
    build, cursor = _job_steps(
        trace, run, "build", BUILD_STEPS, start + timedelta(seconds=build_wait), attributes, root
    )
    test, cursor = _job_steps(
        trace, run, "test", TEST_STEPS, cursor + timedelta(seconds=test_wait), attributes, root
    )
    root_span = otlp.span(trace, root, "RUN ci", start, cursor, attributes)
    root_span["kind"] = 2
    _post(client, [*build, *test, *extra, root_span])
    return trace


@pytest.fixture
def history(client):
    now = datetime.now(UTC)
    for run in range(1, 4):
        post_buildkite_run(client, run, now - timedelta(hours=run))
    return client


def _rows(client) -> dict:
    report = client.get("/api/reports/slowest-steps", params={"repo": "acme/shop"}).json()
    return report, {step["name"]: step for step in report["steps"]}


def test_each_job_is_queued_from_the_run_start_or_the_job_it_waited_for(history):
    report, rows = _rows(history)
    assert (rows["queued: build"]["runs"], rows["queued: build"]["p50"]) == (3, BUILD_WAIT)
    assert (rows["queued: test"]["runs"], rows["queued: test"]["p50"]) == (3, TEST_WAIT)
    assert rows["queued: test"]["kind"] == "queued" and rows["compile"]["kind"] == "step"
    assert report["queued_p50"] == BUILD_WAIT + TEST_WAIT
    assert report["queued_share_of_budget"] == pytest.approx((BUILD_WAIT + TEST_WAIT) / 900)


def test_the_mergeset_breakdown_names_both_waits_queued_for_a_runner(history):
    breakdown = history.get(f"/api/mergesets/{1:040x}/breakdown").json()
    parts = {part["name"]: part["seconds"] for part in breakdown["parts"]}
    assert parts["queued for a runner"] == pytest.approx(BUILD_WAIT + TEST_WAIT)
    assert parts["compile"] == pytest.approx(100) and parts["unit"] == pytest.approx(60)


def test_a_run_whose_source_reports_its_queue_keeps_the_source_figure(client):
    start = datetime.now(UTC) - timedelta(hours=1)
    trace = f"{7:032x}"
    queue = otlp.span(
        trace,
        "000000000000aaaa",
        "queue-build",
        start,
        start + timedelta(seconds=90),
        {"cicd.pipeline.run.queue.duration": 90 * 10**9},
        f"{7:08x}0000ffff",
    )
    post_buildkite_run(client, 7, start, extra=[queue])
    _, rows = _rows(client)
    assert rows["queued: build"]["p50"] == 90 and "queued: test" not in rows


def test_no_run_start_or_a_wait_under_a_second_is_no_queue(client):
    start = datetime.now(UTC) - timedelta(hours=1)
    post_buildkite_run(client, 8, start, build_wait=0, test_wait=0.5)
    _, rows = _rows(client)
    assert not [name for name in rows if name.startswith("queued: ")]


def test_the_tracer_on_buildkite_with_a_pipeline_start_reports_the_wait(
    client, live_server, tmp_path
):
    """The real tracer: the run started 3 minutes before the build job's only step."""
    env = clean_env(
        tmp_path,
        LEADTIME_URL=live_server.url,
        BUILDKITE="true",
        BUILDKITE_BUILD_ID="0190a7c4-1b2c-7d3e-8f40-5a6b7c8d9e0f",
        BUILDKITE_BUILD_NUMBER="12",
        BUILDKITE_PIPELINE_SLUG="shop",
        BUILDKITE_REPO="git@github.com:acme/shop.git",
        BUILDKITE_BRANCH="main",
        BUILDKITE_COMMIT="9" * 40,
        BUILDKITE_LABEL="build",
        BUILDKITE_JOB_ID="0190a7c4-0000-7000-8000-000000000001",
    )
    started = datetime.now(UTC) - timedelta(seconds=BUILD_WAIT)
    step = run_leadtime(["step", "compile", "--", "true"], env, cwd=tmp_path)
    assert step.returncode == 0, step.stderr
    end = ["pipeline", "end", "--result", "passed", "--started-at", started.isoformat()]
    ended = run_leadtime(end, env, cwd=tmp_path)
    assert ended.returncode == 0, ended.stderr
    _, rows = _rows(client)
    waited = rows["queued: build"]["p50"]
    assert BUILD_WAIT <= waited < BUILD_WAIT + 120  # the tracer's own start-up is in it too


def test_the_queue_trend_gives_each_week_its_p50_and_leaves_gaps_empty(client, live_server):
    """A 30-day window is five weeks, the last ending now: two runs 15 days ago queued 60 and
    120 s (p50 90 s), one an hour ago 180 s; the other weeks had no run."""
    now = datetime.now(UTC)
    for run, (age, wait) in enumerate(((timedelta(days=15), 60), (timedelta(days=15), 120)), 20):
        post_buildkite_run(client, run, now - age, build_wait=wait, test_wait=0)
    post_buildkite_run(client, 22, now - timedelta(hours=1), build_wait=180, test_wait=0)
    params = {"repo": "acme/shop", "window": "30d"}
    trend = client.get("/api/reports/slowest-steps", params=params).json()["queued_trend"]
    assert [(bucket["runs"], bucket["p50"]) for bucket in trend] == [
        (0, None),
        (0, None),
        (2, 90),  # days 35..28, 28..21, 21..14 ago: 15 days ago is in the third
        (0, None),
        (1, 180),
    ]
    oldest = datetime.fromisoformat(trend[0]["started_at"])
    assert abs((now - timedelta(weeks=5) - oldest).total_seconds()) < 60
    shown = CliRunner().invoke(
        cli,
        ["report", "slowest", "--repo", "acme/shop", "--window", "30d"],
        env={"LEADTIME_URL": live_server.url},
    )
    assert shown.exit_code == 0, shown.output
    assert "queued, p50 a run, oldest first: - - 1m30s - 3m00s" in shown.output
