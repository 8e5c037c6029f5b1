"""`leadtime people`: who is who. `people import FILE` sends a people.yaml or teams.yaml (or
one file with both sections) to the server, which replaces what it held; `people list` and
`people unmapped` show what it knows (LEADTIME_URL, LEADTIME_TOKEN for writes)."""

from __future__ import annotations

from pathlib import Path

import click

from leadtime.server.cli.client import call
from leadtime.server.cli.output import Table, output_options, show

SECTIONS = ("people", "teams")


def read_mapping(path: Path) -> dict:
    """A YAML (or JSON) file with `people:` and/or `teams:`; a clear error otherwise."""
    import yaml

    try:
        content = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise click.ClickException(f"{path}: {error}") from error
    if not isinstance(content, dict) or not set(content) & set(SECTIONS):
        raise click.ClickException(f"{path}: expected a `people:` list, a `teams:` list or both")
    unknown = sorted(set(content) - set(SECTIONS))
    if unknown:
        raise click.ClickException(f"{path}: unknown section {', '.join(unknown)}")
    return content


@click.group("people")
def people_group() -> None:
    """People and teams: who made a change, who owns what, and where to tell them."""


@people_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_people(path: Path) -> None:
    """Replace the server's people and/or teams with PATH's (people first: teams name them).

    \b
    people:
      - name: Ada Lovelace
        emails: [ada@example.com, ada@users.noreply.github.com]
        github: ada
        slack: U012ABCDEF
    teams:
      - name: payments
        members: [Ada Lovelace]
        repositories: [acme/shop]
        services: [shop]
        slack_webhook_url: https://hooks.slack.com/services/...
        time_zone: Europe/Berlin
        working_hours: "09:00-17:00"
        feedback: {waiting: false}
    """
    content = read_mapping(path)
    answer: dict = {}
    for section in SECTIONS:
        if section in content:
            answer = call("PUT", f"/api/{section}", body={section: content[section] or []})
    click.echo(
        f"{len(answer['people'])} people, {len(answer['teams'])} teams; "
        f"{len(answer['unmapped'])} authors unmapped"
    )


@people_group.command("list")
@output_options
def list_people(output: str) -> None:
    """Everyone the server knows, with their identities and teams."""
    show(output, call("GET", "/api/people")["people"], _people_table)


@people_group.command("unmapped")
@output_options
def unmapped(output: str) -> None:
    """Authors of mergesets that no person holds, most mergesets first, and where they appear."""
    show(output, call("GET", "/api/people")["unmapped"], _unmapped_table)


def _people_table(rows: list[dict]) -> Table:
    return Table(
        ["name", "teams", "identities", "slack", "source"],
        [
            [
                r["name"],
                ", ".join(r["teams"]) or "-",
                ", ".join(f"{i['kind']}:{i['value']}" for i in r["identities"]),
                r["slack"] or "-",
                r["source"],
            ]
            for r in rows
        ],
    )


def _unmapped_table(rows: list[dict]) -> Table:
    return Table(
        ["author", "mergesets", "repositories"],
        [[r["author"], r["mergesets"], ", ".join(r["repositories"])] for r in rows],
    )
