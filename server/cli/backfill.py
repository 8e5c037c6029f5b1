"""`leadtime backfill`: import a repository's real past from a checkout (its main branch's
first-parent mergesets, deploys from tags or a deploy log) into the server named by LEADTIME_URL,
so leadtime measures from there instead of from the day it started watching."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from leadtime.server.cli.client import call
from leadtime.server.cli.output import Table, output_options, show
from leadtime.server.ingest import checkout
from leadtime.server.ingest.checkout import Commit, PastDeploy
from leadtime.server.timeparse import parse_duration
from leadtime.tracer.context import normalize_repo_url

MERGESETS_PER_REQUEST, DEPLOYS_PER_REQUEST = 2500, 500  # the server takes up to 5,000 and 500
MAIN_BRANCHES = ("main", "master", "origin/main", "origin/master")


def _since(value: str) -> datetime | None:
    if value == "all":
        return None
    try:
        return datetime.now(UTC) - parse_duration(value)
    except ValueError as error:
        raise click.BadParameter(f"{error}, or all", param_hint="--since") from None


def _main_branch(path: Path) -> str:
    for name in MAIN_BRANCHES:
        try:
            checkout.git(path, "rev-parse", "--verify", "--quiet", f"{name}^{{commit}}")
            return name
        except ValueError:
            continue
    return "HEAD"


def _repository(path: Path, given: str | None) -> str:
    if given:
        return given
    try:
        remote = checkout.git(path, "remote", "get-url", "origin").strip()
    except ValueError:
        raise click.UsageError(
            "the checkout has no `origin` remote: name the repository with --repo URL"
        ) from None
    return normalize_repo_url(remote)


def _full_sha(path: Path, sha: str, known: dict[str, str]) -> str:
    """A deploy's sha as the full commit sha (a log may hold short ones)."""
    if sha in known:
        return sha
    try:
        return checkout.git(path, "rev-parse", "--verify", f"{sha}^{{commit}}").strip()
    except ValueError:
        raise click.ClickException(f"deploy of {sha}: no such commit in {path}") from None


def _deploys(
    path: Path, tags: str | None, log: Path | None, environment: str, commits: list[Commit]
) -> list[PastDeploy]:
    found: list[PastDeploy] = []
    try:
        if tags:
            found += checkout.tag_deploys(path, tags, environment)
        if log:
            found += checkout.deploy_log(log, environment)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    known = {c.sha: c.sha for c in commits}
    first = commits[0].committed_at if commits else None
    # Deploys before the oldest mergeset imported would ship nothing leadtime counts.
    return [
        PastDeploy(**{**vars(d), "sha": _full_sha(path, d.sha, known)})
        for d in found
        if first is None or d.finished_at >= first
    ]


def _mergeset_body(commit: Commit) -> dict:
    return {
        "sha": commit.sha,
        "merged_at": commit.committed_at.isoformat(),
        "parent_sha": commit.parent_sha,
        "author": commit.author[:300] or None,
        "title": commit.subject[:500] or None,
        "pr_number": commit.pr_number,
        "pr_title": commit.pr_title[:500] if commit.pr_title else None,
        "first_commit_at": commit.first_commit_at.isoformat() if commit.first_commit_at else None,
    }


def _deploy_body(deploy: PastDeploy, service: str) -> dict:
    return {
        "sha": deploy.sha,
        "service": deploy.service or service,
        "environment": deploy.environment,
        "finished_at": deploy.finished_at.isoformat(),
        "status": deploy.status,
        "id": deploy.id,
    }


def _send(repository: str, mergesets: list[dict], deploys: list[dict]) -> dict:
    """Every chunk to the server (a progress bar on a terminal); the totals and the adoption
    point before the first chunk and after the last."""
    chunks = [
        {
            "repository": repository,
            "mergesets": mergesets[i : i + MERGESETS_PER_REQUEST],
            "deploys": [],
        }
        for i in range(0, len(mergesets), MERGESETS_PER_REQUEST)
    ] + [
        {
            "repository": repository,
            "mergesets": [],
            "deploys": deploys[i : i + DEPLOYS_PER_REQUEST],
        }
        for i in range(0, len(deploys), DEPLOYS_PER_REQUEST)
    ]
    totals = {"mergesets_new": 0, "deploys_new": 0, "measured_since_before": None}
    answer: dict = {}
    with click.progressbar(
        chunks, label="importing", file=sys.stderr, show_pos=True, show_eta=False
    ) as bar:
        for number, chunk in enumerate(bar):
            answer = call("POST", "/api/backfill", body=chunk)
            totals["mergesets_new"] += answer["mergesets_new"]
            totals["deploys_new"] += answer["deploys_new"]
            if number == 0:
                totals["measured_since_before"] = answer["measured_since_before"]
    return {**answer, **totals}


