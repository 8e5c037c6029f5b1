"""`POST /api/backfill`: a repository's real past from `leadtime backfill` (mergesets of its main
branch, the deploys that shipped them), recorded in one go."""

from __future__ import annotations

from fastapi import APIRouter

from leadtime.server import recording, store
from leadtime.server.api.deps import SessionDep, SettingsDep, Writer
from leadtime.server.ingest.facts import DeployFact, Facts, MergesetFact, RepoRef
from leadtime.server.schemas import BackfillIn, BackfillOut

router = APIRouter(prefix="/api", tags=["mergesets"])
SOURCE = "backfill"


def _facts(body: BackfillIn, repo: RepoRef, reported: set[tuple[str, str]]) -> Facts:
    mergesets = [
        MergesetFact(
            repo=repo,
            sha=m.sha.lower(),
            merged_at=m.merged_at,
            merged_at_source="commit",
            source=SOURCE,
            parent_sha=m.parent_sha.lower() if m.parent_sha else None,
            author=m.author,
            title=m.title,
            pr_number=m.pr_number,
            pr_title=m.pr_title,
            first_commit_at=m.first_commit_at,
        )
        for m in body.mergesets
    ]
    deploys = [
        DeployFact(
            repo=repo,
            source=SOURCE,
            external_id=d.id,
            service=d.service,
            environment=d.environment,
            sha=d.sha.lower(),
            status=d.status,
            finished_at=d.finished_at,
        )
        for d in body.deploys
        # A deploy leadtime was told of as it happened is the same deploy: keep that report.
        if (d.environment, d.sha.lower()) not in reported
    ]
    return Facts(mergesets=mergesets, deploys=deploys)


@router.post("/backfill", dependencies=[Writer], response_model=BackfillOut)
def post_backfill(body: BackfillIn, session: SessionDep, settings: SettingsDep) -> BackfillOut:
    """Import mergesets and deploys of the past (the same import twice stores nothing new); the
    adoption point moves to the oldest mergeset imported."""
    repository = store.resolve_repository(session, body.repository, create=True)
    repo = RepoRef(url=repository.url, name=None if repository.url else repository.name)
    measured_before = repository.adopted_at
    reported = store.reported_deploys(session, repository.id, SOURCE)
    mergesets_new, deploys_new = recording.record_backfill(
        session, repository, _facts(body, repo, reported), settings
    )
    return BackfillOut(
        repository=repository.display_name,
        mergesets_new=mergesets_new,
        deploys_new=deploys_new,
        measured_since_before=measured_before,
        measured_since=repository.adopted_at,
    )
