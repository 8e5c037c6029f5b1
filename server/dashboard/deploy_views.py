"""The dashboard's deploys page: every deploy of a window with its environment, status,
duration, what it shipped, its flags and the pages it is the suspect of; the JSON twin is
`GET /api/deploys` (the same presenter)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from leadtime.server import store
from leadtime.server.api.deps import Reader, SessionDep, duration_param, now
from leadtime.server.dashboard.views import ALL, WINDOWS, templates, window_href
from leadtime.server.presenters import deploys_out

router = APIRouter(include_in_schema=False, dependencies=[Reader])
SHOWN = 500  # deploys on one page, newest first


@router.get("/deploys", response_class=HTMLResponse)
def deploys_page(
    request: Request,
    session: SessionDep,
    service: str | None = None,
    environment: str | None = None,
    window: str = Query("30d"),
) -> HTMLResponse:
    since = None if window == ALL else now() - duration_param(window, "window")
    found = store.deploys_query(service, environment, since, SHOWN)
    deploys = deploys_out(session, list(session.scalars(found)))
    shown = {
        "deploys": deploys,
        "service": service,
        "environment": environment,
        "window": window,
        "windows": WINDOWS,
        "window_href": window_href("/deploys", service=service, environment=environment),
        "limited": len(deploys) == SHOWN,
    }
    return templates.TemplateResponse(request, "deploys.html", shown)
