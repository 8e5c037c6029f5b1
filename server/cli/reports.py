"""`leadtime mergesets`, `report ...` and `budget`: what the server measured, read
through its API (LEADTIME_URL, LEADTIME_TOKEN) and printed as tables or JSON."""

from __future__ import annotations

from typing import Any

import click

from leadtime.server.cli.client import call, get
from leadtime.server.cli.dora import report_dora
from leadtime.server.cli.output import Table, output_options, share, show, when
from leadtime.server.cli.weekly import report_weekly
from leadtime.server.domain.dora_tiers import DEFAULT_WINDOW
from leadtime.server.timeparse import format_duration as duration


def bar(fraction: float, width: int = 20) -> str:
    """A share of the budget as a bar: `width` characters are the whole budget."""
    filled = round(min(max(fraction, 0.0), 1.0) * width)
    return "#" * filled + "." * (width - filled) + (">" if fraction > 1 else " ")


def _mergesets_table(rows: list[dict]) -> Table:
    return Table(
        ["sha", "merged", "deployed", "merge→production", "waiting", "flags", "title"],
        [
            [
                r["sha"][:10],
                when(r["merged_at"]),
                when(r["deployed_at"]),
                duration(r["lead_time_seconds"]),
                duration(r["waiting_seconds"]),
                ("B" if r["batched"] else "")
                + ("!" if r["over_budget"] else "")
                + ("C" if r["context"] else "")
                + ("R" if r.get("reverts") else ""),
                (r["pr_title"] or r["title"] or "")[:50],
            ]
            for r in rows
        ],
    )


@click.command()
@click.option("--repo", help="Repository URL, owner/name or name.")
@click.option("--since", help="ISO 8601: merged at or after.")
@click.option("--limit", default=50, show_default=True, type=int)
@output_options
def mergesets(repo: str | None, since: str | None, limit: int, output: str) -> None:
    """Mergesets with their lead time, merge -> production (or how long they have waited),
    newest first; `--json` adds DORA's change lead time (first commit -> production).

    Flags: B batched deploy, ! over budget, C context (history from before leadtime measured
    the repository, never counted), R a revert (`--json` says of which mergeset). Reads from
    LEADTIME_URL.

    Example:

    \b
        leadtime mergesets --repo acme/shop --since 2026-11-01
    """
    rows = get("/api/mergesets", {"repo": repo, "since": since, "limit": limit})
    show(output, rows, _mergesets_table)


@click.group("report")
def report_group() -> None:
    """Where the budget goes (slowest steps, one mergeset's lead time split up), what pages
    say (on-call load, change failure rate) and DORA's five keys with their tiers."""


report_group.add_command(report_dora)
report_group.add_command(report_weekly)


def _flags(step: dict) -> str:
    marks = (("BREAKER", step["budget_breaker"]), ("SLOW", step["slow"]))
    return " ".join(flag for flag, on in marks if on)


def _slowest_table(report: dict, window: str) -> Table:
    headers = ["step", "runs", "p50", "p95", "max", "fail", "on path", "p50 share of budget"]
    rows = [
        [
            step["name"][:40],
            step["runs"],
            duration(step["p50"]),
            duration(step["p95"]),
            duration(step["max"]),
            share(step["failure_rate"]),
            share(step["critical_share"]),
            f"{bar(step['share_of_budget'])} {share(step['share_of_budget'])}",
            "-" if step["trend"] is None else f"{step['trend']:+.0%}",
            _flags(step),
        ]
        for step in report["steps"]
    ]
    heading = (
        f"{report['repository']}: {report['runs']} runs, budget "
        f"{duration(report['budget_seconds'])}, window {window}"
    )
    lines = [heading]
    if report.get("queued_p50") is not None:
        lines.append(
            f"queued for runners: p50 {duration(report['queued_p50'])} a run, "
            f"{share(report['queued_share_of_budget'])} of the budget"
        )
        trend = [
            duration(b["p50"]) if b["p50"] is not None else "-" for b in report["queued_trend"]
        ]
        lines.append(f"queued, p50 a run, oldest first: {' '.join(trend)}")
    lines.extend(_cache_line(cache) for cache in report.get("caches", []))
    return Table([*headers, "trend", "flags"], rows, lines)


def _cache_line(cache: dict) -> str:
    cost = cache["miss_cost_per_week"]
    return (
        f"cache of {cache['name']}: {cache['hits']} hits, {cache['misses']} misses "
        f"({share(cache['hit_rate'])} hit), p50 hit {duration(cache['hit_p50'])}, miss "
        f"{duration(cache['miss_p50'])}; misses cost "
        + (f"{duration(cost)} a week" if cost is not None else "- (no hit to compare)")
    )


