"""The dashboard's charts, on plain values: lead times and weekly trends on a log scale, so one
outlier never flattens the others, with axes in durations and dates, and gaps where a week
shipped nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leadtime.server.dashboard.charts import SPARKLINE, lead_time_chart, sparkline

WIDTH, HEIGHT = SPARKLINE


def test_a_log_scale_spaces_each_tenfold_step_evenly():
    chart = sparkline([60.0, 600.0, 6000.0], budget=600.0)
    ys = [dot["y"] for dot in chart["dots"]]
    assert ys[0] - ys[1] == pytest.approx(ys[1] - ys[2], abs=0.2)
    assert chart["budget_y"] == ys[1]
    # the first and last dots sit a radius and a pixel inside the box, so neither is clipped
    assert [dot["x"] for dot in chart["dots"]] == [3.0, WIDTH / 2, WIDTH - 3.0]


def test_an_outlier_does_not_flatten_the_other_weeks():
    chart = sparkline([600.0, 1200.0, 99 * 3600.0], budget=900.0)
    low, doubled, outlier = (dot["y"] for dot in chart["dots"])
    assert low - doubled > 2  # a doubling still shows as more than 2 of the 28 pixels
    assert outlier == pytest.approx(2.0) and low == pytest.approx(HEIGHT - 2)


def test_weeks_without_a_value_break_the_line_and_a_lone_week_is_a_dot():
    chart = sparkline([60.0, 120.0, None, 300.0, None, 90.0, 100.0], budget=900.0)
    assert len(chart["dots"]) == 5
    assert len(chart["lines"]) == 2  # 60-120 and 90-100; 300 stands alone
    assert sparkline([None, None], budget=900.0) == {"lines": [], "dots": [], "budget_y": None}


class Shipped:
    """What the chart reads of a mergeset report."""

    def __init__(self, n: int, merged_at: datetime, lead: timedelta, budget: timedelta) -> None:
        self.sha, self.title, self.pr_title = f"{n:040x}", f"change {n}", None
        self.merged_at, self.lead_time, self.over_budget = merged_at, lead, lead > budget


def test_the_demos_outlier_leaves_the_regression_visible_and_the_axes_are_labelled():
    budget = timedelta(minutes=15)
    start = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
    leads = [12, 13, 11, 12, 24, 26, 25, 99 * 60]  # minutes: a step slowed, then one outlier
    reports = [
        Shipped(n, start + timedelta(hours=n), timedelta(minutes=m), budget)
        for n, m in enumerate(leads)
    ]
    chart = lead_time_chart(reports, budget)
    ys = [dot["y"] for dot in chart["dots"]]
    before, after = sum(ys[:4]) / 4, sum(ys[4:7]) / 3
    # 12 -> 25 minutes is some 20 of the 186 plotted pixels; on a linear scale up to 99 hours
    # it would be under one
    assert before - after > 15
    assert chart["budget_y"] < before and chart["budget_y"] > after  # the budget between them
    labels = [tick["label"] for tick in chart["y_ticks"]]
    assert labels == ["15m00s", "1h00m", "4h00m", "1d00h"]  # 11 minutes to 99 hours
    assert [tick["label"] for tick in chart["x_ticks"]] == [
        "11-01 09:00",
        "11-01 12:30",
        "11-01 16:00",
    ]
    assert (
        chart["dots"][7]["label"] == f"{7:040x}"[:10] + " change 7 merged 2026-11-01 16:00: 4d03h"
    )
    assert lead_time_chart([], budget)["dots"] == []
