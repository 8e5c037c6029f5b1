"""`leadtime page`, `leadtime pages`, `leadtime postmortem` and the page reports
(`leadtime report oncall`, `leadtime report change-failure`), through the server's API."""

from __future__ import annotations

import json
from pathlib import Path

import click

from leadtime.server.client import call, duration_text, get, request, table, when


def _suspect_line(page: dict) -> str:
    suspect = page["suspect"]
    if suspect is None:
        if page["service"] is None:
            return f"unmatched: no service is known as {page['pager_service']!r} (map it)"
        return "no deploy in the lookback window"
    authors = sorted({m["author"] for m in suspect["mergesets"] if m["author"]})
    return (
        f"suspect deploy {suspect['id']} of {suspect['service']} {suspect['sha'][:10]}, "
        f"{duration_text(page['minutes_after_deploy'] * 60)} before"
        + (f"; authors: {', '.join(authors)}" if authors else "")
    )


@click.command("page", context_settings={"ignore_unknown_options": False})
@click.argument("args", nargs=-1, required=True)
@click.option("--urgency", help="e.g. high, low.")
@click.option("--team")
@click.option("--id", "external_id", help="Your id for the page; sent again, it updates.")
@click.option("--url", help="Where the page is described.")
def page(args: tuple[str, ...], urgency, team, external_id, url) -> None:
    """Record a page: `leadtime page SERVICE TITLE`; or close one: `leadtime page resolve ID`.

    Prints the page's id and its suspect deploy.

    Example:

        leadtime page checkout-api "5xx above 2%" --urgency high
        leadtime page resolve 12
    """
    if args[0] == "resolve":
        if len(args) != 2 or not args[1].isdigit():
            raise click.UsageError(
                "write: leadtime page resolve ID (the number `leadtime pages` shows)"
            )
        result = call("POST", f"/api/pages/{args[1]}/resolve", body={})
        click.echo(f"page {result['id']} resolved at {when(result['resolved_at'])}")
        return
    if len(args) != 2:
        raise click.UsageError('write: leadtime page SERVICE "TITLE"')
    body = {"service": args[0], "title": args[1], "urgency": urgency, "team": team}
    body |= {"id": external_id, "url": url}
    result = call("POST", "/api/pages", body={k: v for k, v in body.items() if v is not None})
    click.echo(f"page {result['id']}: {_suspect_line(result)}")


@click.command("pages")
@click.option("--service", help="The pager's or the deploys' name of the service.")
@click.option("--status", type=click.Choice(["triggered", "acknowledged", "resolved"]))
@click.option("--unmatched", is_flag=True, help="Only pages no service matched.")
@click.option("--limit", default=50, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
def pages(service, status, unmatched: bool, limit: int, as_json: bool) -> None:
    """Pages, newest first, each with its suspect deploy.

    Example:

        leadtime pages --service shop --status triggered
    """
    params = {"service": service, "status": status, "limit": limit}
    if unmatched:
        params["unmatched"] = "true"
    rows = get("/api/pages", params)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table(
        ["id", "triggered", "status", "service", "title", "suspect"],
        [
            [
                r["id"],
                when(r["triggered_at"]),
                r["status"],
                r["service"] or f"{r['pager_service']} (unmatched)",
                r["title"][:40],
                _suspect_line(r)[:70],
            ]
            for r in rows
        ],
    )


@click.command("postmortem")
@click.argument("page_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")
def postmortem(page_id: int, output: Path | None) -> None:
    """Write a Markdown postmortem starter for PAGE_ID, its timeline filled in.

    Example:

        leadtime postmortem 12 -o postmortem-12.md
    """
    response = request("GET", f"/api/pages/{page_id}/postmortem")
    if output:
        output.write_text(response.text)
        click.echo(f"wrote {output}")
    else:
        click.echo(response.text, nl=False)


@click.command("oncall")
@click.option("--service")
@click.option("--team")
@click.option("--window", default="28d", show_default=True, help="e.g. 28d, 12w.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
def report_oncall(service, team, window: str, as_json: bool) -> None:
    """The on-call load per service, team and week; `!` marks weeks over the page limit.

    Example:

        leadtime report oncall --team payments --window 12w
    """
    rows = get("/api/reports/oncall", {"service": service, "team": team, "window": window})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table(
        ["week", "service", "team", "pages", "out of hours", "to ack", "to resolve", "noisiest"],
        [
            [
                r["week"] + (" !" if r["flagged"] else ""),
                r["service"],
                r["team"] or "-",
                r["pages"],
                r["out_of_hours"],
                duration_text(r["acknowledge_median_seconds"]),
                duration_text(r["resolve_median_seconds"]),
                "; ".join(f"{n['title'][:30]} x{n['pages']}" for n in r["noisiest"]),
            ]
            for r in rows
        ],
    )


@click.command("change-failure")
@click.option("--service")
@click.option("--window", default="30d", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
def report_change_failure(service, window: str, as_json: bool) -> None:
    """Change failure rate and failed deployment recovery time per service.

    Example:

        leadtime report change-failure --window 90d
    """
    rows = get("/api/reports/change-failure", {"service": service, "window": window})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table(
        ["service", "deploys", "failed", "rate", "recovery p50", "recovery p90"],
        [
            [
                r["service"],
                r["deploys"],
                r["failed_deploys"],
                "-" if r["rate"] is None else f"{r['rate']:.0%}",
                duration_text(r["recovery_median_seconds"]),
                duration_text(r["recovery_p90_seconds"]),
            ]
            for r in rows
        ],
    )
