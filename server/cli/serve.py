"""`leadtime serve`, `leadtime db upgrade` and `leadtime token`: the server and its database."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import click

from leadtime.server.cli.output import Table, output_options, show


def _settings(**overrides: Any):
    """The settings, or exit 2 naming each bad or misspelled LEADTIME_ variable."""
    import os

    from pydantic import ValidationError

    from leadtime.server.settings import Settings, misspelled_variables

    problems = misspelled_variables(os.environ)
    try:
        settings = Settings(**{key: value for key, value in overrides.items() if value is not None})
    except ValidationError as error:
        problems += [_setting_problem(item) for item in error.errors()]
    else:
        problems += _domain_problems(settings)
    if problems:
        for problem in problems:
            click.echo(f"leadtime: {problem}", err=True)
        raise SystemExit(2)
    return settings


def _domain_problems(settings: Any) -> list[str]:
    """Settings only the domain can judge (the DORA tier bounds)."""
    from leadtime.server.domain.dora_tiers import parse_tiers

    try:
        parse_tiers(settings.dora_tiers)
    except ValueError as error:
        return [f"LEADTIME_DORA_TIERS: {error}"]
    return []


def _writes(settings: Any) -> str:
    if settings.auth == "off":
        return "open to anyone (LEADTIME_AUTH=off)"
    if settings.writes_open_to_loopback:
        return "open to clients on this machine that connect directly, else need a token"
    return "need a token"


def _setting_problem(item: Any) -> str:
    """One pydantic error as a person reads it: the variable, its value, what is wrong."""
    name = "LEADTIME_" + "_".join(str(part) for part in item["loc"]).upper()
    message = str(item["msg"]).removeprefix("Value error, ")
    if message.startswith("LEADTIME_"):
        return message  # already names the variable (settings.switch)
    return f"{name}={item.get('input')!r}: {message}" if item["loc"] else message


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
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes sharing the port. The database is migrated once before they start.",
)
def serve(host: str | None, port: int | None, database_url: str | None, workers: int) -> None:
    """Run the leadtime server: OTLP at /v1/traces, the API at /api, docs at /docs.

    Migrates the database first. On a loopback address writes need no token unless
    LEADTIME_AUTH=on; elsewhere they need one (`leadtime token create`). With --workers N,
    N processes serve the port (PostgreSQL; SQLite takes one writer at a time).

    Example:

    \b
        leadtime serve --port 8000 --workers 2 --db postgresql+psycopg://leadtime@db/leadtime
    """
    import uvicorn

    from leadtime.server.connections import protocol_with_header_timeout

    settings = _settings(host=host, port=port, database_url=database_url)
    click.echo(
        f"leadtime: serving on http://{settings.host}:{settings.port} "
        f"(writes {_writes(settings)}; reads "
        f"{'need a token' if settings.reads_need_token else 'open'}; "
        f"database {settings.database_url.split('://', 1)[0]}"
        f"{f'; {workers} workers' if workers > 1 else ''})",
        err=True,
    )
    common: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": "warning",
        "timeout_keep_alive": 5,  # an idle connection between requests is closed after 5 s
    }
    if workers > 1:
        _migrate_then_hand_over(settings)
        uvicorn.run(
            "leadtime.server.app:create_app",
            factory=True,
            workers=workers,
            http="leadtime.server.connections:SettingsHeaderTimeoutProtocol",
            **common,
        )
        return
    from leadtime.server.app import create_app

    uvicorn.run(
        create_app(settings),
        http=protocol_with_header_timeout(settings.header_timeout_seconds),
        **common,
    )


def _migrate_then_hand_over(settings: Any) -> None:
    """Migrate once here, so workers never race in Alembic on a new database, and give the
    workers this command's settings through their environment (they read it afresh)."""
    import os

    from leadtime.server import db

    if settings.migrate_on_start:
        engine = db.make_engine(settings.database_url)
        db.upgrade(engine)
        engine.dispose()
    os.environ.update(
        LEADTIME_HOST=settings.host,
        LEADTIME_PORT=str(settings.port),
        LEADTIME_DATABASE_URL=settings.database_url,
        LEADTIME_MIGRATE_ON_START="false",
    )


