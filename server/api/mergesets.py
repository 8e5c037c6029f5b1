"""`GET /api/mergesets`: mergesets with their lead time, or how long they have waited."""

from __future__ import annotations

from fastapi import APIRouter, Query

from leadtime.server.api.deps import Reader, SessionDep, SettingsDep, now, time_param
from leadtime.server.domain.lead_time import MergesetReport, list_mergesets
from leadtime.server.schemas import MergesetOut

router = APIRouter(prefix="/api", tags=["mergesets"])


def _seconds(value) -> float | None:
    return None if value is None else value.total_seconds()


def mergeset_out(report: MergesetReport) -> MergesetOut:
    return MergesetOut(
        sha=report.sha,
        repository=report.repository,
        merged_at=report.merged_at,
        merged_at_source=report.merged_at_source,
        title=report.title,
        author=report.author,
        deployed_at=report.deployed_at,
        deploy_id=report.deploy_id,
        lead_time_seconds=_seconds(report.lead_time),
        waiting_seconds=_seconds(report.waiting),
        budget_seconds=report.budget.total_seconds(),
        batched=report.batched,
        over_budget=report.over_budget,
        pr_number=report.pr_number,
        pr_title=report.pr_title,
        pr_author=report.pr_author,
        pr_url=report.pr_url,
    )


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
