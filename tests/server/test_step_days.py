"""The slowest-steps report reads a day's rollup where it is current and the runs themselves
everywhere else, and gives the same figures either way: days with queues and failures, a day
changed after its rollup, a run whose start moves to the day before."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, text

from leadtime.server import db, store
from leadtime.server.domain import int_lists
from leadtime.server.domain.step_days import Reads, step_totals, step_totals_by_day
from leadtime.server.housekeeping import roll_up
from tests.server import otlp_payloads as otlp
from tests.server.conftest import settings_for

NOW = datetime.now(UTC)
TODAY = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
MAIN = settings_for("sqlite://").main_branch_names  # the server's: the default
EMPTY = {"names": [], "durations_ms": [], "failures": [], "on_path_ms": []}


def _post_history(client) -> set:
    """Three runs a day from 2 to 9 days ago, whole days inside a 30-day window (one a day
    queued for a runner, one with a failed step); the days they started on."""
    rng, days, run = random.Random(7), set(), 0
    for age in range(2, 10):
        for hour in (3, 11, 19):
            run += 1
            start = TODAY - timedelta(days=age) + timedelta(hours=hour, minutes=rng.randrange(50))
            days.add(start.date())
            if hour == 3:
                otlp.post_queued_run(client, run, start, f"{run:040x}")
                continue
            steps = [
                ("build", rng.randrange(60, 200), "success"),
                ("test", rng.randrange(100, 400), "failure" if run % 5 == 0 else "success"),
                ("lint", rng.randrange(5, 30), "success"),
            ]
            otlp.post_run(client, run, start, steps, "main", f"{run:040x}")
    return days


def _report(client, window: str = "30d") -> dict:
    params = {"repo": "acme/shop", "window": window}
    report = client.get("/api/reports/slowest-steps", params=params).json()
    # The trend's buckets start from the moment of the request: their figures are compared.
    trend = [(bucket["runs"], bucket["p50"]) for bucket in report["queued_trend"]]
    return {**{key: report[key] for key in ("runs", "steps", "queued_p50")}, "trend": trend}


def _days(engine) -> tuple[int, int]:
    """(days rolled up and current, days changed since their rollup or never built)."""
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT version, built_version FROM step_days")).all()
    return sum(v == b for v, b in rows), sum(v != b for v, b in rows)


def _forget_rollups(engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM step_days"))


def test_rollups_give_the_figures_the_runs_give(client, engine):
    days = _post_history(client)
    by_runs = {window: _report(client, window) for window in ("7d", "30d")}
    assert by_runs["30d"]["runs"] == 24 and by_runs["30d"]["queued_p50"] is not None
    sessions = db.session_factory(engine)

    assert _days(engine) == (0, len(days))  # each closed day a run arrived for
    roll_up(sessions, NOW, MAIN)
    assert _days(engine) == (len(days), 0)
    assert {window: _report(client, window) for window in by_runs} == by_runs

    # Only the rollups are read for whole days: the runs' own summaries no longer matter...
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE pipeline_runs SET step_summary = :empty"), {"empty": json.dumps(EMPTY)}
        )
    assert _report(client) == by_runs["30d"]
    # ...until the rollups are gone and the runs are read again.
    _forget_rollups(engine)
    assert _report(client)["steps"] == []


def test_a_day_changed_after_its_rollup_is_read_from_its_runs(client, engine):
    _post_history(client)
    sessions = db.session_factory(engine)
    roll_up(sessions, NOW, MAIN)
    late = TODAY - timedelta(days=4) + timedelta(hours=22)
    otlp.post_run(client, 900, late, [("build", 500, "success")], "main", "9" * 40)

    now_read = _report(client)  # at once, before any new rollup
    assert now_read["runs"] == 25
    assert max(step["max"] for step in now_read["steps"] if step["name"] == "build") == 500
    assert _days(engine) == (7, 1)  # just that day changed
    roll_up(sessions, NOW, MAIN)
    assert _days(engine) == (8, 0)
    assert _report(client) == now_read
    _forget_rollups(engine)
    assert _report(client) == now_read  # run by run: the same


def test_a_run_whose_start_moves_to_the_day_before_changes_both_days(client, engine):
    _post_history(client)
    sessions = db.session_factory(engine)
    roll_up(sessions, NOW, MAIN)
    day = TODAY - timedelta(days=3)
    otlp.post_run(client, 901, day + timedelta(minutes=5), [("build", 60, "success")], "main")
    roll_up(sessions, NOW, MAIN)
    # A span of the same run that started before midnight: the run now starts the day before.
    early = day - timedelta(minutes=30)
    setup = otlp.span(
        f"{901:032x}",
        "5e70000000000001",
        "setup",
        early,
        early + timedelta(minutes=1),
        {**otlp.ci("main", "f" * 40, 901), "cicd.pipeline.task.run.result": "success"},
    )
    response = client.post(
        "/v1/traces", content=otlp.request([setup]), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    with sessions() as session:
        changed = {
            found_day
            for _, found_day, _ in store.changed_days(
                session, TODAY.date(), store.branches_key(MAIN), 10
            )
        }
    assert changed == {day.date(), (day - timedelta(days=1)).date()}
    expected = _report(client)
    roll_up(sessions, NOW, MAIN)
    assert _report(client) == expected
    _forget_rollups(engine)
    assert _report(client) == expected


def test_an_open_day_is_never_written_by_ingest_and_rolled_up_once_closed(client, engine):
    otlp.post_run(client, 902, TODAY + timedelta(seconds=1), [("build", 1, "success")], "main")
    sessions = db.session_factory(engine)
    assert _days(engine) == (0, 0)  # today is open: deliveries never wait on its row
    roll_up(sessions, NOW, MAIN)
    assert _days(engine) == (0, 0)  # the cut last day of every window that ends now
    assert roll_up(sessions, TODAY + timedelta(days=1, hours=2), MAIN) == TODAY.date() + timedelta(
        1
    )
    assert _days(engine) == (1, 0)  # noted once closed, and built


def test_the_regression_rule_reads_the_main_branches_rollups(client, engine):
    """Each day is rolled up for the main branches too, for the branches it was built for."""
    _post_history(client)
    feature = ("feature/slow",)
    expected_feature: dict[str, list[int]] = {"build": [], "deploy-preview": []}
    for age in range(2, 10):  # a feature-branch run a day, with its own durations
        start = TODAY - timedelta(days=age) + timedelta(hours=15)
        steps = [("build", 1000 + age, "success"), ("deploy-preview", 50 + age, "success")]
        otlp.post_run(client, 500 + age, start, steps, feature[0], f"{500 + age:040x}")
        for name, seconds, _ in steps:
            expected_feature[name].append(seconds * 1000)
    expected_feature = {name: sorted(times) for name, times in expected_feature.items()}
    sessions = db.session_factory(engine)

    def durations(branches) -> dict:
        with sessions() as session:
            repository_id = store.find_repository(session, "acme/shop").id
            since, until = TODAY - timedelta(days=10), TODAY - timedelta(days=1)
            totals = step_totals(session, repository_id, since, until, branches)
        return {name: sorted(times) for name, times in totals.durations.items()}

    by_runs = durations(MAIN)
    assert set(by_runs) == {"build", "test", "lint", "checkout", "compile"}
    assert len(by_runs["build"]) == 24 and max(by_runs["build"]) < 1000 * 1000  # main's alone
    assert durations(feature) == expected_feature
    roll_up(sessions, NOW, MAIN)
    assert _days(engine) == (8, 0)
    with engine.begin() as connection:  # from here on the rollups alone count
        connection.execute(
            text("UPDATE pipeline_runs SET step_summary = :empty"), {"empty": json.dumps(EMPTY)}
        )
    assert durations(MAIN) == by_runs
    # Other main branches: every day's rollup is for the old ones, so read run by run...
    assert durations(feature) == {}
    with sessions() as session:
        assert len(store.changed_days(session, TODAY.date(), store.branches_key(feature), 50)) == 8
    # ...until the housekeeping has built them again, for the new ones.
    roll_up(sessions, NOW, feature)
    with sessions() as session:
        assert store.changed_days(session, TODAY.date(), store.branches_key(feature), 50) == []


def _value(stored: str | dict | None) -> dict | None:
    return json.loads(stored) if isinstance(stored, str) else stored  # PostgreSQL's: decoded


def _unpacked(stored: str | dict | None) -> str | None:
    """A stored summary or rollup as it was written before its fields were packed."""
    value = _value(stored)
    if value is None:
        return None
    for key in ("durations_ms", "on_path_ms", "queued_ms"):
        if key in value and isinstance(value[key], str):
            lists = int_lists.unpack_lists(value[key])
            flat = key != "durations_ms" and "runs" not in value  # a run's: one value per name
            value[key] = lists[0] if flat else lists
    return json.dumps(value)


def test_summaries_and_rollups_written_before_packing_are_read_as_they_were(client, engine):
    _post_history(client)
    sessions = db.session_factory(engine)
    packed = {window: _report(client, window) for window in ("7d", "30d")}
    roll_up(sessions, NOW, MAIN)
    with engine.begin() as connection:
        runs = connection.execute(text("SELECT trace_id, step_summary FROM pipeline_runs")).all()
        assert runs and all(isinstance(_value(s)["durations_ms"], str) for _, s in runs)
        for trace_id, summary in runs:
            connection.execute(
                text("UPDATE pipeline_runs SET step_summary = :s WHERE trace_id = :t"),
                {"s": _unpacked(summary), "t": trace_id},
            )
        days = connection.execute(text("SELECT id, rollup, main_rollup FROM step_days")).all()
        for row_id, rollup, main_rollup in days:
            connection.execute(
                text("UPDATE step_days SET rollup = :r, main_rollup = :m WHERE id = :i"),
                {"r": _unpacked(rollup), "m": _unpacked(main_rollup), "i": row_id},
            )
    assert {window: _report(client, window) for window in packed} == packed
    _forget_rollups(engine)  # the plain runs' summaries alone
    assert {window: _report(client, window) for window in packed} == packed


def _figures(totals) -> tuple:
    return (
        totals.runs,
        dict(totals.durations),
        dict(totals.failures),
        dict(totals.on_path),
        dict(totals.queued),
        sorted(totals.queued_runs),
    )


def test_runs_read_once_for_two_windows_give_the_figures_of_reading_them_twice(client, engine):
    """A report's windows that read the same runs one by one (today's, in the slowest steps and
    their weekly trend) share one read, summed per day: the figures are those of reading each
    window alone, and the second window sends no query for the runs."""
    _post_history(client)  # nothing rolled up: every day is read run by run
    since = TODAY - timedelta(days=30)
    reads = Reads()
    with db.session_factory(engine)() as session:
        repository = store.find_repository(session, "acme/shop")
        shared = step_totals(session, repository.id, since, NOW, reads=reads)
        alone = step_totals(session, repository.id, since, NOW)
        queries: list[str] = []
        listen = (engine, "before_cursor_execute", lambda *args: queries.append(args[2]))
        event.listen(*listen)
        try:
            by_day_shared = step_totals_by_day(session, repository.id, since, NOW, reads)
        finally:
            event.remove(*listen)
        by_day_alone = step_totals_by_day(session, repository.id, since, NOW)
    assert shared.runs == 24 and _figures(shared) == _figures(alone)
    assert not [query for query in queries if "pipeline_runs" in query]
    assert {day: _figures(totals) for day, totals in by_day_shared.items()} == {
        day: _figures(totals) for day, totals in by_day_alone.items()
    }
    assert len(by_day_alone) == 8  # the eight days of the history


def test_a_reports_windows_read_each_days_rollup_once(client, engine):
    """The slowest steps, the window before and the weekly trend share the days they read
    (slowest_steps): the figures are those of reading each window alone, and the trend reads
    only the one day neither window held whole, the cut first day of the 30 days."""
    _post_history(client)
    roll_up(db.session_factory(engine), NOW, MAIN)
    windows = [(NOW - timedelta(days=30), NOW), (NOW - timedelta(days=60), NOW - timedelta(30))]
    weeks = (TODAY - timedelta(days=55), NOW)
    reads = Reads()
    queries: list[tuple[str, dict]] = []
    with db.session_factory(engine)() as session:
        repository_id = store.find_repository(session, "acme/shop").id
        shared = [step_totals(session, repository_id, *window, reads=reads) for window in windows]
        listen = (engine, "before_cursor_execute", lambda *args: queries.append(args[2:4]))
        event.listen(*listen)
        try:
            by_day_shared = step_totals_by_day(session, repository_id, *weeks, reads)
        finally:
            event.remove(*listen)
        alone = [step_totals(session, repository_id, *window) for window in windows]
        by_day_alone = step_totals_by_day(session, repository_id, *weeks)
    assert shared[0].runs == 24
    assert [_figures(totals) for totals in shared] == [_figures(totals) for totals in alone]
    assert {day: _figures(totals) for day, totals in by_day_shared.items()} == {
        day: _figures(totals) for day, totals in by_day_alone.items()
    }
    assert len(by_day_alone) == 8
    rollup_reads = [parameters for query, parameters in queries if "step_days" in query]
    assert len(rollup_reads) == 1
    cut_day = (NOW - timedelta(days=30)).date()
    assert _days_asked(rollup_reads[0]) == [str(cut_day)] * 2  # first and last: that day alone


def _days_asked(parameters) -> list[str]:
    """The dates among a query's parameters, as text (SQLite's driver is given text)."""
    values = parameters.values() if isinstance(parameters, dict) else parameters
    return [str(value) for value in values if str(value).count("-") == 2]
