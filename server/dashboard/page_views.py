"""The dashboard's pages about pages: the list with suspect deploys, one page with its suspect,
candidates and the buttons to confirm, reassign or clear the link, and the on-call review.
The same domain results as the JSON API (api/pages.py, api/oncall.py)."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from leadtime.server import store
from leadtime.server.api.deps import (
    Reader,
    RowId,
    SessionDep,
    SettingsDep,
    Writer,
    duration_param,
    now,
)
from leadtime.server.dashboard import csrf
from leadtime.server.dashboard.views import templates, window_href
from leadtime.server.domain import suspects
from leadtime.server.domain.dora_tiers import DEFAULT_WINDOW
from leadtime.server.domain.oncall import change_failure_report, oncall_review
from leadtime.server.errors import BadPayload
from leadtime.server.presenters import change_failure_out, oncall_out, pages_out

ONCALL_WINDOWS = ("7d", "28d", "90d", "365d")  # the review reads whole weeks

router = APIRouter(include_in_schema=False, dependencies=[Reader])


@router.get("/pages", response_class=HTMLResponse)
def pages_list(
    request: Request,
    session: SessionDep,
    service: str | None = None,
    unmatched: bool | None = None,
) -> HTMLResponse:
    query = store.pages_query(service, unmatched=unmatched, limit=200)
    pages = pages_out(session, list(session.scalars(query)))
    return templates.TemplateResponse(
        request, "pages.html", {"pages": pages, "service": service, "unmatched": unmatched}
    )


@router.get("/pages/{page_id}", response_class=HTMLResponse)
def page_detail(request: Request, page_id: RowId, session: SessionDep) -> HTMLResponse:
    (page,) = pages_out(session, [store.page(session, page_id)])
    return templates.TemplateResponse(request, "page.html", {"page": page})


@router.post("/pages/{page_id}/link", dependencies=[Writer])
async def page_link(
    request: Request, page_id: RowId, session: SessionDep, settings: SettingsDep
) -> RedirectResponse:
    """The buttons of the page view: a plain form post, then back to the page."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    csrf.check(request, form)
    action = form.get("action", [""])[0]
    if action not in ("confirm", "reassign", "clear", "auto"):
        raise BadPayload(f"action {action!r}: confirm, reassign, clear or auto")
    deploy = form.get("deploy_id", [""])[0]
    page = store.page(session, page_id)
    suspects.decide(session, page, action, int(deploy) if deploy.isdigit() else None, settings)
    return RedirectResponse(f"/pages/{page_id}", status_code=303)


@router.get("/oncall", response_class=HTMLResponse)
def oncall(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    window: str = Query(ONCALL_WINDOWS[1]),
    team: str | None = None,
) -> HTMLResponse:
    span = duration_param(window, "window")
    # the change failure rate over the window every other view of it uses, not the review's
    failure_span = duration_param(DEFAULT_WINDOW, "window")
    failures = change_failure_out(
        change_failure_report(session, settings, now(), failure_span, None)
    )
    weeks = oncall_out(oncall_review(session, settings, now(), span, None, team))
    return templates.TemplateResponse(
        request,
        "oncall.html",
        {
            "failures": failures,
            "weeks": weeks,
            "window": window,
            "windows": ONCALL_WINDOWS,
            "window_href": window_href("/oncall", team=team),
            "failure_window": DEFAULT_WINDOW,
            "team": team,
            "limit": settings.weekly_page_limit,
            "now": now(),
        },
    )
