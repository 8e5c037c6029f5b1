"""`GET /api/mergesets`: mergesets with their lead time, or how long they have waited."""

from __future__ import annotations

from fastapi import APIRouter, Query

from leadtime.server.api.deps import Reader, SessionDep, SettingsDep, now, time_param
from leadtime.server.domain.lead_time import list_mergesets
from leadtime.server.presenters import mergeset_out
from leadtime.server.schemas import MergesetOut

router = APIRouter(prefix="/api", tags=["mergesets"])


@router.get("/mergesets", dependencies=[Reader], response_model=list[MergesetOut])
def get_mergesets(
    session: SessionDep,
    settings: SettingsDep,
    repo: str | None = Query(None, description="Repository URL, owner/name or name."),
    since: str | None = Query(None, description="ISO 8601; merged at or after."),
    until: str | None = Query(None, description="ISO 8601; merged before."),
    limit: int = Query(100, ge=1, le=1000),
) -> list[MergesetOut]:
    """Mergesets newest first, with deploy, lead time, batched and over-budget flags."""
    reports = list_mergesets(
        session,
        settings,
        now(),
        repository=repo,
        since=time_param(since, "since"),
        until=time_param(until, "until"),
        limit=limit,
    )
    return [mergeset_out(report) for report in reports]
