"""Record what arrives (spans, merges, deploys) in one transaction each, then work out again what
depends on it: a new mergeset or deploy can change which deploy shipped what."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain import suspects
from leadtime.server.domain.containment import recompute_containment, recompute_repository
from leadtime.server.ingest import pages as page_events
from leadtime.server.ingest.forges import ForgeFacts
from leadtime.server.ingest.otlp import SpanRecord
from leadtime.server.ingest.traces import MergesetFacts, RepoRef, RunFacts, facts_from_spans
from leadtime.server.models import Deploy, Page
from leadtime.server.settings import Settings


class _Changes:
    """Which repositories (all environments) and which (repository, environment) to redo."""

    def __init__(self) -> None:
        self.repositories: set[int] = set()
        self.environments: set[tuple[int, str]] = set()

    def apply(self, session: Session) -> None:
        for repository_id in self.repositories:
            recompute_repository(session, repository_id)
        for repository_id, environment in self.environments:
            if repository_id not in self.repositories:
                recompute_containment(session, repository_id, environment)


def record_spans(session: Session, spans: list[SpanRecord], settings: Settings) -> int:
    """Store the spans and what they tell; how many deploys they reported."""
    facts = facts_from_spans(spans, settings.main_branch_names)
    named = [
        item.repo
        for group in (facts.runs.values(), facts.mergesets, facts.deploys)
        for item in group
    ]
    repositories = {ref: store.repository_for(session, ref) for ref in dict.fromkeys(named)}
    store.lock_repositories(session, [found.id for found in repositories.values() if found])

    changes = _Changes()
    store.insert_steps(session, facts.steps)
    for run in facts.runs.values():
        found = repositories[run.repo]
        store.upsert_pipeline_run(session, run, found.id if found else None)
    for mergeset in facts.mergesets:
        found = repositories[mergeset.repo]
        if found and store.upsert_mergeset(session, found.id, mergeset):
            changes.repositories.add(found.id)
    for deploy in facts.deploys:
        found = repositories[deploy.repo]
        row, changed = store.upsert_deploy(
            session, store.deploy_values_from_span(deploy, found.id if found else None)
        )
        if changed and row.repository_id is not None:
            changes.environments.add((row.repository_id, row.environment))
        if changed:
            suspects.relink_after_deploy(session, row, settings)
    changes.apply(session)
    session.commit()
    return len(facts.deploys)


def record_merge(
    session: Session,
    repository_reference: str,
    sha: str,
    merged_at: datetime,
    parent_sha: str | None = None,
    title: str | None = None,
    author: str | None = None,
    pr_number: int | None = None,
    pr_title: str | None = None,
    pr_author: str | None = None,
    pr_url: str | None = None,
    source: str = "api",
    merged_at_source: str = "merge",
) -> None:
    """A merge reported by an API client or a forge: by default its merged_at is the real merge
    time. Better facts from one source do not undo those of another (see store.upsert_mergeset)."""
    _merge(
        session,
        repository_reference,
        MergesetFacts(
            repo=RepoRef(None, None),
            sha=sha,
            merged_at=merged_at,
            merged_at_source=merged_at_source,
            source=source,
            parent_sha=parent_sha,
            author=author,
            title=title,
        ),
        (pr_number, pr_title, pr_author, pr_url),
    )
    session.commit()


def _merge(session: Session, reference: str, facts: MergesetFacts, pull_request: tuple) -> None:
    repository = store.resolve_repository(session, reference, create=True)
    store.lock_repository(session, repository.id)
    store.upsert_mergeset(session, repository.id, facts)
    if any(value is not None for value in pull_request):
        store.set_pull_request(session, repository.id, facts.sha, *pull_request)
    recompute_repository(session, repository.id)


def record_deploy(
    session: Session,
    values: dict,
    repository_reference: str | None,
    settings: Settings,
    commit: bool = True,
) -> Deploy:
    """A deploy reported by an API client; `values` as the Deploy columns (without identity)."""
    if repository_reference:
        repository = store.resolve_repository(session, repository_reference, create=True)
    else:
        repository = store.repository_for_service(session, values["service"])
    store.lock_repository(session, repository.id)
    values = {**values, "repository_id": repository.id}
    identity = store.deploy_identity(
        values["source"],
        values.get("external_id"),
        values["service"],
        values["environment"],
        values["sha"],
        values.get("finished_at"),
    )
    if not values.get("external_id") and values.get("finished_at"):
        waiting = store.open_deploy(
            session, values["service"], values["environment"], values["sha"]
        )
        if waiting is not None:
            waiting.identity = identity  # the in-progress report, now finished
            session.flush()
    deploy, _ = store.upsert_deploy(session, {**values, "identity": identity})
    recompute_containment(session, repository.id, deploy.environment)
    suspects.relink_after_deploy(session, deploy, settings)
    if commit:
        session.commit()
    return deploy


def _match(session: Session, page: Page) -> None:
    page.service = store.mapped_service(session, page.pager_service)
    page.repository_id = (
        store.repository_id_of_service(session, page.service) if page.service else None
    )


def _apply(page: Page, fact: page_events.PageFacts) -> None:
    """One event on a page. Each is idempotent: the same delivery twice changes nothing."""
    for name in ("title", "urgency", "team", "url"):
        if getattr(fact, name):
            setattr(page, name, getattr(fact, name))
    if fact.action == page_events.ACKNOWLEDGE:
        if page.acknowledged_at is None or fact.at < page.acknowledged_at:
            page.acknowledged_at = fact.at
        if page.status != "resolved":
            page.status = "acknowledged"
    elif fact.action == page_events.UNACKNOWLEDGE and page.status == "acknowledged":
        page.status = "triggered"
    elif fact.action == page_events.RESOLVE:
        page.status, page.resolved_at = "resolved", fact.at
    elif fact.action == page_events.REOPEN:
        page.status, page.resolved_at = "triggered", None


def record_pages(
    session: Session, facts: list[page_events.PageFacts], settings: Settings
) -> list[Page]:
    """Store pages and their events, match their service, and link each to its suspect deploy;
    one transaction for the whole delivery."""
    pages = []
    for fact in facts:
        page = store.insert_page(
            session,
            {
                "source": fact.source,
                "external_id": fact.external_id,
                "pager_service": fact.pager_service or "unknown",
                "title": fact.title or "(untitled)",
                "status": "triggered",
                "triggered_at": fact.triggered_at or fact.at,
                "link_state": suspects.AUTO,
            },
        )
        _apply(page, fact)
        if fact.pager_service and fact.pager_service != page.pager_service:
            page.pager_service = fact.pager_service
        suspects.match_service(session, page)
        session.flush()
        suspects.link_page(session, page, settings)
        pages.append(page)
    session.commit()
    return pages


def remap_pages(session: Session, pager_service: str, settings: Settings) -> None:
    """A mapping changed: the pages of that pager's service match, and link, anew."""
    for page in store.pages_with_service(session, pager_service):
        suspects.match_service(session, page)
        session.flush()
        suspects.link_page(session, page, settings)
    session.commit()


