"""Record what arrives (spans, merges, deploys) in one transaction each, then work out again what
depends on it: a new mergeset or deploy can change which deploy shipped what."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain.containment import recompute_containment, recompute_repository
from leadtime.server.ingest.otlp import SpanRecord
from leadtime.server.ingest.traces import MergesetFacts, RepoRef, facts_from_spans
from leadtime.server.models import Deploy, Repository
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
    repositories: dict[RepoRef, Repository | None] = {}

    def repository(ref: RepoRef) -> Repository | None:
        if ref not in repositories:
            repositories[ref] = store.repository_for(session, ref)
        return repositories[ref]

    changes = _Changes()
    store.insert_steps(session, facts.steps)
    for run in facts.runs.values():
        found = repository(run.repo)
        store.upsert_pipeline_run(session, run, found.id if found else None)
    for mergeset in facts.mergesets:
        found = repository(mergeset.repo)
        if found and store.upsert_mergeset(session, found.id, mergeset):
            changes.repositories.add(found.id)
    for deploy in facts.deploys:
        found = repository(deploy.repo)
        row, changed = store.upsert_deploy(
            session, store.deploy_values_from_span(deploy, found.id if found else None)
        )
        if changed and row.repository_id is not None:
            changes.environments.add((row.repository_id, row.environment))
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
) -> None:
    """A merge reported by an API client: its merged_at is the real merge time."""
    repository = store.resolve_repository(session, repository_reference, create=True)
    facts = MergesetFacts(
        repo=RepoRef(repository.url, repository.name),
        sha=sha,
        merged_at=merged_at,
        merged_at_source="merge",
        source="api",
        parent_sha=parent_sha,
        author=author,
        title=title,
    )
    store.upsert_mergeset(session, repository.id, facts)
    store.set_pull_request(session, repository.id, sha, pr_number, pr_title, pr_author, pr_url)
    recompute_repository(session, repository.id)
    session.commit()


def record_deploy(session: Session, values: dict, repository_reference: str | None) -> Deploy:
    """A deploy reported by an API client; `values` as the Deploy columns (without identity)."""
    if repository_reference:
        repository = store.resolve_repository(session, repository_reference, create=True)
    else:
        repository = store.repository_for_service(session, values["service"])
    values = {**values, "repository_id": repository.id}
    identity = store.deploy_identity(
        "api",
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
    session.commit()
    return deploy
