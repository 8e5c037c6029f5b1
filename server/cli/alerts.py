"""`leadtime alerts`, `leadtime check` and `leadtime target`: regression alerts from the terminal,
through the server's API (LEADTIME_URL, LEADTIME_TOKEN for writes)."""

from __future__ import annotations

import sys

import click

from leadtime.server.cli.client import call, get
from leadtime.server.cli.output import Table, output_options, show, when
from leadtime.server.cli.reports import parse_seconds
from leadtime.server.timeparse import format_duration as duration


def _change(alert: dict) -> str:
    return "-" if alert["ratio"] is None else f"{alert['ratio'] - 1:+.0%}"


def _alerts_table(alerts: list[dict]) -> Table:
    return Table(
        ["id", "status", "fired", "resolved", "current", "baseline", "change", "what"],
        [
            [
                a["id"],
                a["status"],
                when(a["fired_at"]),
                when(a["resolved_at"]),
                duration(a["current_seconds"]),
                duration(a["baseline_seconds"]),
                _change(a),
                a["message"][:90],
            ]
            for a in alerts
        ],
    )


def _print_alerts(alerts: list[dict]) -> None:
    if not alerts:
        click.echo("no alerts")
        return
    show("table", alerts, _alerts_table)
    for a in alerts:
        for n in a["notifications"]:
            if n["last_error"]:
                message = f"alert {a['id']}: {n['channel']} {n['status']} ({n['last_error']})"
                click.echo(f"delivery: {message}", err=True)


@click.group("alerts", invoke_without_command=True)
@click.option("--repo", help="Repository URL, owner/name or name.")
@click.option(
    "--status",
    type=click.Choice(["open", "resolved", "all"]),
    default="all",
    show_default=True,
)
@click.option("--limit", default=20, show_default=True, type=int)
@output_options
@click.pass_context
def alerts_group(
    ctx: click.Context, repo: str | None, status: str, limit: int, output: str
) -> None:
    """Open and recent alerts: lead time or a step that slipped, mergesets stuck without a deploy.

    Example:

    \b
        leadtime alerts --repo acme/shop --status open
    """
    if ctx.invoked_subcommand is not None:
        return
    rows = get("/api/alerts", {"repo": repo, "status": status, "limit": limit})
    if output == "table":
        _print_alerts(rows)
    else:
        show(output, rows, _alerts_table)


def _optional_seconds(value: str | None, hint: str) -> float | None:
    return None if value is None else parse_seconds(value, hint)


def _rule_line(rule: dict) -> str:
    floor = duration(rule["floor_seconds"])
    return (
        f"{rule['repository']}: window {duration(rule['window_seconds'])}, baseline "
        f"{duration(rule['baseline_seconds'])} before it, at least {rule['min_mergesets']} "
        f"mergesets; fires above {rule['fire_ratio']:.2f}x and +{floor}, "
        f"resolves under {rule['resolve_ratio']:.2f}x; target "
        f"{duration(rule['target_seconds'])}; alerts to {', '.join(rule['channels'])}"
    )


def _rule_table(rule: dict) -> Table:
    names = [name for name in rule if name != "channels"]
    return Table([*names, "channels"], [[*(rule[n] for n in names), " ".join(rule["channels"])]])


@alerts_group.command("rule")
@click.argument("repo")
@click.option("--window", help="Current window, e.g. 7d.  [default: 7d]")
@click.option("--baseline", help="History before the window, e.g. 28d.  [default: 28d]")
@click.option("--min-mergesets", type=int, help="Fewer in a window: no verdict.  [default: 5]")
@click.option("--fire", type=float, help="Fire above this x baseline.  [default: 1.25]")
@click.option("--resolve", type=float, help="Resolve under this x baseline.  [default: 1.10]")
@click.option("--floor", help="Smallest increase that fires, e.g. 2m.  [default: 2m]")
@click.option("--slack-webhook", metavar="URL", help="This repository's Slack incoming webhook.")
@click.option("--webhook", metavar="URL", help="This repository's JSON webhook.")
@click.option("--webhook-secret", help="Signs the JSON webhook's deliveries.")
@output_options
def alerts_rule(repo: str, output: str, **options: str | None) -> None:
    """See or change REPO's regression numbers and notifiers (options not given stay as they are).

    Example:

    \b
        leadtime alerts rule acme/shop --fire 1.3 --floor 5m --slack-webhook https://hooks...
    """
    body = {
        "repository": repo,
        "window_seconds": _optional_seconds(options["window"], "--window"),
        "baseline_seconds": _optional_seconds(options["baseline"], "--baseline"),
        "min_mergesets": options["min_mergesets"],
        "fire_ratio": options["fire"],
        "resolve_ratio": options["resolve"],
        "floor_seconds": _optional_seconds(options["floor"], "--floor"),
        "slack_webhook_url": options["slack_webhook"],
        "webhook_url": options["webhook"],
        "webhook_secret": options["webhook_secret"],
    }
    given = {key: value for key, value in body.items() if value is not None}
    if len(given) > 1:
        rule = call("POST", "/api/alert-rules", body=given)
    else:
        rule = get("/api/alert-rules", {"repo": repo})[0]
    if output == "table":
        click.echo(_rule_line(rule))
    else:
        show(output, rule, _rule_table)


@click.command("check")
@output_options
def check(output: str) -> None:
    """Evaluate the regression rule now; exit 1 when an alert is firing (for cron or CI).

    Example:

    \b
        leadtime check || echo "lead time needs attention"
    """
    result = call("POST", "/api/alerts/check")
    if output == "table":
        click.echo(f"fired {result['fired']}, resolved {result['resolved']}; firing now:")
        _print_alerts(result["firing"])
    else:
        show(output, result, lambda data: _alerts_table(data["firing"]))
    sys.exit(1 if result["firing"] else 0)


@click.group("target")
def target_group() -> None:
    """A lead-time target per repository: the regression baseline instead of its history."""


def _targets_table(rows: list[dict]) -> Table:
    return Table(
        ["repository", "target"], [[r["repository"], duration(r["target_seconds"])] for r in rows]
    )


@target_group.command("set")
@click.argument("repo")
@click.argument("target")
@output_options
def target_set(repo: str, target: str, output: str) -> None:
    """Set REPO's lead-time target to TARGET (e.g. 15m); `none` to measure against history.

    Example:

    \b
        leadtime target set acme/shop 15m
    """
    seconds = None if target == "none" else parse_seconds(target, "TARGET")
    result = call("POST", "/api/targets", body={"repository": repo, "target_seconds": seconds})
    if output == "table":
        click.echo(f"{result['repository']}: target {duration(result['target_seconds'])}")
    else:
        show(output, result, lambda row: _targets_table([row]))


@target_group.command("list")
@output_options
def target_list(output: str) -> None:
    """Every repository's target (`-`: its own history is the baseline)."""
    show(output, get("/api/targets", {}), _targets_table)