def read_service_map(path: Path) -> dict[str, str]:
    """`[services]` then `"pager name" = "deploy service"` lines; a clear error otherwise."""
    try:
        content = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"service map {path}: {error}") from error
    services = content.get("services")
    if not isinstance(services, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in services.items()
    ):
        raise ValueError(
            f'service map {path}: expected a [services] table of "pager name" = "service" lines'
        )
    return services


def load_service_map(session: Session, path: Path, settings: Settings) -> None:
    """The mappings of the file, stored (source `file`) and applied to the pages already kept."""
    for pager_service, service in read_service_map(path).items():
        map_service(session, pager_service, service, "file", settings)


def map_service(
    session: Session, pager_service: str, service: str | None, source: str, settings: Settings
) -> None:
    """Map (or with no service, unmap) a pager's service name; its pages match and link anew."""
    if service is None:
        store.delete_service_mapping(session, pager_service)
    else:
        store.upsert_service_mapping(session, pager_service, service, source)
    session.flush()
    remap_pages(session, pager_service, settings)


def record_forge(session: Session, facts: ForgeFacts, settings: Settings) -> int:
    """A forge's webhook delivery: its merges, deploys and pipeline runs, in one transaction;
    how many facts it held."""
    for merge in facts.merges:
        pull_request = (merge.pr_number, merge.pr_title, merge.pr_author, merge.pr_url)
        _merge(
            session,
            merge.repository,
            MergesetFacts(
                repo=RepoRef(None, None),
                sha=merge.sha,
                merged_at=merge.merged_at,
                merged_at_source=merge.merged_at_source,
                source=merge.source,
                parent_sha=merge.parent_sha,
                author=merge.author,
                title=merge.title,
            ),
            pull_request,
        )
    for deploy in facts.deploys:
        record_deploy(session, deploy.values, deploy.repository, settings, commit=False)
    for run in facts.runs:
        repository = store.repository_for(session, RepoRef(run.repository, None))
        fields = {name: getattr(run, name) for name in RUN_FIELDS}
        store.upsert_pipeline_run(
            session, RunFacts(repo=RepoRef(run.repository, None), **fields), repository.id
        )
        store.insert_steps(session, run.steps)
    session.commit()
    return len(facts.merges) + len(facts.deploys) + len(facts.runs)


RUN_FIELDS = (
    "trace_id",
    "started_at",
    "finished_at",
    "provider",
    "run_id",
    "attempt",
    "name",
    "branch",
    "sha",
    "url",
    "result",
)
