"""Every state-changing dashboard form carries a CSRF token (beside the Origin check of
origins.py): a random value in a SameSite=Strict cookie that each HTML page also writes into its
forms; a form whose value does not match its cookie is refused. A page of another site can
neither read the cookie nor guess the value."""

from __future__ import annotations

import hmac
import secrets
from http.cookies import SimpleCookie

from fastapi import Request

from leadtime.server.errors import Forbidden

COOKIE = "leadtime_csrf"
FIELD = "csrf"


def _cookie_value(scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header is no cookie of ours
                return None
            if COOKIE in jar:
                return jar[COOKIE].value
    return None


class CsrfCookie:
    """ASGI middleware: give a browser its CSRF cookie with the first HTML page it gets. The
    value is made only for a page (a template asks for it, or the cookie is set): an API
    request, most of the traffic, costs no random bytes."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        existing = _cookie_value(scope)
        state = scope.setdefault("state", {})
        if existing:
            state["csrf_token"] = existing

        async def send_with_cookie(message) -> None:
            if message["type"] == "http.response.start" and existing is None:
                headers = list(message.get("headers", []))
                content_type = dict(headers).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    cookie = f"{COOKIE}={_token(state)}; Path=/; HttpOnly; SameSite=Strict"
                    headers.append((b"set-cookie", cookie.encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _token(state: dict) -> str:
    """The request's value: its cookie's, or one made now (and kept for its cookie)."""
    if "csrf_token" not in state:
        state["csrf_token"] = secrets.token_urlsafe(32)
    return state["csrf_token"]


def context(request: Request) -> dict:
    """For the templates: the value their forms carry."""
    return {"csrf_token": _token(request.scope.setdefault("state", {}))}


def check(request: Request, form: dict[str, list[str]]) -> None:
    sent = form.get(FIELD, [""])[0]
    expected = request.cookies.get(COOKIE, "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden("this form is stale or came from elsewhere: reload the page and try again")
