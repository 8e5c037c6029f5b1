"""The server's commands: `leadtime serve`, `db upgrade`, `token`, `mergesets`, `deploys`.

Loaded by the `leadtime` group only when one of them is called, so `leadtime step` never pays for
FastAPI or SQLAlchemy. `mergesets` and `deploys` read from the server named by LEADTIME_URL.
"""

from __future__ import annotations

import json

import click

from leadtime.server.client import call as _call
from leadtime.server.client import duration_text
from leadtime.server.client import get as _get
from leadtime.server.client import table as _table
from leadtime.server.client import when as _when
from leadtime.server.page_cli import report_change_failure, report_oncall


def _settings(**overrides):
    from leadtime.server.settings import Settings

    return Settings(**{key: value for key, value in overrides.items() if value is not None})


@click.command()
@click.option("--host", default=None, help="Address to listen on.  [default: 127.0.0.1]")
@click.option("--port", default=None, type=int, help="Port to listen on.  [default: 8000]")
@click.option(
    "--db",
    "database_url",
    default=None,
    metavar="URL",
    help="SQLAlchemy database URL (LEADTIME_DATABASE_URL).  [default: SQLite in the "
    "user data directory]",
)
def serve(host: str | None, port: int | None, database_url: str | None) -> None:
    """Run the leadtime server: OTLP at /v1/traces, the API at /api, docs at /docs.

    Migrates the database first. On a loopback address writes need no token unless
    LEADTIME_AUTH=on; elsewhere they need one (`leadtime token create`).

    Example:

        leadtime serve --port 8000 --db postgresql+psycopg://leadtime@db/leadtime
    """
    import uvicorn

    from leadtime.server.app import create_app

    settings = _settings(host=host, port=port, database_url=database_url)
    click.echo(
        f"leadtime: serving on http://{settings.host}:{settings.port} "
        f"(writes {'need a token' if settings.writes_need_token else 'open'}; "
        f"database {settings.database_url.split('://', 1)[0]})",
        err=True,
    )
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


def _session(database_url: str | None):
    """A unit of work on the database (migrated first), committed when the command's block ends."""
    from leadtime.server import db

    settings = _settings(database_url=database_url)
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    return db.unit_of_work(db.session_factory(engine))


db_option = click.option(
    "--db",
    "database_url",
    default=None,
    metavar="URL",
    help="Database URL (LEADTIME_DATABASE_URL).",
)


@click.group("db")
def db_group() -> None:
    """Manage the database schema."""


@db_group.command("upgrade")
@db_option
def db_upgrade(database_url: str | None) -> None:
    """Apply every pending migration (the server also does this on start)."""
    from leadtime.server import db

    settings = _settings(database_url=database_url)
    db.upgrade(db.make_engine(settings.database_url))
    click.echo("database is up to date")


@click.group("token")
def token_group() -> None:
    """Create, list and revoke API tokens for writes (and reads with LEADTIME_READ_AUTH=on)."""


@token_group.command("create")
@click.argument("name")
@db_option
def token_create(name: str, database_url: str | None) -> None:
    """Create a token named NAME and print it once; only its hash is stored.

    Example:

        export LEADTIME_TOKEN=$(leadtime token create ci)
    """
    from leadtime.server import auth

    with _session(database_url) as session:
        row, token = auth.create_token(session, name)
    click.echo(f"created token {row.id} ({name}); it is shown only now:", err=True)
    click.echo(token)


@token_group.command("list")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def token_list(database_url: str | None, as_json: bool) -> None:
    """List tokens (never the tokens themselves)."""
    from leadtime.server import store

    with _session(database_url) as session:
        rows = [
            {
                "id": row.id,
                "name": row.name,
                "created_at": row.created_at.isoformat(),
                "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
            }
            for row in store.tokens(session)
        ]
    if as_json:
        click.echo(json.dumps(rows))
        return
    _table(
        ["id", "name", "created", "revoked"],
        [[r["id"], r["name"], r["created_at"][:19], (r["revoked_at"] or "")[:19]] for r in rows],
    )


