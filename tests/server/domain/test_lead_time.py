"""Lead time, batching, budget and the summary, as pure rules over plain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadtime.server.domain.lead_time import assess, percentile, summarize

MERGED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BUDGET = timedelta(minutes=15)
NOW = MERGED + timedelta(hours=1)


@pytest.mark.parametrize(
    ("deployed_after", "size", "expected"),
    [
        (timedelta(minutes=12), 1, (timedelta(minutes=12), None, False, False)),
        (timedelta(minutes=15), 1, (timedelta(minutes=15), None, False, False)),  # at budget
        (
            timedelta(minutes=15, seconds=1),
            1,
            (timedelta(minutes=15, seconds=1), None, False, True),
        ),
        (timedelta(minutes=5), 3, (timedelta(minutes=5), None, True, False)),
        (None, 0, (None, timedelta(hours=1), False, True)),  # waiting past the budget
    ],
)
def test_assess(deployed_after, size, expected):
    deployed_at = MERGED + deployed_after if deployed_after is not None else None
    assert assess(MERGED, deployed_at, size, BUDGET, NOW) == expected


def test_waiting_within_budget_is_not_over():
    assert assess(MERGED, None, 0, BUDGET, MERGED + timedelta(minutes=3))[3] is False


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([], 0.5, None),
        ([7.0], 0.9, 7.0),
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.5),
        ([10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0], 0.9, 91.0),
    ],
)
def test_percentile(values, fraction, expected):
    assert percentile(values, fraction) == expected


def test_summary_numbers():
    minutes = [timedelta(minutes=m) for m in (10, 12, 20, 30)]
    summary = summarize(
        lead_times=minutes,
        over_budget=[m > BUDGET for m in minutes],
        deploy_sizes=[1, 1, 2],
        waiting=(2, timedelta(minutes=40)),
        window=timedelta(days=7),
    )
    assert summary.deploys == 3
    assert summary.deploys_per_day == pytest.approx(3 / 7)
    assert summary.lead_time_median == timedelta(minutes=16)
    assert summary.lead_time_p90 == timedelta(minutes=27)
    assert summary.share_over_budget == 0.5
    assert summary.share_batched_deploys == pytest.approx(1 / 3)
    assert summary.mergesets_waiting == 2
    assert summary.longest_wait == timedelta(minutes=40)


def test_empty_summary_has_no_numbers_to_invent():
    summary = summarize([], [], [], (0, None), timedelta(days=7))
    assert (summary.lead_time_median, summary.share_over_budget, summary.share_batched_deploys) == (
        None,
        None,
        None,
    )
