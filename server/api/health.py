"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: the database answers and
its schema is current; with each alert notifier's state as detail)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from leadtime.server import db
from leadtime.server.notify import dispatch

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict:
    # async: answered on the event loop itself, never queued behind database work in the
    # thread pool, which is what a liveness probe must tell apart.
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    engine = request.app.state.engine
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        behind = db.pending_migrations(engine)
    except SQLAlchemyError as error:
        detail = str(getattr(error, "orig", None) or error).strip().splitlines()
        reason = f"database unreachable: {detail[0] if detail else type(error).__name__}"
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
    if behind:
        reason = "database schema is behind: run `leadtime db upgrade`"
        return JSONResponse({"status": "unavailable", "reason": reason}, status_code=503)
    with request.app.state.sessions() as session:
        notifiers = dispatch.health(session)
    # A failing notifier is reported, not fatal: the server still takes everything in.
    return JSONResponse(
        {"status": "ready", "database": engine.dialect.name, "notifiers": notifiers}
    )
