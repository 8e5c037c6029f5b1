"""`leadtime alerts`, `leadtime check` and `leadtime target`: regression alerts from the terminal.
Like the reports, they talk to the server named by LEADTIME_URL (LEADTIME_TOKEN for writes)."""

from __future__ import annotations

import json
import sys

import click

from leadtime.server.client import call as _call
from leadtime.server.client import duration_text
from leadtime.server.client import get as _get
from leadtime.server.client import table as _table
from leadtime.server.client import when as _when


def _change(alert: dict) -> str:
    return "-" if alert["ratio"] is None else f"{alert['ratio'] - 1:+.0%}"


def _print_alerts(alerts: list[dict]) -> None:
    if not alerts:
        click.echo("no alerts")
        return
    _table(
        ["id", "status", "fired", "resolved", "current", "baseline", "change", "what"],
        [
            [
                a["id"],
                a["status"],
                _when(a["fired_at"]),
                _when(a["resolved_at"]),
                duration_text(a["current_seconds"]),
                duration_text(a["baseline_seconds"]),
                _change(a),
                a["message"][:90],
            ]
            for a in alerts
        ],
    )
    failing = [
        f"alert {a['id']}: {n['channel']} {n['status']} ({n['last_error']})"
        for a in alerts
        for n in a["notifications"]
        if n["last_error"]
    ]
    for line in failing:
        click.echo(f"delivery: {line}", err=True)


@click.group("alerts", invoke_without_command=True)
@click.option("--repo", help="Repository URL, owner/name or name.")
@click.option(
    "--status",
    type=click.Choice(["open", "resolved", "all"]),
    default="all",
    show_default=True,
)
@click.option("--limit", default=20, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
@click.pass_context
def alerts_group(ctx, repo: str | None, status: str, limit: int, as_json: bool) -> None:
    """Open and recent alerts: lead time or a step that slipped, mergesets stuck without a deploy.

    Example:

        leadtime alerts --repo acme/shop --status open
    """
    if ctx.invoked_subcommand is not None:
        return
    rows = _get("/api/alerts", {"repo": repo, "status": status, "limit": limit})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        _print_alerts(rows)


def _seconds(value: str | None, hint: str) -> float | None:
    from leadtime.server.timeparse import parse_duration

    if value is None:
        return None
    try:
        return parse_duration(value).total_seconds()
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint=hint) from error


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
def alerts_rule(repo: str, **options) -> None:
    """See or change REPO's regression numbers and notifiers (options not given stay as they are).

    Example:

        leadtime alerts rule acme/shop --fire 1.3 --floor 5m --slack-webhook https://hooks...
    """
    body = {
        "repository": repo,
        "window_seconds": _seconds(options["window"], "--window"),
        "baseline_seconds": _seconds(options["baseline"], "--baseline"),
        "min_mergesets": options["min_mergesets"],
        "fire_ratio": options["fire"],
        "resolve_ratio": options["resolve"],
        "floor_seconds": _seconds(options["floor"], "--floor"),
        "slack_webhook_url": options["slack_webhook"],
        "webhook_url": options["webhook"],
        "webhook_secret": options["webhook_secret"],
    }
    given = {key: value for key, value in body.items() if value is not None}
    if len(given) > 1:
        rule = _call("POST", "/api/alert-rules", body=given)
    else:
        rule = _get("/api/alert-rules", {"repo": repo})[0]
    floor = duration_text(rule["floor_seconds"])
    click.echo(
        f"{rule['repository']}: window {duration_text(rule['window_seconds'])}, baseline "
        f"{duration_text(rule['baseline_seconds'])} before it, at least {rule['min_mergesets']} "
        f"mergesets; fires above {rule['fire_ratio']:.2f}x and +{floor}, "
        f"resolves under {rule['resolve_ratio']:.2f}x; target "
        f"{duration_text(rule['target_seconds'])}; alerts to {', '.join(rule['channels'])}"
    )


@click.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
def check(as_json: bool) -> None:
    """Evaluate the regression rule now; exit 1 when an alert is firing (for cron or CI).

    Example:

        leadtime check || echo "lead time needs attention"
    """
    result = _call("POST", "/api/alerts/check")
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(f"fired {result['fired']}, resolved {result['resolved']}; firing now:")
        _print_alerts(result["firing"])
    sys.exit(1 if result["firing"] else 0)


@click.group("target")
def target_group() -> None:
    """A lead-time target per repository: the regression baseline instead of its history."""


@target_group.command("set")
@click.argument("repo")
@click.argument("target")
def target_set(repo: str, target: str) -> None:
    """Set REPO's lead-time target to TARGET (e.g. 15m); `none` to measure against history.

    Example:

        leadtime target set acme/shop 15m
    """
    seconds = None if target == "none" else _seconds(target, "TARGET")
    result = _call("POST", "/api/targets", body={"repository": repo, "target_seconds": seconds})
    click.echo(f"{result['repository']}: target {duration_text(result['target_seconds'])}")


@target_group.command("list")
def target_list() -> None:
    """Every repository's target (`-`: its own history is the baseline)."""
    rows = _get("/api/targets", {})
    _table(
        ["repository", "target"],
        [[row["repository"], duration_text(row["target_seconds"])] for row in rows],
    )
