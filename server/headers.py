"""Headers every answer carries, so a browser never runs or frames what the server shows: a
Content-Security-Policy that allows only the server's own scripts and styles (inline style
attributes are the charts' geometry), no framing, no MIME sniffing, no referrer to elsewhere.
`/docs` too: its Swagger UI is served from the app's own assets (api/docs.py).
"""

from __future__ import annotations

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
FIXED = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [*FIXED, (b"content-security-policy", CSP.encode())]

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                added = [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def http_link(url: object) -> str | None:
    """`url` when it is an http(s) URL, else None: a link a page shows can never be
    `javascript:` or `data:`, whatever a span or a pager said."""
    text = str(url or "").strip()
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    return text if scheme in ("http", "https") and text[len(scheme) :].startswith("://") else None