@token_group.command("revoke")
@click.argument("token_id", type=int)
@db_option
def token_revoke(token_id: int, database_url: str | None) -> None:
    """Revoke the token with id TOKEN_ID; requests with it are refused from now on."""
    from leadtime.server import auth
    from leadtime.server.errors import NotFound

    with _session(database_url) as session:
        try:
            row = auth.revoke_token(session, token_id)
        except NotFound as error:
            raise click.ClickException(error.message) from error
    click.echo(f"revoked token {row.id} ({row.name})")


@click.command()
@click.option("--repo", help="Repository URL, owner/name or name.")
@click.option("--since", help="ISO 8601: merged at or after.")
@click.option("--limit", default=50, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
def mergesets(repo: str | None, since: str | None, limit: int, as_json: bool) -> None:
    """Mergesets with their lead time (or how long they have waited), newest first.

    Flags: B batched deploy, ! over budget. Reads from LEADTIME_URL.

    Example:

        leadtime mergesets --repo acme/shop --since 2026-11-01
    """
    rows = _get("/api/mergesets", {"repo": repo, "since": since, "limit": limit})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    _table(
        ["sha", "merged", "deployed", "lead time", "waiting", "flags", "title"],
        [
            [
                r["sha"][:10],
                _when(r["merged_at"]),
                _when(r["deployed_at"]),
                duration_text(r["lead_time_seconds"]),
                duration_text(r["waiting_seconds"]),
                ("B" if r["batched"] else "") + ("!" if r["over_budget"] else ""),
                (r["pr_title"] or r["title"] or "")[:50],
            ]
            for r in rows
        ],
    )


@click.command()
@click.option("--service")
@click.option("--environment")
@click.option("--since", help="ISO 8601: finished at or after.")
@click.option("--limit", default=50, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
def deploys(service, environment, since, limit: int, as_json: bool) -> None:
    """Deploys, newest first, with the mergesets each shipped. Reads from LEADTIME_URL.

    Example:

        leadtime deploys --environment production
    """
    rows = _get(
        "/api/deploys",
        {"service": service, "environment": environment, "since": since, "limit": limit},
    )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    _table(
        ["id", "service", "environment", "sha", "status", "finished", "mergesets"],
        [
            [
                r["id"],
                r["service"],
                r["environment"],
                r["sha"][:10],
                r["status"],
                _when(r["finished_at"]),
                f"{len(r['mergesets'])}{' (batched)' if r['batched'] else ''}",
            ]
            for r in rows
        ],
    )


def bar(share: float, width: int = 20) -> str:
    """Share of the budget as a bar: `width` characters are the whole budget."""
    filled = round(min(max(share, 0.0), 1.0) * width)
    return "#" * filled + "." * (width - filled) + (">" if share > 1 else " ")


@click.group("report")
def report_group() -> None:
    """Where the budget goes (slowest steps, one mergeset's lead time split up) and what pages
    say (on-call load, change failure rate)."""


report_group.add_command(report_oncall)
report_group.add_command(report_change_failure)


@report_group.command("slowest")
@click.option("--repo", required=True, help="Repository URL, owner/name or name.")
@click.option("--window", default="7d", show_default=True, help="e.g. 24h, 7d, 4w.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
def report_slowest(repo: str, window: str, as_json: bool) -> None:
    """Steps by their time on the critical path, with bars for their share of the budget.

    Flags: SLOW (p50 on the critical path at least 20% of the budget), BREAKER (p50 over the
    whole budget). Reads from LEADTIME_URL.

    Example:

        leadtime report slowest --repo acme/shop --window 7d
    """
    report = _get("/api/reports/slowest-steps", {"repo": repo, "window": window})
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    budget = report["budget_seconds"]
    click.echo(
        f"{report['repository']}: {report['runs']} runs, budget {duration_text(budget)}, "
        f"window {window}"
    )
    _table(
        [
            "step",
            "runs",
            "p50",
            "p95",
            "max",
            "fail",
            "on path",
            "p50 share of budget",
            "trend",
            "flags",
        ],
        [
            [
                step["name"][:40],
                step["runs"],
                duration_text(step["p50"]),
                duration_text(step["p95"]),
                duration_text(step["max"]),
                f"{step['failure_rate']:.0%}",
                f"{step['critical_share']:.0%}",
                f"{bar(step['share_of_budget'])} {step['share_of_budget']:.0%}",
                "-" if step["trend"] is None else f"{step['trend']:+.0%}",
                " ".join(
                    flag
                    for flag, on in (("BREAKER", step["budget_breaker"]), ("SLOW", step["slow"]))
                    if on
                ),
            ]
            for step in report["steps"]
        ],
    )


@report_group.command("mergeset")
@click.argument("sha")
@click.option("--repo", help="Repository, when the sha is ambiguous.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
def report_mergeset(sha: str, repo: str | None, as_json: bool) -> None:
    """One mergeset's lead time, split into waiting and critical-path steps, largest first.

    Example:

        leadtime report mergeset 8f2d6c1
    """
    breakdown = _get(f"/api/mergesets/{sha}/breakdown", {"repo": repo})
    if as_json:
        click.echo(json.dumps(breakdown, indent=2))
        return
    mergeset = breakdown["mergeset"]
    lead = mergeset["lead_time_seconds"]
    status = (
        f"lead time {duration_text(lead)}"
        if lead is not None
        else (f"not deployed, waiting {duration_text(mergeset['waiting_seconds'])}")
    )
    flag = " - over budget" if mergeset["over_budget"] else ""
    click.echo(f"{mergeset['sha'][:10]} {mergeset['title'] or ''}".rstrip())
    click.echo(f"{status} (budget {duration_text(mergeset['budget_seconds'])}){flag}")
    _table(
        ["part", "time", "share of budget"],
        [
            [
                part["name"][:40]
                + (" (waiting)" if part["waiting"] and "wait" not in part["name"] else ""),
                duration_text(part["seconds"]),
                f"{bar(part['share_of_budget'])} {part['share_of_budget']:.0%}",
            ]
            for part in breakdown["parts"]
        ],
    )


@click.group("budget")
def budget_group() -> None:
    """See and set each repository's lead-time budget (default 15 minutes)."""


@budget_group.command("set")
@click.argument("repo")
@click.argument("budget")
def budget_set(repo: str, budget: str) -> None:
    """Set REPO's budget to BUDGET (e.g. 20m, 1h; `default` to go back to the default).

    Example:

        leadtime budget set acme/shop 20m
    """
    from leadtime.server.timeparse import parse_duration

    seconds = None
    if budget != "default":
        try:
            seconds = parse_duration(budget).total_seconds()
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="BUDGET") from error
    result = _call("POST", "/api/budgets", body={"repository": repo, "budget_seconds": seconds})
    suffix = " (the default)" if result["default"] else ""
    click.echo(f"{result['repository']}: budget {duration_text(result['budget_seconds'])}{suffix}")


@budget_group.command("list")
def budget_list() -> None:
    """Every repository's budget."""
    rows = _get("/api/budgets", {})
    _table(
        ["repository", "budget"],
        [
            [
                row["repository"],
                duration_text(row["budget_seconds"]) + (" (default)" if row["default"] else ""),
            ]
            for row in rows
        ],
    )


@click.command()
@click.option(
    "--port", type=int, default=None, help="Port to serve on.  [default: 8000, or a free one]"
)
@click.option(
    "--serve/--no-serve",
    default=True,
    show_default=True,
    help="Keep serving the dashboard until interrupted, or build the data and exit.",
)
@click.option("--keep", is_flag=True, help="Keep the repository and the database afterwards.")
def demo(port: int | None, serve: bool, keep: bool) -> None:
    """See leadtime work in a minute: a real git repository with five weeks of merges and squash
    merges by several authors, a real pipeline per mergeset through `leadtime step` and
    `leadtime deploy` (short commands, their spans moved to when the merge happened), a step
    that slows down, failed and batched deploys, pages after deploys, and a server on SQLite
    showing it all. Nothing outside a temporary directory is touched.

    Example:

        leadtime demo --port 8080
    """
    from leadtime.server.demo.run import demo as run_demo

    try:
        run_demo(port, serve, keep, lambda line: click.echo(f"leadtime demo: {line}", err=True))
    except OSError as error:
        raise click.ClickException(str(error)) from error
