"""Signing in to the dashboard when reads need a token (LEADTIME_READ_AUTH=on): a page asks for
a token with the `read` scope once and exchanges it for a session cookie (auth.py); every
dashboard page without one sends the browser here first. Signing out drops the cookie. Both
forms carry the CSRF token (csrf.py)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from leadtime.server import auth
from leadtime.server.api.deps import SessionDep
from leadtime.server.dashboard import csrf
from leadtime.server.dashboard.views import templates
from leadtime.server.errors import Forbidden, Unauthorized

router = APIRouter(include_in_schema=False)


def local_path(target: str | None) -> str:
    """Where to go after signing in: a path of this server only, never another site."""
    target = target or "/"
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def _form_page(request: Request, target: str, error: str | None, status: int) -> HTMLResponse:
    context = {"next": local_path(target), "error": error}
    return templates.TemplateResponse(request, "sign_in.html", context, status_code=status)


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str = "/") -> HTMLResponse:
    return _form_page(request, next, None, 200)


@router.post("/sign-in")
async def sign_in(request: Request, session: SessionDep) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    csrf.check(request, form)
    target = local_path(form.get("next", ["/"])[0])
    token = form.get("token", [""])[0].strip()
    try:
        row = auth.check_bearer(session, f"Bearer {token}", auth.READ)
    except (Unauthorized, Forbidden) as error:
        return _form_page(request, target, error.message, error.status)
    answer = RedirectResponse(target, status_code=303)
    answer.set_cookie(
        auth.SESSION_COOKIE,
        auth.session_value(row, time.time()),
        max_age=auth.SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return answer


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    csrf.check(request, parse_qs((await request.body()).decode("utf-8", "replace")))
    answer = RedirectResponse("/sign-in", status_code=303)
    answer.delete_cookie(auth.SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return answer
