"""Bounds on every request, before and around any route: its body's size and its time.

A hung database (one that stops answering without resetting the connection) would otherwise
hold every request for as long as it hangs: past `LEADTIME_REQUEST_TIMEOUT_SECONDS` a request
is answered 503 with Retry-After. Work blocked in a thread cannot be interrupted; it finishes
(or fails) when the database answers or the connection dies (TCP keepalives, db.py), and its
result is dropped. That is safe because every write is idempotent: the client's retry is stored
once.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi.responses import JSONResponse

from leadtime.server.errors import LeadtimeError, PayloadTooLarge, Unavailable

log = logging.getLogger("leadtime.server")
UNBOUNDED_PATHS = ("/healthz",)  # answers at once; never waits on anything


def error_response(error: LeadtimeError) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": error.code, "message": error.message}},
        status_code=error.status,
        headers=error.headers or None,
    )


class Deadline:
    """Answer 503 for a request still unanswered after `seconds`; drop its late answer."""

    def __init__(self, app, seconds: float) -> None:
        self.app, self.seconds = app, seconds
        self.abandoned: set[asyncio.Task] = set()  # still running; kept so none is collected

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("path") in UNBOUNDED_PATHS:
            await self.app(scope, receive, send)
            return
        state = {"started": False, "late": False}

        async def send_in_time(message) -> None:
            if state["late"]:
                return  # the client was told 503 already
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        task = asyncio.ensure_future(self.app(scope, receive, send_in_time))
        # asyncio.wait, not wait_for: a route blocked in a thread cannot be cancelled, and
        # wait_for would wait for it all the same.
        done, _ = await asyncio.wait({task}, timeout=self.seconds)
        if done:
            task.result()  # re-raise what the app raised, as without this middleware
            return
        if state["started"]:
            await task  # an answer is on its way out; let it finish
            return
        state["late"] = True
        self.abandoned.add(task)
        task.add_done_callback(self._forget)
        log.warning(
            "%s %s took over %.0f s: answered 503", scope["method"], scope["path"], self.seconds
        )
        message = f"no answer within {self.seconds:g} s (the database may be hanging); retry later"
        await error_response(Unavailable(message))(scope, receive, send)

    def _forget(self, task: asyncio.Task) -> None:
        self.abandoned.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("a request answered 503 for its time failed later: %r", task.exception())


class BodyLimit:
    """Refuse request bodies over the limit with a 413 before any route sees them, whether
    their length is declared or they arrive in chunks (gzip is checked again after inflating,
    in ingest/otlp.py)."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send, f"body is {int(declared)} bytes")
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; the route will notice
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                await self._refuse(scope, receive, send, "body is")
                return
            more = message.get("more_body", False)
        body, delivered = b"".join(chunks), False

        async def replay():
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope, receive, send, what: str) -> None:
        error = PayloadTooLarge(f"{what} over the limit of {self.limit} bytes")
        await error_response(error)(scope, receive, send)
