"""The dashboard's charts as plain numbers for inline SVG (nothing loaded from elsewhere; each
chart has a table or a label that says the same for screen readers). Lead times span seconds to
weeks, so they are drawn on a log scale: one outlier never flattens the other points."""

from __future__ import annotations

import math
from datetime import timedelta

from leadtime.server.domain.queue_trend import QueueBucket
from leadtime.server.timeparse import format_duration

CHART_WIDTH, CHART_HEIGHT = 720, 220
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 56, 12, 10, 24  # room for the axes' labels
# Where the lead-time axis may put a tick: the durations people think in.
TICKS = (10, 60, 300, 900, 3600, 4 * 3600, 86400, 7 * 86400, 30 * 86400, 365 * 86400)


class LogScale:
    """Seconds to a y coordinate, log10, over [low, high] padded (in decades) so no point sits
    on an edge where a chart has axes."""

    def __init__(
        self, values: list[float], top: float, bottom: float, padding: float = 0.15
    ) -> None:
        self.low = math.log10(max(min(values), 1.0)) - padding
        self.high = math.log10(max(max(values), 1.0)) + padding
        self.top, self.bottom = top, bottom

    def y(self, seconds: float) -> float:
        share = (math.log10(max(seconds, 1.0)) - self.low) / max(self.high - self.low, 1e-9)
        return round(self.bottom - share * (self.bottom - self.top), 1)

    def ticks(self) -> list[dict]:
        inside = [t for t in TICKS if self.low <= math.log10(t) <= self.high]
        return [{"y": self.y(t), "label": format_duration(t)} for t in inside]


def lead_time_chart(reports, budget: timedelta) -> dict:
    """Dots of lead time by merge time on a log scale, the budget line, and both axes' ticks
    (durations on the left, dates below); each dot's label says its sha, title and lead time."""
    deployed = [r for r in reports if r.lead_time is not None]
    if not deployed:
        return {"dots": [], "budget_y": None, "y_ticks": [], "x_ticks": []}
    seconds = [r.lead_time.total_seconds() for r in deployed]
    scale = LogScale([*seconds, budget.total_seconds()], PLOT_TOP, CHART_HEIGHT - PLOT_BOTTOM)
    first = min(r.merged_at for r in deployed)
    span = max((max(r.merged_at for r in deployed) - first).total_seconds(), 1.0)
    plot_width = CHART_WIDTH - PLOT_LEFT - PLOT_RIGHT

    def x(moment) -> float:
        return round(PLOT_LEFT + (moment - first).total_seconds() / span * plot_width, 1)

    dots = [
        {
            "x": x(r.merged_at),
            "y": scale.y(lead),
            "sha": r.sha,
            "over": r.over_budget,
            "label": f"{r.sha[:10]} {r.pr_title or r.title or ''} merged "
            f"{r.merged_at:%Y-%m-%d %H:%M}: {format_duration(lead)}".replace("  ", " "),
        }
        for r, lead in zip(deployed, seconds, strict=True)
    ]
    x_ticks = [
        {"x": x(first + timedelta(seconds=span * share)), "label": f"{moment:%m-%d %H:%M}"}
        for share in (0.0, 0.5, 1.0)
        if (moment := first + timedelta(seconds=span * share))
    ]
    return {
        "dots": dots,
        "budget_y": scale.y(budget.total_seconds()),
        "y_ticks": scale.ticks(),
        "x_ticks": x_ticks if span > 1.0 else x_ticks[:1],
        "left": PLOT_LEFT,
        "bottom": CHART_HEIGHT - PLOT_BOTTOM,
    }


SPARKLINE = (120, 28)  # a weekly trend's viewBox: width, height


def sparkline(values: list[float | None], budget: float | None = None) -> dict:
    """A weekly trend as SVG points on a log scale (an outlier never flattens the rest), with
    the budget's height where one is given; weeks with no value leave a gap between the lines
    drawn, and a week alone between gaps is a dot."""
    width, height = SPARKLINE
    known = [value for value in values if value]
    if not known:
        return {"lines": [], "dots": [], "budget_y": None}
    scale = LogScale(known if budget is None else [*known, budget], 2, height - 2, padding=0.0)
    inset = 3  # a dot's radius and a pixel: the first and last weeks' dots are not clipped
    step = (width - 2 * inset) / max(len(values) - 1, 1)
    points = [
        (round(inset + index * step, 1), scale.y(value) if value else None)
        for index, value in enumerate(values)
    ]
    return {**_series(points), "budget_y": None if budget is None else scale.y(budget)}