def _tests_table(report: dict, window: str, what: str) -> Table:
    headers = ["test", "runs", "fail", "p50", "p95", "trend", "flaky shas"]
    rows = [
        [
            test["name"][-60:],
            test["runs"],
            share(test["failure_rate"]),
            duration(test["p50"]),
            duration(test["p95"]),
            "-" if test["trend"] is None else f"{test['trend']:+.0%}",
            f"{test['flaky_revisions']}/{test['revisions']}",
        ]
        for test in report["tests"]
    ]
    heading = f"{report['repository']}: {what}, {report['runs']} test runs, window {window}"
    return Table(headers, rows, [heading])


TEST_VIEWS = {
    "slowest": ("/api/reports/slowest-tests", "slowest tests"),
    "flaky": ("/api/reports/flaky-tests", "tests that failed then passed on one sha"),
    "order": ("/api/reports/test-order", "suggested order: likeliest to fail, then fastest"),
}


@report_group.command("tests")
@click.option("--repo", required=True, help="Repository URL, owner/name or name.")
@click.option("--window", default="14d", show_default=True, help="e.g. 7d, 14d, 4w.")
@click.option(
    "--show",
    "view",
    type=click.Choice(list(TEST_VIEWS)),
    default="slowest",
    show_default=True,
    help="slowest tests, flaky tests, or the suggested order to run them in.",
)
@click.option(
    "--names",
    is_flag=True,
    help="Only the test names, one a line, in the report's order: for a CI script to feed "
    "its runner.",
)
@output_options
def report_tests(repo: str, window: str, view: str, names: bool, output: str) -> None:
    """Tests inside steps (sent by `leadtime step --junit` or an OTel-aware runner): the
    slowest with p50, p95 and trend; the flaky (failed then passed on one revision); or the
    order to run them in, the likeliest to fail and fastest first.

    Example:

    \b
        leadtime report tests --repo acme/shop --show flaky
        leadtime report tests --repo acme/shop --show order --names > order.txt
    """
    path, what = TEST_VIEWS[view]
    report = get(path, {"repo": repo, "window": window})
    if names:
        click.echo("\n".join(test["name"] for test in report["tests"]))
        return
    show(output, report, lambda data: _tests_table(data, window, what))


def _flaky_table(report: dict, window: str) -> Table:
    rows = [
        [
            step["name"][:40],
            step["runs"],
            f"{step['flaky_revisions']}/{step['revisions']}",
            share(step["flaky_rate"]),
            step["retries"],
            duration(step["seconds_lost"]),
            duration(step["seconds_lost_on_main"]),
            "FLAKY" if step["flaky"] else "",
        ]
        for step in report["steps"]
    ]
    heading = (
        f"{report['repository']}: steps that failed and passed on the same revision, window "
        f"{window}, flagged at {share(report['threshold'])}"
    )
    headers = ["step", "runs", "flaky shas", "rate", "retries", "lost", "lost on main", "flag"]
    return Table(headers, rows, [heading])


@report_group.command("flaky")
@click.option("--repo", required=True, help="Repository URL, owner/name or name.")
@click.option("--window", default="30d", show_default=True, help="e.g. 7d, 30d, 12w.")
@output_options
def report_flaky(repo: str, window: str, output: str) -> None:
    """Flaky steps: those that failed and then passed on the same revision (a re-run, or two
    runs), with the time their retries lost, on main branches too (inside lead times).

    Example:

    \b
        leadtime report flaky --repo acme/shop --window 30d
    """
    report = get("/api/reports/flaky-steps", {"repo": repo, "window": window})
    show(output, report, lambda data: _flaky_table(data, window))


@report_group.command("slowest")
@click.option("--repo", required=True, help="Repository URL, owner/name or name.")
@click.option("--window", default="7d", show_default=True, help="e.g. 24h, 7d, 4w.")
@output_options
def report_slowest(repo: str, window: str, output: str) -> None:
    """Steps by their time on the critical path, with bars for their share of the budget.

    Flags: SLOW (p50 on the critical path at least 20% of the budget), BREAKER (p50 over the
    whole budget). Reads from LEADTIME_URL.

    Example:

    \b
        leadtime report slowest --repo acme/shop --window 7d
    """
    report = get("/api/reports/slowest-steps", {"repo": repo, "window": window})
    show(output, report, lambda data: _slowest_table(data, window))


def _retried_line(retried: dict) -> str:
    on_main = (
        f", {duration(retried['seconds_lost_on_main'])} of it on main"
        if retried["seconds_lost_on_main"]
        else ""
    )
    return (
        f"retried {retried['kind']} {retried['name']}: {retried['retries']}x, "
        f"{duration(retried['seconds_lost'])} lost{on_main}"
    )


