"""The dashboard's pages about people: who is who (`/people`: everyone with their identities
and teams, and the authors nobody is mapped to, with where they appear) and a team's weekly
review (`/weekly?team=`), the numbers of `GET /api/reports/weekly` and of the digest."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from leadtime.server.api.deps import Reader, SessionDep, SettingsDep, now
from leadtime.server.dashboard.views import templates
from leadtime.server.domain import people
from leadtime.server.domain.digest_text import render
from leadtime.server.domain.weekly import weekly_report
from leadtime.server.store import people as stored_people

router = APIRouter(include_in_schema=False, dependencies=[Reader])


@router.get("/people", response_class=HTMLResponse)
def people_page(request: Request, session: SessionDep) -> HTMLResponse:
    return templates.TemplateResponse(request, "people.html", people.people_report(session))


@router.get("/weekly", response_class=HTMLResponse)
def weekly_page(
    request: Request, session: SessionDep, settings: SettingsDep, team: str | None = None
) -> HTMLResponse:
    teams = [t.name for t in stored_people.teams(session)]
    if team is None:
        return templates.TemplateResponse(request, "weekly.html", {"teams": teams, "report": None})
    report = weekly_report(session, settings, team, now())
    shown = {"teams": teams, "report": report, "lines": render(report)}
    return templates.TemplateResponse(request, "weekly.html", shown)
