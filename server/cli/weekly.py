"""`leadtime report weekly --team T`: a team's weekly review, as its digest says it."""

from __future__ import annotations

import json

import click

from leadtime.server.cli.client import get
from leadtime.server.domain.digest_text import render


@click.command("weekly")
@click.option("--team", required=True, help="The team's name, as `leadtime people import` set it.")
@click.option("--json", "as_json", is_flag=True, help="The API's JSON instead of words.")
def report_weekly(team: str, as_json: bool) -> None:
    """The last 7 days of a team's repositories and services: lead time against the four weeks
    before, the slowest steps on the critical path, change failure and recovery, pages (out of
    hours, to acknowledge, to resolve, the noisiest), pages with no suspect confirmed, and
    unmapped authors. The numbers of the digest the team receives each Monday.

    \b
        leadtime report weekly --team payments
    """
    report = get("/api/reports/weekly", {"team": team})
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"Weekly review of team {report['team']}, 7 days to {report['week_ending'][:16]}")
    for line in render(report) or ["Nothing happened in these 7 days."]:
        click.echo(line)
