"""`GET /api/summary`: a repository's delivery numbers over a window; `GET /api/dora`: DORA's
five keys with their tiers."""

from __future__ import annotations

from fastapi import APIRouter, Query

from leadtime.server.api.deps import Reader, SessionDep, SettingsDep, duration_param, now
from leadtime.server.domain.dora import dora_report
from leadtime.server.domain.dora_tiers import DEFAULT_WINDOW
from leadtime.server.domain.lead_time import repository_summary
from leadtime.server.presenters import dora_out
from leadtime.server.schemas import DoraOut, SummaryOut

router = APIRouter(prefix="/api", tags=["reports"])


def _seconds(value) -> float | None:
    return None if value is None else value.total_seconds()


@router.get("/summary", dependencies=[Reader], response_model=SummaryOut)
def get_summary(
    session: SessionDep,
    settings: SettingsDep,
    repo: str | None = Query(None, description="Repository; all when absent."),
    window: str = Query("7d", description="How far back: e.g. 24h, 7d, 4w."),
) -> SummaryOut:
    """Deploy frequency, lead time median and p90, share over budget, share of batched deploys,
    mergesets waiting (production deploys finished within the window)."""
    summary = repository_summary(
        session, settings, now(), duration_param(window, "window"), repository=repo
    )
    return SummaryOut(
        repository=repo,
        window_seconds=summary.window.total_seconds(),
        deploys=summary.deploys,
        deploys_per_day=summary.deploys_per_day,
        mergesets_deployed=summary.mergesets_deployed,
        lead_time_median_seconds=_seconds(summary.lead_time_median),
        lead_time_p90_seconds=_seconds(summary.lead_time_p90),
        change_lead_time_median_seconds=_seconds(summary.change_lead_time_median),
        share_over_budget=summary.share_over_budget,
        share_batched_deploys=summary.share_batched_deploys,
        mergesets_waiting=summary.mergesets_waiting,
        measured_since=summary.measured_since,
        longest_wait_seconds=_seconds(summary.longest_wait),
    )


@router.get("/dora", dependencies=[Reader], response_model=DoraOut)
def get_dora(
    session: SessionDep,
    settings: SettingsDep,
    repo: str | None = Query(None, description="Repository; all when absent."),
    window: str = Query(DEFAULT_WINDOW, description="How far back: e.g. 7d, 30d, 12w."),
) -> DoraOut:
    """DORA's five keys (deployment frequency, change lead time, change failure rate, failed
    deployment recovery time, rework rate) over the production deploys finished in the window,
    each with its tier (DORA 2024 clusters unless LEADTIME_DORA_TIERS says otherwise) and what
    it counts."""
    report = dora_report(session, settings, now(), duration_param(window, "window"), repo)
    return dora_out(report)
