"""What every route may ask for: a database session, settings, and the token check."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi import Path as PathParam
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from leadtime.server import auth
from leadtime.server.errors import BadPayload
from leadtime.server.settings import Settings
from leadtime.server.timeparse import parse_duration, parse_time

READ_METHODS = ("GET", "HEAD")


async def write_turn(request: Request) -> AsyncIterator[None]:
    """On SQLite, a write request's turn: one writer at a time per process, in the order they
    came, from before its first statement until after its commit. SQLite lets one writer in at a
    time anyway; without turns the others poll the file lock with growing sleeps (up to 100 ms
    each), and a read that turns into a write may fail at once. The wait is on the event loop,
    never in a worker thread, so a writer that holds the turn always finds a thread to finish."""
    turns = request.app.state.write_turns
    if turns is None or request.method in READ_METHODS:
        yield
        return
    async with turns:
        yield


def get_session(
    request: Request, _turn: Annotated[None, Depends(write_turn, scope="function")]
) -> Iterator[Session]:
    """The request's unit of work: a write route's is committed when the route returns (before
    the answer leaves, so a failed commit is the client's error or a 503, never a lost 2xx); one
    that raises is rolled back; a read route's is never committed (reads never write)."""
    with request.app.state.sessions() as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        if request.method in READ_METHODS:
            session.rollback()
        else:
            session.commit()


async def get_settings(request: Request) -> Settings:
    # async: a plain function would be called in a worker thread, a hop there and back.
    return request.app.state.settings


# scope="function": the commit above runs before the response is sent, not after it.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
MAX_ID = 2**31 - 1  # ids are INTEGER columns: the largest both databases store
RowId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="The row's id.")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


LOOPBACK_PEERS = ("127.0.0.1", "::1")
# Any of these says a proxy passed the request on: its real client is somewhere else.
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def direct_loopback_client(request: Request) -> bool:
    """The request's peer is this machine and no proxy forwarded it (a proxy on the same host
    connects from loopback too, on behalf of anyone)."""
    peer = request.client.host if request.client else ""
    forwarded = any(name in request.headers for name in FORWARDING_HEADERS)
    return (peer in LOOPBACK_PEERS or peer.startswith("127.")) and not forwarded


def _require(scope: str):
    def require(
        request: Request,
        session: SessionDep,
        settings: SettingsDep,
        authorization: Annotated[str | None, Header()] = None,
    ) -> None:
        _check_write(request, session, settings, authorization, scope)

    return require


async def require_span_writer(request: Request) -> None:
    """The ingest check of a route that writes through group_writer.py: it holds no session or
    write turn of its own. The token the early check found (api/early_auth.py) needs no
    database; only a browser's session cookie is looked up, in a worker thread. Called by the
    route itself, not as a dependency: FastAPI's solving of one was an eighth of the server's
    time on one-span requests."""
    if _open_to(request, request.app.state.settings) or _checked_early(request, auth.INGEST):
        return
    authorization = request.headers.get("authorization")

    def look_up() -> None:
        with request.app.state.sessions() as session:
            _check(request, session, authorization, auth.INGEST)

    await run_in_threadpool(look_up)


def _check_write(
    request: Request, session: Session, settings: Settings, authorization: str | None, scope: str
) -> None:
    if not _open_to(request, settings):
        _check(request, session, authorization, scope)


def _open_to(request: Request, settings: Settings) -> bool:
    """Writes need a token with their scope unless LEADTIME_AUTH=off, or `auto` on a loopback
    bind for a client on this machine that came straight here."""
    if settings.auth == "off":
        return True
    return settings.writes_open_to_loopback and direct_loopback_client(request)


def _checked_early(request: Request, scope: str) -> bool:
    seen = getattr(request.state, "token", None)
    if isinstance(seen, auth.TokenSeen):  # found live before the body was read
        auth.check_seen(seen, scope)
        return True
    return False


def require_read(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    if settings.reads_need_token:
        _check(request, session, authorization, auth.READ)


def _check(request: Request, session: Session, authorization: str | None, scope: str) -> None:
    if _checked_early(request, scope):
        return
    cookie = request.cookies.get(auth.SESSION_COOKIE)
    auth.check_credentials(session, authorization, cookie, scope, time.time())


def now() -> datetime:
    return datetime.now(UTC)


def time_param(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    parsed = parse_time(value)
    if parsed is None:
        raise BadPayload(f"{name}={value!r} is not an ISO 8601 time (e.g. 2026-11-22T09:00:00Z)")
    return parsed


def duration_param(value: str, name: str):
    try:
        return parse_duration(value)
    except ValueError as error:
        raise BadPayload(f"{name}: {error}") from error


Writer = Depends(_require(auth.INGEST))  # what CI and forges report
Admin = Depends(_require(auth.ADMIN))  # how the server judges and whom it tells
Reader = Depends(require_read)
