"""A write that needs a bearer token and sends no live one is refused with 401 before its body
is read: fifty unauthenticated 32 MiB uploads at once cost the server nothing but their headers
(before, each was buffered whole, then refused: 285 -> 1,392 MiB).

Which writes: POST, PUT, PATCH and DELETE under `/v1/` and `/api/`, and the webhooks of sources
that cannot sign (the bearer token stands in for a signature); signed webhooks are checked by
their signature, after the body. The route checks the token again with the scope it needs: this
only asks "is it a live token at all". Requests the access rules leave open (LEADTIME_AUTH=off,
or a direct loopback client on a loopback bind) and browsers with a session cookie (the route
checks the session) pass untouched. The token found is noted on the request (its name and
scopes, `request.state.token`), so the route checks its scope without looking it up again.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from leadtime.server import auth
from leadtime.server.api.deps import direct_loopback_client
from leadtime.server.errors import Unauthorized, Unavailable
from leadtime.server.ingest.webhooks import SOURCES
from leadtime.server.limits import error_response
from leadtime.server.settings import Settings

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
UNSIGNED_WEBHOOKS = tuple(f"/webhooks/{source.name}" for source in SOURCES if not source.verify)


def needs_bearer(method: str, path: str) -> bool:
    if method not in UNSAFE_METHODS:
        return False
    return path.startswith(("/v1/", "/api/")) or path in UNSIGNED_WEBHOOKS


class TokenBeforeBody:
    def __init__(self, app, settings: Settings, sessions) -> None:
        self.app, self.settings, self.sessions = app, settings, sessions

    async def __call__(self, scope, receive, send) -> None:
        request = Request(scope) if scope["type"] == "http" else None
        if request is not None and self._checked(request):
            try:
                found = await run_in_threadpool(self._live, request.headers.get("authorization"))
            except Unauthorized as error:
                await error_response(error)(scope, receive, send)
                return
            except SQLAlchemyError:  # outside the routes' handlers: the same 503 they give
                unavailable = Unavailable("database unavailable; retry later")
                await error_response(unavailable)(scope, receive, send)
                return
            request.state.token = found
        await self.app(scope, receive, send)

    def _checked(self, request: Request) -> bool:
        if self.settings.auth == "off" or not needs_bearer(request.method, request.url.path):
            return False
        if self.settings.writes_open_to_loopback and direct_loopback_client(request):
            return False
        return auth.SESSION_COOKIE not in request.cookies

    def _live(self, authorization: str | None) -> auth.TokenSeen:
        with self.sessions() as session:
            row = auth.live_token(session, authorization)
            return auth.TokenSeen(row.name, row.scope_names)
