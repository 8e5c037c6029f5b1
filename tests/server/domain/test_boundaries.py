"""The rules at their edges, each pinned by a test that fails when the edge moves: where the
budget ends, which window holds a deploy finishing at its start, what counts as waiting, which
environment counts, how the regression rule fires and resolves exactly at its thresholds, and
which deploy is a page's suspect at the lookback's ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadtime.server import db
from leadtime.server.domain.containment import (
    DeployPoint,
    MergesetPoint,
    compute_containment,
    order_mergesets,
)
from leadtime.server.domain.lead_time import assess, list_mergesets, repository_summary
from leadtime.server.domain.regression import FIRING, OK, Rule, judge
from leadtime.server.domain.suspects import suspect_and_candidates
from leadtime.server.settings import Settings
from tests.factories import make_deploy, make_mergeset, make_page

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
BUDGET = timedelta(minutes=15)


# lead time -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("waited", "over"),
    [
        (BUDGET, False),
        (BUDGET + timedelta(seconds=1), True),
        (BUDGET - timedelta(seconds=1), False),
    ],
    ids=["exactly-the-budget", "a-second-more", "a-second-less"],
)
def test_waiting_exactly_the_budget_is_not_over_it(waited, over):
    assert assess(T0, None, 0, BUDGET, T0 + waited) == (None, waited, False, over)
    assert assess(T0, T0 + waited, 1, BUDGET, T0 + waited)[3] is over


def _session(engine):
    return db.session_factory(engine)()


def test_the_summary_counts_production_only_and_a_deploy_at_the_windows_start(
    client, engine, db_url
):
    settings = Settings(database_url=db_url, migrate_on_start=False)
    make_mergeset(client, "a" * 40, T0)
    make_mergeset(client, "b" * 40, T0 + timedelta(minutes=1), parent="a" * 40)
    make_mergeset(client, "c" * 40, T0 + timedelta(minutes=2), parent="b" * 40)
    make_deploy(client, "shop", "a" * 40, T0 + timedelta(minutes=10))
    make_deploy(client, "shop", "b" * 40, T0 + timedelta(minutes=11), environment="staging")
    window = timedelta(hours=1)
    with _session(engine) as session:
        # the production deploy finished exactly at the window's start: inside
        at_start = repository_summary(
            session, settings, T0 + timedelta(minutes=10) + window, window
        )
        after = repository_summary(
            session, settings, T0 + timedelta(minutes=10, seconds=1) + window, window
        )
    assert (at_start.deploys, at_start.mergesets_deployed) == (1, 1)
    assert (after.deploys, after.mergesets_deployed) == (0, 0)
    # waiting: b and c, which no production deploy contains (b went to staging only); not a
    assert at_start.mergesets_waiting == 2


def test_until_is_exclusive_and_since_inclusive(client, engine, db_url):
    settings = Settings(database_url=db_url, migrate_on_start=False)
    make_mergeset(client, "a" * 40, T0)
    make_mergeset(client, "b" * 40, T0 + timedelta(minutes=5), parent="a" * 40)
    with _session(engine) as session:
        found = list_mergesets(session, settings, T0, since=T0, until=T0 + timedelta(minutes=5))
    assert [m.sha for m in found] == ["a" * 40]


# containment -----------------------------------------------------------------------------------


def test_a_parent_outside_the_stored_mergesets_does_not_defer_its_child():
    points = [
        MergesetPoint("late", T0 + timedelta(minutes=9)),
        MergesetPoint("child", T0 + timedelta(minutes=1), parent_sha="never-stored"),
    ]
    assert order_mergesets(points) == ["child", "late"]


def test_a_mergeset_that_names_itself_its_parent_is_placed_by_its_time():
    points = [
        MergesetPoint("self", T0, parent_sha="self"),
        MergesetPoint("c", T0 + timedelta(minutes=1)),
    ]
    assert order_mergesets(points) == ["self", "c"]


def test_a_listed_deploy_takes_nothing_in_place_of_what_already_shipped():
    ordered = ["a", "b", "c"]
    listed = ("b",)
    deploys = [DeployPoint(1, "b", listed_shas=listed), DeployPoint(2, "b", listed_shas=listed)]
    assert compute_containment(ordered, deploys) == {1: ["b"], 2: []}


# regression --------------------------------------------------------------------------------------

BASE = [600.0] * 5


@pytest.mark.parametrize(
    ("current", "is_open", "state"),
    [
        ([660.0] * 5, True, FIRING),  # exactly 1.10 x: still firing (resolves only under it)
        ([659.0] * 5, True, OK),
        ([750.0] * 5, False, OK),  # exactly 1.25 x: not above it
        ([751.0] * 5, False, FIRING),
    ],
    ids=["resolve-at-1.10", "under-1.10", "fire-at-1.25", "over-1.25"],
)
def test_the_regression_thresholds(current, is_open, state):
    assert judge(current, BASE, Rule(), is_open).state == state


def test_the_floor_is_two_minutes_and_an_increase_of_exactly_it_fires():
    assert Rule().floor_seconds == 120.0
    small = [200.0] * 5  # baseline 200 s: 1.6 x, but only +100 s
    assert judge([300.0] * 5, small, Rule(), False).state == OK
    assert judge([320.0] * 5, small, Rule(), False).state == FIRING  # +120 s exactly
    assert judge([319.0] * 5, small, Rule(), False).state == OK


# suspects ----------------------------------------------------------------------------------------

LOOKBACK = timedelta(hours=24)


@pytest.mark.parametrize(
    ("finished", "suspect"),
    [
        (T0, None),  # finishing at the page's very instant: not before it
        (T0 - timedelta(seconds=1), 1),
        (T0 - LOOKBACK, 1),  # exactly one lookback before: inside
        (T0 - LOOKBACK - timedelta(seconds=1), None),
    ],
    ids=["same-instant", "a-second-before", "lookback-start", "before-lookback"],
)
def test_the_suspects_window(finished, suspect):
    assert suspect_and_candidates(T0, [(1, finished)], LOOKBACK)[0] == suspect


def test_the_default_lookback_is_a_day_and_a_late_deploy_relinks_across_it(client):
    assert Settings().page_lookback_hours == 24.0
    page = make_page(client, "shop", T0, "p-late")
    assert page["suspect"] is None and page["service"] is None  # shop never deployed yet
    deploy = make_deploy(client, "shop", "a" * 40, T0 - timedelta(hours=20))  # reported late
    again = client.get(f"/api/pages/{page['id']}").json()
    assert again["service"] == "shop"  # matched once its service first deployed
    assert again["suspect"]["id"] == deploy


# stuck mergesets -------------------------------------------------------------------------------


def test_a_repository_that_never_deployed_has_no_stuck_mergesets(client, engine, db_url):
    from leadtime.server import store
    from leadtime.server.domain.regression import STUCK, evaluate_repository

    settings = Settings(database_url=db_url, migrate_on_start=False)
    now = datetime.now(UTC)
    later = now + timedelta(hours=2)  # past the budget and the grace for what merged now
    make_mergeset(client, "a" * 40, now)

    def stuck_after_evaluating() -> list[str]:
        with db.unit_of_work(db.session_factory(engine)) as session:
            repository = store.find_repository(session, "acme/shop")
            evaluate_repository(session, repository, settings, later, ["log"])
            open_alerts = store.open_alerts(session, repository.id)
        return [subject for metric, subject in open_alerts if metric == STUCK]

    assert stuck_after_evaluating() == []  # never deployed: no pipeline to be stuck in
    make_mergeset(client, "b" * 40, now + timedelta(seconds=1), parent="a" * 40)
    make_deploy(client, "shop", "a" * 40, now + timedelta(minutes=5))
    assert stuck_after_evaluating() == ["b" * 40]  # deploys happen; b waits past the budget


# budget -------------------------------------------------------------------------------------------


def test_a_step_is_slow_by_its_critical_path_p50_not_its_plain_p50():
    from leadtime.server.domain.budget import step_stats

    five_minutes = [300.0] * 5  # a third of the budget each run
    parallel = step_stats("lint", five_minutes, 0, [0.0] * 5, [], BUDGET)
    on_path = step_stats("lint", five_minutes, 0, five_minutes, [], BUDGET)
    assert (parallel.p50, parallel.slow) == (300.0, False)  # never what the run waited for
    assert on_path.slow is True


def test_a_run_that_builds_and_deploys_is_walked_once():
    from leadtime.server.domain.budget import SpanTiming, split_lead_time

    def at(minutes: float) -> datetime:
        return T0 + timedelta(minutes=minutes)

    spans = [
        SpanTiming("b1", None, "build", at(1), at(5)),
        SpanTiming("d1", None, "deploy production", at(5), at(8)),
    ]
    segments = split_lead_time(T0, at(10), ("t1", spans), ("t1", spans))
    assert [(s.name, s.seconds) for s in segments] == [
        ("waiting for the pipeline", 60.0),
        ("build", 240.0),
        ("deploy production", 180.0),
        ("waiting to deploy", 120.0),
    ]
    assert sum(s.seconds for s in segments) == 600.0  # merge to deploy, covered exactly once
