"""`leadtime demo`: a real repository, real pipelines and a server showing them."""

from __future__ import annotations

import click


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

    \b
        leadtime demo --port 8080
    """
    from leadtime.server.demo.run import demo as run_demo

    try:
        run_demo(port, serve, keep, lambda line: click.echo(f"leadtime demo: {line}", err=True))
    except OSError as error:
        raise click.ClickException(str(error)) from error
