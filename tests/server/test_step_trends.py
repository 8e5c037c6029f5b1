"""Each step's weekly p50 on the slowest-steps report: the weeks are whole UTC days ending
today, a week the step skipped has no value, and rolled-up days give what their runs give."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta

from leadtime.server import db
from leadtime.server.domain.step_trends import WEEKS_SHOWN
from leadtime.server.housekeeping import roll_up
from tests.server import otlp_payloads as otlp
from tests.server.conftest import settings_for

NOW = datetime.now(UTC)
TODAY = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
MAIN = settings_for("sqlite://").main_branch_names


def _post_weeks(client) -> dict[str, list[list[int]]]:
    """Two runs a day over ten weeks back from today (runs today start before now); `deploy`
    skips the third and fourth weeks before this one. Each step's durations by week of the
    report's eight, oldest first, worked out from the calendar here."""
    rng, run = random.Random(11), 0
    expected: dict[str, list[list[int]]] = {
        name: [[] for _ in range(WEEKS_SHOWN)] for name in ("build", "deploy")
    }
    for age in range(0, 70):
        weeks_back = age // 7  # 0: today and the six days before
        for hour in (1, 13):
            start = TODAY - timedelta(days=age) + timedelta(hours=hour)
            if start >= NOW - timedelta(minutes=5):
                start = TODAY + (NOW - TODAY) / 2  # keep today's runs in the past
            run += 1
            steps = [("build", 60 + 10 * weeks_back + rng.randrange(5), "success")]
            if weeks_back not in (3, 4):
                steps.append(("deploy", 30 + rng.randrange(20), "success"))
            otlp.post_run(client, run, start, steps, "main", f"{run:040x}")
            if weeks_back < WEEKS_SHOWN:
                for name, seconds, _ in steps:
                    expected[name][WEEKS_SHOWN - 1 - weeks_back].append(seconds)
    return expected


def _weekly(client) -> dict[str, list[float | None]]:
    params = {"repo": "acme/shop", "window": "7d"}
    report = client.get("/api/reports/slowest-steps", params=params).json()
    return {step["name"]: step["weekly_p50"] for step in report["steps"]}


def test_each_step_has_its_p50_per_week_with_a_gap_where_it_did_not_run(client, engine):
    expected = _post_weeks(client)
    wanted = {
        name: [statistics.median(times) if times else None for times in weeks]
        for name, weeks in expected.items()
    }
    assert wanted["deploy"][WEEKS_SHOWN - 4] is None and wanted["deploy"][WEEKS_SHOWN - 5] is None
    by_runs = _weekly(client)
    assert by_runs == wanted
    # build was slower each week further back: its line falls from the oldest week to this one
    assert by_runs["build"] == sorted(by_runs["build"], reverse=True)

    roll_up(db.session_factory(engine), NOW, MAIN)
    assert _weekly(client) == wanted
