"""Critical paths, slow-step flags and lead-time breakdowns on hand-built traces with known
answers."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from leadtime.server.domain.budget import parts_of, split_lead_time, step_stats
from leadtime.server.domain.critical_path import (
    SpanTiming,
    critical_path,
    seconds_by_step,
    seconds_on_path,
)

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
BUDGET = timedelta(minutes=15)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def span(span_id, name, start, end, parent=None, kind=1) -> SpanTiming:
    return SpanTiming(span_id, parent, name, at(start), at(end), kind)


def path_of(spans, **window):
    return [(s.name, s.seconds) for s in critical_path(spans, **window)]


def test_parallel_jobs_count_once_along_the_longest_chain():
    spans = [
        span("b", "build", 0, 100),
        span("u", "unit", 100, 250),  # parallel with lint, ends last
        span("l", "lint", 100, 180),
        span("d", "deploy", 260, 300),
    ]
    assert path_of(spans) == [("build", 100), ("unit", 150), ("waiting", 10), ("deploy", 40)]
    assert sum(seconds_by_step(critical_path(spans)).values()) == 290


def test_nested_steps_and_a_parents_own_time():
    spans = [
        span("t", "test", 0, 100),
        span("u", "unit", 10, 60, parent="t"),
        span("l", "lint", 60, 90, parent="t"),
    ]
    assert path_of(spans) == [("test", 10), ("unit", 50), ("lint", 30), ("test", 10)]


def test_root_span_time_outside_steps_is_waiting():
    spans = [
        span("r", "RUN ci", 0, 200, kind=2),
        span("b", "build", 30, 100, parent="r"),
        span("d", "deploy", 150, 190, parent="r"),
    ]
    assert path_of(spans) == [
        ("waiting", 30),
        ("build", 70),
        ("waiting", 50),
        ("deploy", 40),
        ("waiting", 10),
    ]


def test_a_retried_step_counts_both_attempts():
    spans = [span("a", "e2e", 0, 60), span("b", "e2e", 70, 130)]
    assert seconds_by_step(critical_path(spans)) == {"e2e": 120}


def test_a_run_with_no_root_span_and_overlapping_steps():
    # "package" starts before "compile" ends: the path follows the step that ended last.
    spans = [span("c", "compile", 0, 100), span("p", "package", 80, 150)]
    assert path_of(spans) == [("compile", 80), ("package", 70)]


def test_seconds_on_the_path_summed_from_the_walk_are_those_of_the_merged_path():
    """A run's summary sums each step's time on the path straight from the walk, without
    merging its pieces: the same seconds as the merged path, for random runs with nesting,
    overlaps, parallel jobs, a root and test cases (left out of the walk)."""
    rng = random.Random(11)
    for _ in range(200):
        spans = [span("r", "RUN ci", 0, 1000, kind=2)]
        for index in range(rng.randrange(1, 12)):
            parent = rng.choice([s.span_id for s in spans])
            start = rng.randrange(0, 900)
            spans.append(
                span(f"s{index}", f"step-{index % 4}", start, start + rng.randrange(1, 200), parent)
            )
        spans[-1] = replace(spans[-1], role="test")
        expected = {
            name: round(seconds, 6)
            for name, seconds in seconds_by_step(critical_path(spans)).items()
        }
        found = {name: round(seconds, 6) for name, seconds in seconds_on_path(spans).items()}
        assert found == expected
    assert seconds_on_path([]) == {}


def test_critical_path_within_a_window_clips_the_ends():
    spans = [span("b", "build", 0, 100), span("d", "deploy", 100, 200)]
    assert path_of(spans, start=at(50), end=at(150)) == [("build", 50), ("deploy", 50)]


@pytest.mark.parametrize(
    ("critical_seconds", "slow"),
    [(179.9, False), (180.0, True), (400.0, True)],  # 20% of 15 minutes is 180 s
)
def test_slow_flag_at_its_edge(critical_seconds, slow):
    stats = step_stats("e2e", [critical_seconds] * 3, 0, [critical_seconds] * 3, [], BUDGET)
    assert stats.slow is slow


@pytest.mark.parametrize(("p50", "breaker"), [(900.0, False), (900.5, True)])
def test_budget_breaker_at_its_edge(p50, breaker):
    assert step_stats("e2e", [p50], 0, [0.0], [], BUDGET).budget_breaker is breaker


def test_step_numbers():
    stats = step_stats(
        "unit",
        durations=[60, 120, 180, 240, 300],
        failures=1,
        on_path=[0, 0, 180, 240, 300],
        previous=[100, 120, 140],
        budget=BUDGET,
    )
    assert (stats.runs, stats.p50, stats.max) == (5, 180, 300)
    assert stats.p95 == pytest.approx(288)
    assert stats.failure_rate == 0.2
    assert stats.share_of_budget == pytest.approx(0.2)
    assert stats.critical_share == 0.6
    assert stats.critical_p50 == 180
    assert stats.trend == pytest.approx(0.5)  # 120 s -> 180 s


def test_lead_time_split_covers_merge_to_deploy_exactly():
    main = ("t1", [span("b", "build", 120, 300), span("u", "unit", 300, 500)])
    deploy = ("t2", [span("d", "deploy production", 700, 760)])
    segments = split_lead_time(at(0), at(760), main, deploy)
    assert [(s.name, s.seconds) for s in segments] == [
        ("waiting for the pipeline", 120),
        ("build", 180),
        ("unit", 200),
        ("waiting to deploy", 200),
        ("deploy production", 60),
    ]
    assert sum(s.seconds for s in segments) == 760
    parts = parts_of(segments, BUDGET)
    assert [(p.name, p.seconds) for p in parts][:2] == [("unit", 200), ("waiting to deploy", 200)]
    assert parts[0].share_of_budget == pytest.approx(200 / 900)


def test_one_run_that_builds_and_deploys_is_walked_once():
    run = (
        "t1",
        [span("b", "build", 60, 200), span("d", "deploy", 200, 260), span("s", "smoke", 260, 400)],
    )
    segments = split_lead_time(at(0), at(260), run, run)
    assert [(s.name, s.seconds) for s in segments] == [
        ("waiting for the pipeline", 60),
        ("build", 140),
        ("deploy", 60),
    ]


def test_an_undeployed_mergeset_shows_its_wait_so_far():
    segments = split_lead_time(at(0), at(1000), ("t1", [span("b", "build", 10, 100)]), None)
    assert [(s.name, s.seconds) for s in segments] == [
        ("waiting for the pipeline", 10),
        ("build", 90),
        ("waiting to deploy", 900),
    ]