@click.command("backfill")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--repo", "repo", help="The repository's URL (default: the checkout's origin).")
@click.option(
    "--since",
    default="90d",
    show_default=True,
    help="How far back: 30d, 26w, 365d, or all.",
)
@click.option("--branch", help="The main branch (default: main or master, else HEAD).")
@click.option(
    "--deploys-from-tags",
    "tags",
    metavar="GLOB",
    help="Each tag matching GLOB (e.g. 'v*') was a deploy, at the tag's time.",
)
@click.option(
    "--deploys",
    "log",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A deploy log: CSV with a header (sha, finished_at; optional environment, status, "
    "service, id) or a JSON list of such objects.",
)
@click.option("--environment", default="production", show_default=True)
@click.option("--service", help="The deployed service (default: the repository's name).")
@click.option("--dry-run", is_flag=True, help="Read and count, send nothing.")
@output_options
def backfill(
    path: Path,
    repo: str | None,
    since: str,
    branch: str | None,
    tags: str | None,
    log: Path | None,
    environment: str,
    service: str | None,
    dry_run: bool,
    output: str,
) -> None:
    """Import the real past of the repository checked out at PATH: every first-parent commit of
    the main branch since --since is a mergeset (pull request numbers and titles read from
    "Merge pull request #N ..." and "Title (#N)" subjects), and the deploys that shipped them
    come from tags or a deploy log. Running it again stores nothing new. leadtime then measures
    the repository from the oldest mergeset imported, and the next live deploy ships only what
    it really ships. Sends to LEADTIME_URL (LEADTIME_TOKEN as its token).

    Example:

    \b
        leadtime backfill . --since 365d --deploys-from-tags 'v*'
        leadtime backfill ~/src/shop --deploys deploys.csv --dry-run
    """
    if not tags and not log:
        raise click.UsageError(
            "say what was deployed when, with --deploys-from-tags GLOB or --deploys FILE: "
            "without deploys, every imported mergeset would wait for the next deploy"
        )
    start = _since(since)
    repository = _repository(path, repo)
    try:
        commits = checkout.first_parent_commits(path, branch or _main_branch(path), start)
    except ValueError as error:
        raise click.ClickException(f"cannot read the history of {path}: {error}") from None
    deploys = _deploys(path, tags, log, environment, commits)
    name = service or repository.rstrip("/").rsplit("/", 1)[-1]
    summary = {
        "repository": repository,
        "mergesets": len(commits),
        "deploys": len(deploys),
        "oldest": commits[0].committed_at.isoformat() if commits else None,
        "dry_run": dry_run,
    }
    if not dry_run:
        summary |= _send(
            repository,
            [_mergeset_body(c) for c in commits],
            [_deploy_body(d, name) for d in deploys],
        )
    show(output, summary, _summary_table)


def _summary_table(summary: dict) -> Table:
    sent = not summary["dry_run"]
    lines = [
        f"{summary['repository']}, since {summary['oldest'] or '-'}"
        + ("" if sent else " (dry run: nothing sent)")
    ]
    if sent:
        moved = summary["measured_since_before"] != summary["measured_since"]
        lines.append(
            f"measured since {summary['measured_since'] or '-'}"
            + (f" (adoption point moved from {summary['measured_since_before']})" if moved else "")
        )
    rows = [
        ["mergesets", summary["mergesets"], summary["mergesets_new"] if sent else "-"],
        ["deploys", summary["deploys"], summary["deploys_new"] if sent else "-"],
    ]
    return Table(["", "read", "new"], rows, lines)
