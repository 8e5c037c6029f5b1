"""`POST /api/deploys` records a deploy; `GET /api/deploys` lists deploys with their mergesets
and the pages that followed them."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from leadtime.server import recording, store
from leadtime.server.api.deps import Reader, SessionDep, SettingsDep, Writer, time_param
from leadtime.server.domain.lead_time import BATCHED_ABOVE
from leadtime.server.models import Deploy, Repository
from leadtime.server.schemas import DeployIn, DeployOut, DeployRef, MergesetBrief, PageBrief

router = APIRouter(prefix="/api", tags=["deploys"])


@router.post("/deploys", dependencies=[Writer], response_model=DeployRef)
def post_deploy(
    deploy: DeployIn, session: SessionDep, settings: SettingsDep, request: Request
) -> DeployRef:
    """Record a deploy (or its progress: report again with the same `id` to update it)."""
    values = {
        "source": "api",
        "external_id": deploy.id,
        "service": deploy.service,
        "environment": deploy.environment,
        "sha": deploy.sha.lower(),
        "status": deploy.status,
        "started_at": deploy.started_at,
        "finished_at": deploy.finished(),
        "url": deploy.url,
        "listed_shas": [sha.lower() for sha in deploy.contains] if deploy.contains else None,
    }
    row = recording.record_deploy(session, values, deploy.repository, settings)
    request.app.state.alerts.deploy_arrived()
    return DeployRef(id=row.id, identity=row.identity)


def deploy_out(
    deploy: Deploy, repository: Repository | None, mergesets: list, pages: list | None = None
) -> DeployOut:
    return DeployOut(
        id=deploy.id,
        service=deploy.service,
        repository=(repository.url or repository.name) if repository else None,
        environment=deploy.environment,
        sha=deploy.sha,
        status=deploy.status,
        started_at=deploy.started_at,
        finished_at=deploy.finished_at,
        url=deploy.url,
        source=deploy.source,
        external_id=deploy.external_id,
        batched=len(mergesets) > BATCHED_ABOVE,
        mergesets=[
            MergesetBrief(sha=m.sha, merged_at=m.merged_at, title=m.title, author=m.author)
            for m in mergesets
        ],
        pages=[
            PageBrief(id=p.id, title=p.title, status=p.status, triggered_at=p.triggered_at)
            for p in pages or []
        ],
    )


@router.get("/deploys", dependencies=[Reader], response_model=list[DeployOut])
def get_deploys(
    session: SessionDep,
    service: str | None = None,
    environment: str | None = None,
    since: str | None = Query(None, description="ISO 8601; deploys finished since then."),
    limit: int = Query(100, ge=1, le=1000),
) -> list[DeployOut]:
    """Deploys, newest first, each with the mergesets it shipped to its environment."""
    deploys = list(
        session.scalars(
            store.deploys_query(service, environment, time_param(since, "since"), limit)
        )
    )
    ids = [d.id for d in deploys]
    contained, pages = (
        store.mergesets_of_deploys(session, ids),
        store.pages_after_deploys(session, ids),
    )
    repositories = {r.id: r for r in store.repositories(session)}
    return [
        deploy_out(d, repositories.get(d.repository_id), contained[d.id], pages[d.id])
        for d in deploys
    ]
