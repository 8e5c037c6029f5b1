"""What pages say: `GET /api/reports/change-failure` (change failure rate and failed deployment
recovery time per service), `GET /api/reports/oncall` (the weekly on-call load review) and
`GET /api/reports/weekly` (a team's weekly review, its digest's numbers)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from leadtime.server.api.deps import Reader, SessionDep, SettingsDep, duration_param, now
from leadtime.server.domain.dora_tiers import DEFAULT_WINDOW
from leadtime.server.domain.oncall import change_failure_report, oncall_review
from leadtime.server.domain.weekly import weekly_report
from leadtime.server.presenters import change_failure_out, oncall_out
from leadtime.server.schemas import ChangeFailureOut, OncallWeekOut
from leadtime.server.schemas.weekly import WeeklyOut

router = APIRouter(prefix="/api/reports", tags=["reports"])


@router.get("/change-failure", dependencies=[Reader], response_model=list[ChangeFailureOut])
def get_change_failure(
    session: SessionDep,
    settings: SettingsDep,
    service: str | None = Query(None, description="One service (as deploys name it)."),
    window: str = Query(DEFAULT_WINDOW, description="How far back: e.g. 7d, 30d, 12w."),
) -> list[ChangeFailureOut]:
    """Per service: production deploys, how many were followed by a page they are the suspect
    of, the change failure rate, and the median and p90 failed deployment recovery time."""
    report = change_failure_report(
        session, settings, now(), duration_param(window, "window"), service
    )
    return change_failure_out(report)


@router.get("/oncall", dependencies=[Reader], response_model=list[OncallWeekOut])
def get_oncall(
    session: SessionDep,
    settings: SettingsDep,
    service: str | None = None,
    team: str | None = None,
    window: str = Query("28d", description="How far back: e.g. 28d, 12w."),
) -> list[OncallWeekOut]:
    """Per service, team and week: pages, pages out of hours, median time to acknowledge and to
    resolve, the noisiest titles, and whether the week had more pages than the limit."""
    weeks = oncall_review(session, settings, now(), duration_param(window, "window"), service, team)
    return oncall_out(weeks)


@router.get("/weekly", dependencies=[Reader], response_model=WeeklyOut)
def get_weekly(
    session: SessionDep,
    settings: SettingsDep,
    team: str = Query(description="A team's name (teams come from `leadtime people import`)."),
) -> WeeklyOut:
    """A team's weekly review over the last 7 days: lead time against the four weeks before,
    the slowest steps, change failure and recovery, pages, pages with no suspect confirmed, and
    unmapped authors; the numbers of the digest the team receives."""
    return WeeklyOut.model_validate(weekly_report(session, settings, team, now()))
