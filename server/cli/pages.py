"""`leadtime page`, `leadtime pages` and `leadtime postmortem`: pages and their suspect deploys,
through the server's API (LEADTIME_URL, LEADTIME_TOKEN for writes)."""

from __future__ import annotations

from pathlib import Path

import click

from leadtime.server.cli.client import call, get, request
from leadtime.server.cli.output import Table, output_options, show, when
from leadtime.server.timeparse import format_duration as duration


def _suspect_line(page: dict) -> str:
    suspect = page["suspect"]
    if suspect is None:
        if page["service"] is None:
            return f"unmatched: no service is known as {page['pager_service']!r} (map it)"
        return "no deploy in the lookback window"
    authors = sorted({m["author"] for m in suspect["mergesets"] if m["author"]})
    return (
        f"suspect deploy {suspect['id']} of {suspect['service']} {suspect['sha'][:10]}, "
        f"{duration(page['seconds_after_deploy'])} before"
        + (f"; authors: {', '.join(authors)}" if authors else "")
    )


def _pages_table(rows: list[dict]) -> Table:
    return Table(
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


@click.command("page", context_settings={"ignore_unknown_options": False})
@click.argument("args", nargs=-1, required=True)
@click.option("--urgency", help="e.g. high, low.")
@click.option("--team")
@click.option("--id", "external_id", help="Your id for the page; sent again, it updates.")
@click.option("--url", help="Where the page is described.")
@output_options
def page(
    args: tuple[str, ...],
    urgency: str | None,
    team: str | None,
    external_id: str | None,
    url: str | None,
    output: str,
) -> None:
    """Record a page: `leadtime page SERVICE TITLE`; or close one: `leadtime page resolve ID`.

    Prints the page's id and its suspect deploy.

    Example:

    \b
        leadtime page checkout-api "5xx above 2%" --urgency high
        leadtime page resolve 12
    """
    if args[0] == "resolve":
        if len(args) != 2 or not args[1].isdigit():
            raise click.UsageError(
                "write: leadtime page resolve ID (the number `leadtime pages` shows)"
            )
        result = call("POST", f"/api/pages/{args[1]}/resolve", body={})
        summary = f"page {result['id']} resolved at {when(result['resolved_at'])}"
    else:
        if len(args) != 2:
            raise click.UsageError('write: leadtime page SERVICE "TITLE"')
        body = {"service": args[0], "title": args[1], "urgency": urgency, "team": team}
        body |= {"id": external_id, "url": url}
        result = call("POST", "/api/pages", body={k: v for k, v in body.items() if v is not None})
        summary = f"page {result['id']}: {_suspect_line(result)}"
    if output == "table":
        click.echo(summary)
    else:
        show(output, result, lambda row: _pages_table([row]))


@click.command("pages")
@click.option("--service", help="The pager's or the deploys' name of the service.")
@click.option("--status", type=click.Choice(["triggered", "acknowledged", "resolved"]))
@click.option("--unmatched", is_flag=True, help="Only pages no service matched.")
@click.option("--limit", default=50, show_default=True, type=int)
@output_options
def pages(
    service: str | None, status: str | None, unmatched: bool, limit: int, output: str
) -> None:
    """Pages, newest first, each with its suspect deploy.

    Example:

    \b
        leadtime pages --service shop --status triggered
    """
    params: dict = {"service": service, "status": status, "limit": limit}
    if unmatched:
        params["unmatched"] = "true"
    show(output, get("/api/pages", params), _pages_table)


@click.command("postmortem")
@click.argument("page_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")
def postmortem(page_id: int, output: Path | None) -> None:
    """Write a Markdown postmortem starter for PAGE_ID, its timeline filled in.

    Example:

    \b
        leadtime postmortem 12 -o postmortem-12.md
    """
    response = request("GET", f"/api/pages/{page_id}/postmortem")
    if output:
        output.write_text(response.text)
        click.echo(f"wrote {output}")
    else:
        click.echo(response.text, nl=False)
