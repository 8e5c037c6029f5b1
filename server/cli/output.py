"""How every server command prints what it read: an aligned table for people, or `--json`
(the API's JSON, indented), `--nl` (one JSON object a line) and `--csv` (the table's columns), as
sqlite-utils does; `--format` names any of them. One decorator adds the options, `show` prints."""

from __future__ import annotations

import csv
import functools
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import click

FORMATS = ("table", "json", "nl", "csv")


@dataclass
class Table:
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # said before the table, for people only


def output_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Add --json, --nl, --csv and --format; the command receives one `output` argument."""

    @functools.wraps(function)
    def run(*args: Any, as_json: bool, as_nl: bool, as_csv: bool, output: str, **kwargs: Any):
        chosen = "json" if as_json else "nl" if as_nl else "csv" if as_csv else output
        return function(*args, output=chosen, **kwargs)

    for option in (
        click.option(
            "--format",
            "output",
            type=click.Choice(FORMATS),
            default="table",
            show_default=True,
            help="How to print it.",
        ),
        click.option("--csv", "as_csv", is_flag=True, help="Print the table as CSV."),
        click.option("--nl", "as_nl", is_flag=True, help="Print one JSON object a line."),
        click.option("--json", "as_json", is_flag=True, help="Print the API's JSON."),
    ):
        run = option(run)
    return run


def show(output: str, data: Any, table: Callable[[Any], Table]) -> None:
    """Print `data` (the API's JSON) as `output` asks; `table` makes the people's view of it."""
    if output == "json":
        click.echo(json.dumps(data, indent=2))
    elif output == "nl":
        for item in data if isinstance(data, list) else [data]:
            click.echo(json.dumps(item))
    elif output == "csv":
        made = table(data)
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerows([made.headers, *made.rows])
    else:
        made = table(data)
        for line in made.lines:
            click.echo(line)
        print_table(made.headers, made.rows)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    for row in [list(headers), ["-" * w for w in widths], *cells]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def when(value: str | None) -> str:
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M") if value else "-"


def share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"