def _unit_of_work(database_url: str | None) -> AbstractContextManager:
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


@db_group.command("prune")
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=None,
    help="Keep raw steps of runs started in the last DAYS days (LEADTIME_STEP_RETENTION_DAYS; "
    "default 90; 0 keeps everything).",
)
@db_option
def db_prune(days: int | None, database_url: str | None) -> None:
    """Remove raw step spans past the retention now (the server does it every hour).

    Each run keeps its step summary (the slowest-steps report and regression alerts read it),
    and every mergeset, deploy and page stays; what needs each span (a pipeline's waterfall, a
    mergeset's breakdown, flaky steps, tests, caches) then covers the retention only. On SQLite
    the file keeps its size and reuses the freed pages.

    \b
    Example:
      leadtime db prune --days 30 --db sqlite:///leadtime.db
    """
    from datetime import UTC, datetime

    from leadtime.server import db
    from leadtime.server.housekeeping import prune

    settings = _settings(database_url=database_url)
    engine = db.make_engine(settings.database_url)
    db.upgrade(engine)
    keep = settings.step_retention_days if days is None else days
    if keep == 0:
        click.echo("retention is 0 days: every step is kept")
        return
    runs, steps = prune(db.session_factory(engine), datetime.now(UTC), keep)
    click.echo(f"removed {steps} steps of {runs} runs started over {keep} days ago")


@click.group("token")
def token_group() -> None:
    """Create, list and revoke API tokens, each with its scopes (ingest, read, admin)."""


@token_group.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    metavar="SCOPE",
    help="ingest (spans, merges, deploys, pages, webhooks), read (API and dashboard) or admin "
    "(alert rules, notifier targets, budgets, mappings); repeat or comma-separate.  "
    "[default: ingest]",
)
@db_option
def token_create(name: str, scopes: tuple[str, ...], database_url: str | None) -> None:
    """Create a token named NAME and print it once; only its hash is stored.

    Example:

    \b
        export LEADTIME_TOKEN=$(leadtime token create ci)
        leadtime token create dashboard --scope read
        leadtime token create ops --scope read,admin
    """
    from leadtime.server import auth
    from leadtime.server.errors import BadPayload

    try:
        chosen = auth.parse_scopes(scopes)
    except BadPayload as error:
        raise click.BadParameter(error.message, param_hint="--scope") from error
    with _unit_of_work(database_url) as session:
        row, token = auth.create_token(session, name, chosen)
    click.echo(
        f"created token {row.id} ({name}, scope {','.join(chosen)}); it is shown only now:",
        err=True,
    )
    click.echo(token)


def _tokens_table(rows: list[dict]) -> Table:
    return Table(
        ["id", "name", "scopes", "created", "revoked"],
        [
            [r["id"], r["name"], r["scopes"], r["created_at"][:19], (r["revoked_at"] or "")[:19]]
            for r in rows
        ],
    )


@token_group.command("list")
@db_option
@output_options
def token_list(database_url: str | None, output: str) -> None:
    """List tokens (never the tokens themselves)."""
    from leadtime.server import store

    with _unit_of_work(database_url) as session:
        rows = [
            {
                "id": row.id,
                "name": row.name,
                "scopes": row.scopes,
                "created_at": row.created_at.isoformat(),
                "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
            }
            for row in store.tokens(session)
        ]
    show(output, rows, _tokens_table)


@token_group.command("revoke")
@click.argument("token_id", type=int)
@db_option
def token_revoke(token_id: int, database_url: str | None) -> None:
    """Revoke the token with id TOKEN_ID; requests with it are refused from now on."""
    from leadtime.server import auth
    from leadtime.server.errors import NotFound

    with _unit_of_work(database_url) as session:
        try:
            row = auth.revoke_token(session, token_id)
        except NotFound as error:
            raise click.ClickException(error.message) from error
    click.echo(f"revoked token {row.id} ({row.name})")
