"""`POST /api/merges`: a mergeset from a script, a bot or anything that does not send spans."""

from __future__ import annotations

from fastapi import APIRouter

from leadtime.server import recording
from leadtime.server.api.deps import SessionDep, SettingsDep, Writer
from leadtime.server.ingest.facts import Facts, MergesetFact, RepoRef
from leadtime.server.schemas import Accepted, MergeIn

router = APIRouter(prefix="/api", tags=["mergesets"])


@router.post("/merges", dependencies=[Writer], response_model=Accepted)
def post_merge(merge: MergeIn, session: SessionDep, settings: SettingsDep) -> Accepted:
    """Record a merge to the main branch; the same repository and sha again updates it."""
    mergeset = MergesetFact(
        repo=RepoRef(name=merge.repository),
        sha=merge.sha.lower(),
        merged_at=merge.merged_at,
        merged_at_source="merge",  # the client reports the real merge time
        source="api",
        parent_sha=merge.parent_sha.lower() if merge.parent_sha else None,
        title=merge.title,
        author=merge.author,
        pr_number=merge.pr_number,
        pr_title=merge.pr_title,
        pr_author=merge.pr_author,
        pr_url=merge.pr_url,
    )
    recording.record_facts(session, Facts(mergesets=[mergeset]), settings)
    return Accepted()
