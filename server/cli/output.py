"""How every server command prints what it read: an aligned table for people, or `--json`
(the API's JSON, indented), `--nl` (one JSON object a line) and `--csv` (the table's columns), as
sqlite-utils does; `--format` names any of them. One decorator adds the options, `show` prints."""

from __future__ import annotations

import csv
import functools
import json
import os
import shutil
import sys
import textwrap
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
    colours: dict[str, str] = field(default_factory=dict)  # cell text -> colour, on a terminal


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
        width = terminal_width()
        for line in made.lines:
            click.echo("\n".join(textwrap.wrap(line, width)) if width else line)
        print_table(made.headers, made.rows, made.colours)


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], colours: dict[str, str] | None = None
) -> None:
    """Aligned columns, the widest cut short (`…`) until the table fits the terminal; a cell
    whose text `colours` names is coloured on a terminal (never with NO_COLOR, or when piped)."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
    widths = fitted(widths, terminal_width())
    colour = colours if colours and colour_wanted() else {}
    for index, row in enumerate([list(headers), ["-" * w for w in widths], *cells]):
        shown = [cut(cell, width).ljust(width) for cell, width in zip(row, widths, strict=True)]
        if index > 1:
            shown = [
                click.style(text, fg=colour[cell]) if cell in colour else text
                for text, cell in zip(shown, row, strict=True)
            ]
        click.echo("  ".join(shown).rstrip())


def terminal_width() -> int | None:
    """The terminal's columns (COLUMNS where set); None when printing to a pipe or a file,
    which get every character."""
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def colour_wanted() -> bool:
    """Colour on a terminal only, and never when NO_COLOR is set (no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


MIN_WIDTH = 8  # a column is never cut narrower than this


def fitted(widths: list[int], limit: int | None) -> list[int]:
    """Column widths narrowed, widest first, until they and their gaps fit `limit`."""
    widths = list(widths)
    while limit is not None and sum(widths) + 2 * (len(widths) - 1) > limit:
        widest = max(range(len(widths)), key=lambda i: widths[i])
        if widths[widest] <= MIN_WIDTH:
            break  # as narrow as it reads; the terminal wraps the rest
        widths[widest] -= 1
    return widths


def cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def when(value: str | None) -> str:
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M") if value else "-"


def share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"
