"""A team's weekly review (domain/weekly.py's JSON) in lines of words: the digest's text and
what `leadtime report weekly` prints. Plain values only, so the terminal command imports no
database code."""

from __future__ import annotations

from leadtime.server.timeparse import format_duration


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _change(value: float | None) -> str:
    return "" if value is None else f" ({value:+.0%} against the 4 weeks before)"


def _time(seconds: float | None) -> str:
    return "-" if seconds is None else format_duration(seconds)


def _repository_lines(row: dict) -> list[str]:
    lines = [
        f"{row['repository']}: lead time p50 {_time(row['lead_time_p50_seconds'])}"
        f"{_change(row['lead_time_p50_change'])}, p90 {_time(row['lead_time_p90_seconds'])}"
        f"{_change(row['lead_time_p90_change'])}; {row['deploys']} deploys, "
        f"{_share(row['share_over_budget'])} over budget, "
        f"{_share(row['share_batched_deploys'])} batched"
    ]
    for step in row["slowest_steps"]:
        trend = "" if step["trend"] is None else f" ({step['trend']:+.0%})"
        lines.append(
            f"  slowest on the critical path: {step['name']} "
            f"p50 {_time(step['p50_seconds'])}{trend}"
        )
    return lines


def _service_lines(row: dict) -> list[str]:
    lines = [
        f"{row['service']}: change failure rate {_share(row['change_failure_rate'])} of "
        f"{row['deploys']} deploys, recovery p50 {_time(row['recovery_p50_seconds'])}, "
        f"{row['pages']} pages"
    ]
    for week in row["weeks"]:
        flag = " (over the limit)" if week["flagged"] else ""
        noisiest = "; ".join(f"{n['title']} x{n['pages']}" for n in week["noisiest"])
        lines.append(
            f"  {week['week']}: {week['pages']} pages{flag}, {week['out_of_hours']} out of hours, "
            f"acknowledged in {_time(week['acknowledge_p50_seconds'])}, resolved in "
            f"{_time(week['resolve_p50_seconds'])}"
            + (f"; noisiest: {noisiest}" if noisiest else "")
        )
    return lines


def render(report: dict) -> list[str]:
    """The review's lines, as the digest and `leadtime report weekly` print them."""
    lines: list[str] = []
    for row in report["repositories"]:
        lines += _repository_lines(row)
    for row in report["services"]:
        lines += _service_lines(row)
    unconfirmed = report["pages_without_a_confirmed_suspect"]
    if unconfirmed:
        lines.append(f"Pages with no suspect confirmed: {len(unconfirmed)}")
    if report["unmapped"]:
        names = ", ".join(entry["author"] for entry in report["unmapped"])
        lines.append(f"Authors not mapped to anyone: {names}")
    return lines
