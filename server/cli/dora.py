"""`leadtime report dora`: DORA's five keys with their tiers, read from `GET /api/dora`."""

from __future__ import annotations

import click

from leadtime.server.cli.client import get
from leadtime.server.cli.output import Table, output_options, show
from leadtime.server.domain.dora_tiers import DEFAULT_WINDOW, NAMES, as_read

TIER_COLOURS = {"elite": "green", "high": "cyan", "medium": "yellow", "low": "red"}


def _dora_table(report: dict) -> Table:
    since = report["measured_since"]
    return Table(
        ["key", "value", "tier", "counts"],
        [
            [
                NAMES.get(key["key"], key["key"]),
                as_read(key["value"], key["unit"]),
                key["tier"] or "-",
                key["counts"] + (f" ({key['note']})" if key["note"] else ""),
            ]
            for key in report["keys"]
        ],
        lines=[
            f"{report['repository'] or 'all repositories'}: {report['deploys']} production "
            f"deploys; tiers: {report['source']}; measured since {since[:10] if since else '-'}"
        ],
        colours=TIER_COLOURS,
    )


@click.command("dora")
@click.option("--repo", help="Repository URL, owner/name or name (all when absent).")
@click.option(
    "--window", default=DEFAULT_WINDOW, show_default=True, help="How far back: 7d, 30d, 12w."
)
@output_options
def report_dora(repo: str | None, window: str, output: str) -> None:
    """DORA's five keys over the production deploys of the window, each with its tier (DORA
    2024 clusters unless the server's LEADTIME_DORA_TIERS says otherwise) and what it counts:
    deployment frequency, change lead time, change failure rate, failed deployment recovery
    time and rework rate (the share of deploys made to fix production: rollbacks, reverts,
    deploys while a page on their service was open). Reads from LEADTIME_URL.

    Example:

    \b
        leadtime report dora --repo acme/shop --window 90d
    """
    show(output, get("/api/dora", {"repo": repo, "window": window}), _dora_table)
