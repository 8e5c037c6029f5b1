"""`POST /api/deploys` records a deploy; `GET /api/deploys` lists deploys with their mergesets
and the pages that followed them."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from leadtime.server import recording, store
from leadtime.server.api.deps import Reader, SessionDep, SettingsDep, Writer, time_param
from leadtime.server.ingest.facts import DeployFact, RepoRef
from leadtime.server.presenters import deploys_out
from leadtime.server.schemas import DeployIn, DeployOut, DeployRef

router = APIRouter(prefix="/api", tags=["deploys"])


@router.post("/deploys", dependencies=[Writer], response_model=DeployRef)
def post_deploy(
    deploy: DeployIn, session: SessionDep, settings: SettingsDep, request: Request
) -> DeployRef:
    """Record a deploy (or its progress: report again with the same `id` to update it)."""
    fact = DeployFact(
        repo=RepoRef(name=deploy.repository),
        source="api",
        external_id=deploy.id,
        service=deploy.service,
        environment=deploy.environment,
        sha=deploy.sha.lower(),
        status=deploy.status,
        started_at=deploy.started_at,
        finished_at=deploy.finished(),
        url=deploy.url,
        listed_shas=[sha.lower() for sha in deploy.contains] if deploy.contains else None,
    )
    row = recording.record_deploy(session, fact, deploy.repository, settings)
    request.app.state.alerts.deploy_arrived()
    return DeployRef(id=row.id, identity=row.identity)


@router.get("/deploys", dependencies=[Reader], response_model=list[DeployOut])
def get_deploys(
    session: SessionDep,
    service: str | None = None,
    environment: str | None = None,
    since: str | None = Query(None, description="ISO 8601; deploys finished since then."),
    limit: int = Query(100, ge=1, le=1000),
) -> list[DeployOut]:
    """Deploys, newest first, each with the mergesets it shipped to its environment."""
    found = store.deploys_query(service, environment, time_param(since, "since"), limit)
    return deploys_out(session, list(session.scalars(found)))
