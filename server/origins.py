"""What a state-changing request must look like before any route sees it.

- **Not from another site's page.** A browser says where a request comes from: a POST, PUT,
  PATCH or DELETE whose `Origin` is not this server (its `Host`, or LEADTIME_PUBLIC_URL), or
  whose `Sec-Fetch-Site` is `cross-site`, is refused with 403: another site's page cannot make a
  visitor's browser write here (CSRF), not even a `no-cors` post to a server open on loopback.
  Clients that are not browsers (CI, forges, pagers, curl) send neither header.
- **JSON where JSON is read.** A body sent to `/api/...` or `/webhooks/...` must say
  `application/json` (or a `+json` type); anything else, `text/plain` above all (which a page
  may send anywhere without asking), is a 415. `/v1/traces` checks its own (OTLP's) types.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from leadtime.server.errors import Forbidden, UnsupportedMediaType
from leadtime.server.limits import error_response

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
JSON_PATHS = ("/api/", "/webhooks/")


def _json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _has_body(headers: dict[bytes, bytes]) -> bool:
    length = headers.get(b"content-length", b"").strip()
    return b"transfer-encoding" in headers or (length.isdigit() and int(length) > 0)


class RequestShape:
    """ASGI middleware for the two rules above."""

    def __init__(self, app, public_url: str | None = None) -> None:
        self.app = app
        self.own_hosts = {urlsplit(public_url).netloc.lower()} if public_url else set()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE_METHODS:
            problem = self._problem(scope)
            if problem is not None:
                await error_response(problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _problem(self, scope) -> Forbidden | UnsupportedMediaType | None:
        headers = dict(scope["headers"])
        origin = headers.get(b"origin", b"").decode("latin-1").strip()
        site = headers.get(b"sec-fetch-site", b"").decode("latin-1").strip().lower()
        host = headers.get(b"host", b"").decode("latin-1").strip().lower()
        if site == "cross-site" or (
            origin and urlsplit(origin).netloc.lower() not in {host, *self.own_hosts}
        ):
            return Forbidden(
                f"cross-origin request refused (Origin {origin or 'not given'}, this is {host}): "
                "pages of other sites cannot write here"
            )
        path = str(scope.get("path", ""))
        if path.startswith(JSON_PATHS) and _has_body(headers):
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            if not _json(content_type):
                return UnsupportedMediaType(
                    f"Content-Type {content_type or 'missing'!r}: send application/json"
                )
        return None
