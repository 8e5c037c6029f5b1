"""The regression rule on plain numbers, with known answers (DESIGN.md's rule)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadtime.server.domain.regression import (
    FIRING,
    OK,
    UNKNOWN,
    Rule,
    judge,
    stuck,
)

RULE = Rule()
MINUTE = 60.0


def minutes(*values: float) -> list[float]:
    return [value * MINUTE for value in values]


HISTORY = minutes(10, 10, 10, 10, 10, 10, 10, 10)  # a steady baseline: median 10 minutes


def test_steady_lead_time_does_not_fire():
    verdict = judge(minutes(10, 9, 11, 10, 10), HISTORY, RULE, is_open=False)
    assert verdict.state == OK
    assert (verdict.current, verdict.baseline, verdict.samples) == (600, 600, 5)
    assert verdict.ratio == 1.0


def test_a_twenty_percent_slip_does_not_fire():
    assert judge(minutes(12, 12, 12, 12, 12), HISTORY, RULE, is_open=False).state == OK


def test_a_thirty_percent_slip_fires():
    verdict = judge(minutes(13, 13, 13, 13, 13), HISTORY, RULE, is_open=False)
    assert verdict.state == FIRING
    assert verdict.ratio == pytest.approx(1.3)


def test_just_over_the_ratio_fires_and_at_it_does_not():
    assert judge(minutes(12.5, 12.5, 12.5, 12.5, 12.5), HISTORY, RULE, False).state == OK
    assert judge(minutes(12.6, 12.6, 12.6, 12.6, 12.6), HISTORY, RULE, False).state == FIRING


def test_a_slip_under_the_absolute_floor_does_not_fire():
    # 40 s to 52 s is +30%, but 12 s more pages no one.
    verdict = judge([52.0] * 5, [40.0] * 8, RULE, is_open=False)
    assert verdict.state == OK and verdict.ratio == pytest.approx(1.3)


def test_recovery_to_1_15_keeps_an_open_alert_firing():
    assert judge(minutes(11.5, 11.5, 11.5, 11.5, 11.5), HISTORY, RULE, is_open=True).state == FIRING


def test_recovery_to_1_05_resolves_it():
    assert judge(minutes(10.5, 10.5, 10.5, 10.5, 10.5), HISTORY, RULE, is_open=True).state == OK


def test_too_few_mergesets_give_no_verdict_either_way():
    assert judge(minutes(30, 30, 30, 30), HISTORY, RULE, is_open=False).state == UNKNOWN
    assert judge(minutes(30, 30, 30, 30), HISTORY, RULE, is_open=True).state == UNKNOWN
    # nor does a thin history
    assert judge(minutes(30, 30, 30, 30, 30), minutes(10, 10), RULE, is_open=False).state == UNKNOWN


def test_a_team_target_replaces_the_history():
    # The history says 20 minutes; the team's target is 15, and 20 is 33% over it.
    history = minutes(20, 20, 20, 20, 20)
    current = minutes(20, 20, 20, 20, 20)
    assert judge(current, history, RULE, is_open=False).state == OK
    verdict = judge(current, history, RULE, is_open=False, target=15 * MINUTE)
    assert verdict.state == FIRING and verdict.baseline == 900
    # a target needs no history at all
    assert judge(current, [], RULE, is_open=False, target=15 * MINUTE).state == FIRING


def test_every_number_can_be_overridden():
    rule = Rule.with_overrides(
        {"fire_ratio": 1.5, "resolve_ratio": 1.2, "floor_seconds": 0, "min_mergesets": 2, "x": 1}
    )
    assert (rule.fire_ratio, rule.resolve_ratio, rule.floor_seconds, rule.min_mergesets) == (
        1.5,
        1.2,
        0,
        2,
    )
    assert rule.window == timedelta(days=7) and rule.baseline_span == timedelta(days=28)
    assert judge(minutes(14, 14), HISTORY, rule, is_open=False).state == OK  # +40% < +50%
    assert judge(minutes(16, 16), HISTORY, rule, is_open=False).state == FIRING
    assert judge(minutes(11.9, 11.9), HISTORY, rule, is_open=True).state == OK
    assert Rule.with_overrides(None) == Rule()


def test_stuck_mergesets_are_those_that_waited_longer_than_the_budget():
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    known = now - timedelta(minutes=5)
    waiting = {"a": (now - timedelta(minutes=16), known), "b": (now - timedelta(minutes=14), known)}
    assert stuck(waiting, timedelta(minutes=15), now) == {"a"}
    assert stuck(waiting, timedelta(minutes=10), now) == {"a", "b"}


def test_a_mergeset_just_heard_of_is_not_stuck_yet():
    # Merged an hour ago, reported seconds ago: its deploy report may be on its way.
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    waiting = {"a": (now - timedelta(hours=1), now - timedelta(seconds=10))}
    assert stuck(waiting, timedelta(minutes=15), now) == set()
    assert stuck(waiting, timedelta(minutes=15), now + timedelta(minutes=1)) == {"a"}
