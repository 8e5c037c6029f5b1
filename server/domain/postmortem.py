"""A postmortem starter for a page: the sections teams use (impact, trigger, resolution, timeline,
root cause, what went well, what didn't, action items), with the trigger and the timeline filled
in from the facts leadtime holds: the suspect deploy's mergesets (merged, by whom: the people they
are mapped to, domain/people.py, with their pull requests' links), their
main-branch pipeline runs, the deploy itself, the page and the other pages the deploy is the
suspect of (triggered, acknowledged, resolved), in time order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain import people
from leadtime.server.models import Deploy, Mergeset, Page
from leadtime.server.settings import Settings
from leadtime.server.timeparse import format_duration


@dataclass(frozen=True)
class Moment:
    at: datetime
    what: str


def page_moments(page: Page, label: str = "this page") -> list[Moment]:
    moments = [Moment(page.triggered_at, f"{label} triggered: {page.title}")]
    if page.acknowledged_at:
        moments.append(Moment(page.acknowledged_at, f"{label} acknowledged"))
    if page.resolved_at:
        moments.append(Moment(page.resolved_at, f"{label} resolved"))
    return moments


def deploy_moments(deploy: Deploy) -> list[Moment]:
    where = f"deploy {deploy.id} of {deploy.service} {deploy.sha[:10]} to {deploy.environment}"
    moments = []
    if deploy.finished_at:
        moments.append(Moment(deploy.finished_at, f"{where} finished ({deploy.status})"))
    if deploy.started_at:
        moments.append(Moment(deploy.started_at, f"{where} started"))
    return moments


def mergeset_moment(mergeset: Mergeset, named: str | None = None) -> Moment:
    words = [f"merged {mergeset.sha[:10]}", mergeset.pr_title or mergeset.title]
    author = named or mergeset.pr_author or mergeset.author
    words.append(f"by {author}" if author else None)
    return Moment(mergeset.merged_at, " ".join(word for word in words if word))


def authors_named(session: Session, mergesets: list[Mergeset]) -> dict[int, str]:
    """Each mergeset's authors by the names of the people they are mapped to."""
    return {
        mergeset_id: ", ".join(author.shown for author in found)
        for mergeset_id, found in people.authors_of(session, mergesets).items()
        if found
    }


def ordered(moments: list[Moment]) -> list[Moment]:
    return sorted(moments, key=lambda moment: moment.at)


def _timeline(session: Session, page: Page, deploy: Deploy | None, settings: Settings):
    moments = page_moments(page)
    mergesets: list[Mergeset] = []
    if deploy is not None:
        moments += deploy_moments(deploy)
        mergesets = store.mergesets_of_deploys(session, [deploy.id])[deploy.id]
        named = authors_named(session, mergesets)
        moments += [mergeset_moment(m, named.get(m.id)) for m in mergesets]
        for mergeset in mergesets:
            trace_id = store.main_run_of(
                session, mergeset.repository_id, mergeset.sha, settings.main_branch_names
            )
            run = store.pipeline_run(session, trace_id) if trace_id else None
            if run is not None:
                name = f"pipeline {run.name or run.trace_id[:8]} for {mergeset.sha[:10]}"
                moments.append(Moment(run.started_at, f"{name} started"))
                result = f" ({run.result})" if run.result else ""
                moments.append(Moment(run.finished_at, f"{name} finished{result}"))
        others = store.pages_after_deploys(session, [deploy.id])[deploy.id]
        for other in others:
            if other.id != page.id:
                moments += page_moments(other, f"page {other.id}")
    return ordered(moments), mergesets


def render(
    page: Page,
    deploy: Deploy | None,
    mergesets: list[Mergeset],
    moments,
    authors: dict[int, str] | None = None,
) -> str:
    lasted = (page.resolved_at - page.triggered_at).total_seconds() if page.resolved_at else None
    lines = [
        f"# Postmortem: {page.title}",
        "",
        f"- Service: {page.service or page.pager_service}"
        + (f" (team {page.team})" if page.team else ""),
        f"- Urgency: {page.urgency or '-'}",
        f"- Triggered: {page.triggered_at:%Y-%m-%d %H:%M:%S} UTC "
        f"({page.source} {page.external_id})",
        f"- Resolved: {page.resolved_at:%Y-%m-%d %H:%M:%S} UTC, after {format_duration(lasted)}"
        if page.resolved_at
        else "- Resolved: not yet",
        "",
        "## Impact",
        "",
        "_Who and what was affected, for how long, and how badly._",
        "",
        "## Trigger",
        "",
    ]
    if deploy is None or deploy.finished_at is None:
        lines.append("No deploy is linked to this page.")
    else:
        after = format_duration((page.triggered_at - deploy.finished_at).total_seconds())
        lines.append(
            f"Deploy {deploy.id} of {deploy.service} ({deploy.sha[:10]}) to {deploy.environment} "
            f"finished {after} before the page. It shipped:"
        )
        lines.append("")
        for m in mergesets:
            author = (authors or {}).get(m.id) or m.pr_author or m.author or "unknown author"
            link = f" {m.pr_url}" if m.pr_url else ""
            lines.append(
                f"- {m.sha[:10]} {m.pr_title or m.title or ''} ({author}){link}".replace("  ", " ")
            )
    lines += [
        "",
        "## Resolution",
        "",
        "_What brought the service back (rollback, fix forward, config change)._",
        "",
        "## Timeline (UTC)",
        "",
        "| time | event |",
        "|---|---|",
        *[f"| {m.at:%Y-%m-%d %H:%M:%S} | {m.what.replace('|', '/')} |" for m in moments],
        "",
        "## Root cause",
        "",
        "_Why it happened; ask why until the answer is a system, not a person._",
        "",
        "## What went well",
        "",
        "- ",
        "",
        "## What didn't",
        "",
        "- ",
        "",
        "## Action items",
        "",
        "- [ ] ",
        "",
    ]
    return "\n".join(lines)


def postmortem(session: Session, page_id: int, settings: Settings) -> str:
    """The Markdown starter for page `page_id`."""
    page = store.page(session, page_id)
    suspect_id = store.suspect_of(session, page.id)
    deploy = store.deploy_by_id(session, suspect_id) if suspect_id else None
    moments, mergesets = _timeline(session, page, deploy, settings)
    return render(page, deploy, mergesets, moments, authors_named(session, mergesets))