QUEUE_CHART = (600, 90)  # the queue trend's viewBox: width, height


def queue_bars(trend: list[QueueBucket]) -> list[dict]:
    """A bar per bucket of the queue trend (domain/queue_trend.py), scaled into the SVG; a
    bucket with no queue reported gets no bar, so the gap shows."""
    width, height = QUEUE_CHART
    top = max((bucket.p50 for bucket in trend if bucket.p50 is not None), default=0.0) or 1.0
    step = width / max(len(trend), 1)
    bars = []
    for index, bucket in enumerate(trend):
        tall = 0.0 if bucket.p50 is None else max(bucket.p50 / top * (height - 20), 1.0)
        bars.append(
            {
                "x": round(index * step + step * 0.1, 1),
                "width": round(step * 0.8, 1),
                "y": round(height - tall, 1),
                "height": round(tall, 1),
                "bucket": bucket,
            }
        )
    return bars


TREND_CHART = (720, 120)  # each weekly trend's viewBox: width, height
TREND_LEFT, TREND_BOTTOM = 56, 18


def _week_x(index: int, weeks: int) -> float:
    plot = TREND_CHART[0] - TREND_LEFT - 12
    return round(TREND_LEFT + (index + 0.5) * plot / max(weeks, 1), 1)


def _series(points: list[tuple[float, float | None]]) -> dict:
    """A line through consecutive weeks with values (a gap where a week has none) and a dot on
    every week with one, so a lone week still shows."""
    lines: list[list[str]] = [[]]
    for x, y in points:
        if y is None:
            lines.append([])
        else:
            lines[-1].append(f"{x},{y}")
    dots = [{"x": x, "y": y} for x, y in points if y is not None]
    return {"lines": [" ".join(line) for line in lines if len(line) > 1], "dots": dots}


def weekly_charts(weeks, budget: timedelta) -> dict:
    """Three charts of the same weeks: lead time p50 and p90 against the budget (log scale),
    deploys (bars), change failure and rework rates (0-100%)."""
    width, height = TREND_CHART
    bottom = height - TREND_BOTTOM
    leads = [w.lead_time_p50 for w in weeks] + [w.lead_time_p90 for w in weeks]
    known = [value for value in leads if value]
    scale = LogScale([*known, budget.total_seconds()], 8, bottom)
    xs = [_week_x(index, len(weeks)) for index in range(len(weeks))]

    def lead(values):
        return _series([(x, scale.y(v) if v else None) for x, v in zip(xs, values, strict=True)])

    most = max((w.deploys for w in weeks), default=0) or 1
    bar_width = round((width - TREND_LEFT - 12) / max(len(weeks), 1) * 0.7, 1)

    def rate(values):
        return _series(
            [
                (x, None if v is None else round(bottom - v * (bottom - 8), 1))
                for x, v in zip(xs, values, strict=True)
            ]
        )

    return {
        "width": width,
        "height": height,
        "left": TREND_LEFT,
        "bottom": bottom,
        "labels": [{"x": x, "text": f"{w.start:%m-%d}"} for x, w in zip(xs, weeks, strict=True)],
        "p50": lead([w.lead_time_p50 for w in weeks]),
        "p90": lead([w.lead_time_p90 for w in weeks]),
        "budget_y": scale.y(budget.total_seconds()),
        "lead_ticks": scale.ticks(),
        "bars": [
            {
                "x": round(x - bar_width / 2, 1),
                "width": bar_width,
                "y": round(bottom - w.deploys / most * (bottom - 8), 1),
                "height": round(w.deploys / most * (bottom - 8), 1),
                "deploys": w.deploys,
            }
            for x, w in zip(xs, weeks, strict=True)
        ],
        "most": most,
        "failure": rate([w.change_failure_rate for w in weeks]),
        "rework": rate([w.rework_rate for w in weeks]),
    }
