"""`leadtime deploys`: deploys with what they shipped, and the deploy rules that name deploys
where a CI's telemetry marks none (`deploys rule`, `deploys rules`), through the server's API
(LEADTIME_URL, LEADTIME_TOKEN)."""

from __future__ import annotations

import click

from leadtime.server.cli.client import call, get, request
from leadtime.server.cli.output import Table, output_options, show, when


def _deploys_table(rows: list[dict]) -> Table:
    return Table(
        ["id", "service", "environment", "sha", "status", "finished", "mergesets"],
        [
            [
                r["id"],
                r["service"],
                r["environment"],
                r["sha"][:10],
                r["status"],
                when(r["finished_at"]),
                f"{len(r['mergesets'])}{' (batched)' if r['batched'] else ''}"
                + (" history incomplete" if r["history"] == "incomplete" else "")
                + (f" {r['kind']}" if r["kind"] in ("rollback", "redeploy") else "")
                + (f" rolled back by {r['rolled_back_by']}" if r["rolled_back_by"] else ""),
            ]
            for r in rows
        ],
    )


@click.group("deploys", invoke_without_command=True)
@click.option("--service")
@click.option("--environment")
@click.option("--since", help="ISO 8601: finished at or after.")
@click.option("--limit", default=50, show_default=True, type=int)
@output_options
@click.pass_context
def deploys_group(
    ctx: click.Context,
    service: str | None,
    environment: str | None,
    since: str | None,
    limit: int,
    output: str,
) -> None:
    """Deploys, newest first, with the mergesets each shipped; `deploys rule` says which jobs
    deploy where when your CI's telemetry marks no deploy. Reads from LEADTIME_URL.

    Example:

    \b
        leadtime deploys --environment production
        leadtime deploys rule acme/shop --job 'deploy-prod*' --environment production
    """
    if ctx.invoked_subcommand is not None:
        return
    params = {"service": service, "environment": environment, "since": since, "limit": limit}
    show(output, get("/api/deploys", params), _deploys_table)


def _rules_table(rows: list[dict]) -> Table:
    return Table(
        ["repository", "job", "environment"],
        [[r["repository"], r["job"], r["environment"]] for r in rows],
    )


@deploys_group.command("rule")
@click.argument("repo")
@click.option("--job", required=True, help="A job-name glob, shell-style; letter case ignored.")
@click.option("--environment", help="The environment those jobs deploy to.")
@click.option("--delete", is_flag=True, help="Remove the rule for --job instead.")
@output_options
def deploy_rule(repo: str, job: str, environment: str | None, delete: bool, output: str) -> None:
    """Say that REPO's spans whose name or job name fits --job deploy to --environment.

    For CI telemetry that marks no deploy (the collector's GitHub receiver, otel-cicd-action, a
    Jenkins stage): the innermost span that fits is the deploy, of its run's revision. It
    applies to spans that arrive after it. Needs an admin token.

    Example:

    \b
        leadtime deploys rule acme/shop --job 'deploy-prod*' --environment production
        leadtime deploys rule acme/shop --job 'deploy-prod*' --delete
    """
    if delete:
        request("DELETE", "/api/deploy-rules", params={"repo": repo, "job": job})
        click.echo(f"{repo}: no deploy rule for {job!r} any more")
        return
    if not environment:
        raise click.UsageError("give --environment (or --delete)")
    body = {"repository": repo, "job": job, "environment": environment}
    rule = call("PUT", "/api/deploy-rules", body=body)
    if output == "table":
        click.echo(
            f"{rule['repository']}: jobs fitting {rule['job']!r} deploy to {rule['environment']}"
        )
    else:
        show(output, rule, lambda row: _rules_table([row]))


@deploys_group.command("rules")
@click.option("--repo", help="Repository URL, owner/name or name.")
@output_options
def deploy_rules(repo: str | None, output: str) -> None:
    """The deploy rules, per repository, oldest first (the first that fits wins).

    Example:

    \b
        leadtime deploys rules --repo acme/shop
    """
    show(output, get("/api/deploy-rules", {"repo": repo}), _rules_table)