def _breakdown_table(breakdown: dict) -> Table:
    mergeset = breakdown["mergeset"]
    lead = mergeset["lead_time_seconds"]
    status = (
        f"lead time (merge -> production) {duration(lead)}"
        if lead is not None
        else f"not deployed, waiting {duration(mergeset['waiting_seconds'])}"
    )
    flag = " - over budget" if mergeset["over_budget"] else ""
    lines = [
        f"{mergeset['sha'][:10]} {mergeset['title'] or ''}".rstrip(),
        f"{status} (budget {duration(mergeset['budget_seconds'])}){flag}",
        *map(_retried_line, breakdown.get("retried", [])),
        *(
            f"cache of {use['name']}: {'hit' if use['hit'] else 'miss'}, {duration(use['seconds'])}"
            for use in breakdown.get("caches", [])
        ),
    ]
    rows = [
        [
            part["name"][:40]
            + (" (waiting)" if part["waiting"] and "wait" not in part["name"] else ""),
            duration(part["seconds"]),
            f"{bar(part['share_of_budget'])} {share(part['share_of_budget'])}",
        ]
        for part in breakdown["parts"]
    ]
    return Table(["part", "time", "share of budget"], rows, lines)


@report_group.command("mergeset")
@click.argument("sha")
@click.option("--repo", help="Repository, when the sha is ambiguous.")
@output_options
def report_mergeset(sha: str, repo: str | None, output: str) -> None:
    """One mergeset's lead time, split into waiting and critical-path steps, largest first,
    and the steps and tests retried on its sha (failed, then passed) with the time they lost.

    Example:

    \b
        leadtime report mergeset 8f2d6c1
    """
    show(output, get(f"/api/mergesets/{sha}/breakdown", {"repo": repo}), _breakdown_table)


def _oncall_table(rows: list[dict]) -> Table:
    headers = ["week", "service", "team", "pages", "out of hours", "to ack", "to resolve"]
    return Table(
        [*headers, "noisiest"],
        [
            [
                r["week"] + (" !" if r["flagged"] else ""),
                r["service"],
                r["team"] or "-",
                r["pages"],
                r["out_of_hours"],
                duration(r["acknowledge_median_seconds"]),
                duration(r["resolve_median_seconds"]),
                "; ".join(f"{n['title'][:30]} x{n['pages']}" for n in r["noisiest"]),
            ]
            for r in rows
        ],
    )


@report_group.command("oncall")
@click.option("--service")
@click.option("--team")
@click.option("--window", default="28d", show_default=True, help="e.g. 28d, 12w.")
@output_options
def report_oncall(service: str | None, team: str | None, window: str, output: str) -> None:
    """The on-call load per service, team and week; `!` marks weeks over the page limit.

    Example:

    \b
        leadtime report oncall --team payments --window 12w
    """
    rows = get("/api/reports/oncall", {"service": service, "team": team, "window": window})
    show(output, rows, _oncall_table)


def _change_failure_table(rows: list[dict]) -> Table:
    return Table(
        ["service", "deploys", "failed", "rate", "recovery p50", "recovery p90"],
        [
            [
                r["service"],
                r["deploys"],
                r["failed_deploys"],
                share(r["rate"]),
                duration(r["recovery_median_seconds"]),
                duration(r["recovery_p90_seconds"]),
            ]
            for r in rows
        ],
    )


@report_group.command("change-failure")
@click.option("--service")
@click.option("--window", default=DEFAULT_WINDOW, show_default=True)
@output_options
def report_change_failure(service: str | None, window: str, output: str) -> None:
    """Change failure rate and failed deployment recovery time per service.

    Example:

    \b
        leadtime report change-failure --window 90d
    """
    rows = get("/api/reports/change-failure", {"service": service, "window": window})
    show(output, rows, _change_failure_table)


@click.group("budget")
def budget_group() -> None:
    """See and set each repository's lead-time budget (default 15 minutes)."""


def _budgets_table(rows: list[dict]) -> Table:
    return Table(
        ["repository", "budget"],
        [
            [
                r["repository"],
                duration(r["budget_seconds"]) + (" (default)" if r["default"] else ""),
            ]
            for r in rows
        ],
    )


def parse_seconds(value: str, hint: str) -> float:
    """A duration option (`20m`, `1h`) as seconds; a usage error naming `hint` otherwise."""
    from leadtime.server.timeparse import parse_duration

    try:
        return parse_duration(value).total_seconds()
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint=hint) from error


@budget_group.command("set")
@click.argument("repo")
@click.argument("budget")
@output_options
def budget_set(repo: str, budget: str, output: str) -> None:
    """Set REPO's budget to BUDGET (e.g. 20m, 1h; `default` to go back to the default).

    Example:

    \b
        leadtime budget set acme/shop 20m
    """
    seconds = None if budget == "default" else parse_seconds(budget, "BUDGET")
    result: Any = call("POST", "/api/budgets", body={"repository": repo, "budget_seconds": seconds})
    if output == "table":
        suffix = " (the default)" if result["default"] else ""
        click.echo(f"{result['repository']}: budget {duration(result['budget_seconds'])}{suffix}")
    else:
        show(output, result, lambda row: _budgets_table([row]))


@budget_group.command("list")
@output_options
def budget_list(output: str) -> None:
    """Every repository's budget."""
    show(output, get("/api/budgets", {}), _budgets_table)
