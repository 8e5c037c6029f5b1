"""create_app(settings): the FastAPI application, its database and its error handling.

Every error leaves as `{"error": {"code", "message"}}` with a 4xx status that says what was
wrong; a database that is down or busy is a 503 with Retry-After (retryable by OTLP clients and
forges); nothing is ever half stored, since each request is one transaction.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from leadtime.server import db
from leadtime.server.alerting import AlertWorker
from leadtime.server.api import (
    alerts,
    backfill,
    deploy_rules,
    deploys,
    docs,
    health,
    merges,
    mergesets,
    metrics,
    oncall,
    pages,
    people,
    pipelines,
    reports,
    summary,
    traces,
    webhooks,
)
from leadtime.server.api.early_auth import TokenBeforeBody
from leadtime.server.dashboard import deploy_views, page_views, people_views, signin
from leadtime.server.dashboard import views as dashboard
from leadtime.server.dashboard.csrf import CsrfCookie
from leadtime.server.domain.dora_tiers import parse_tiers
from leadtime.server.domain.service_map import load_service_map
from leadtime.server.errors import LeadtimeError, Unavailable
from leadtime.server.feedback_worker import FeedbackWorker
from leadtime.server.group_writer import GroupWriter
from leadtime.server.headers import SecurityHeaders
from leadtime.server.housekeeping import Housekeeping
from leadtime.server.limits import BodyLimit, Deadline
from leadtime.server.origins import RequestShape
from leadtime.server.settings import Settings
from leadtime.tracer import __version__

log = logging.getLogger("leadtime.server")


def _error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def _validation_message(error: RequestValidationError) -> str:
    parts = []
    for problem in error.errors()[:10]:
        where = ".".join(str(part) for part in problem.get("loc", ()) if part != "body")
        parts.append(f"{where}: {problem.get('msg')}" if where else str(problem.get("msg")))
    return "; ".join(parts)


MACHINE_PATHS = ("/api", "/v1", "/webhooks", "/healthz", "/readyz", "/docs", "/openapi.json")


def _wants_page(request: Request) -> bool:
    """A person in a browser on a dashboard page gets an HTML error; machines get JSON."""
    return not request.url.path.startswith(MACHINE_PATHS) and "text/html" in request.headers.get(
        "accept", ""
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LeadtimeError)
    async def leadtime_error(request: Request, error: LeadtimeError):
        if _wants_page(request) and error.status == 401 and request.method == "GET":
            back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/sign-in?next={quote(back)}", status_code=303)
        if _wants_page(request):
            return dashboard.error_page(request, error.status, error.message)
        return _error(error.status, error.code, error.message, error.headers or None)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        """Routing's own errors (no such path, method not allowed) in the one error shape."""
        message = {404: f"no such path: {request.url.path}", 405: "method not allowed"}.get(
            error.status_code, str(error.detail)
        )
        if _wants_page(request):
            return dashboard.error_page(request, error.status_code, message)
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return _error(error.status_code, code, message, dict(error.headers or {}) or None)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError):
        if _wants_page(request):
            return dashboard.error_page(request, 422, _validation_message(error))
        return _error(422, "invalid", _validation_message(error))

    @app.exception_handler(OperationalError)
    @app.exception_handler(PoolTimeout)
    async def database_unavailable(_request: Request, error: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", error)
        return _error(
            503, Unavailable.code, "database unavailable; retry later", Unavailable.headers
        )

    @app.exception_handler(DataError)
    async def value_refused(_request: Request, error: DataError) -> JSONResponse:
        # A value the database cannot hold (a NUL byte, a number out of range, a name too
        # long): the client's to fix, and the transaction stored nothing.
        reason = str(error.orig).splitlines()[0] if error.orig else "a value does not fit"
        return _error(400, "bad_payload", f"the database refused a value: {reason}")

    @app.exception_handler(IntegrityError)
    async def concurrent_write(_request: Request, error: IntegrityError) -> JSONResponse:
        # Unique keys make every write idempotent; one that still collides raced another
        # server's write of the same fact, and is safe to send again.
        log.warning("write collided with a concurrent one: %s", error.orig)
        return _error(
            503, Unavailable.code, "a concurrent write got there first; retry", Unavailable.headers
        )

    @app.exception_handler(DBAPIError)
    async def database_error(_request: Request, error: DBAPIError) -> JSONResponse:
        if error.connection_invalidated:
            return _error(
                503, Unavailable.code, "database connection lost; retry later", Unavailable.headers
            )
        raise error


def prepare_routes(app: FastAPI) -> None:
    """Have FastAPI prepare every included router's routes now. Since 0.16x it does so on the
    first request that reaches each router: 70 of the 120 ms of the first `/api/mergesets`
    after a start, on a 2-core machine. A FastAPI without that step has nothing to prepare."""
    for route in app.router.routes:
        for prepare in ("effective_candidates", "effective_low_priority_routes"):
            step = getattr(route, prepare, None)
            if callable(step):
                step()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    parse_tiers(settings.dora_tiers)  # a bad bound stops the server here, not on a read
    engine = db.make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if settings.migrate_on_start:
            db.upgrade(engine)
        prepare_routes(app)
        if settings.service_map_file:
            with db.unit_of_work(app.state.sessions) as session:
                load_service_map(session, settings.service_map_file, settings)
        if settings.alerts_enabled:
            app.state.alerts.start()
        if settings.housekeeping_enabled:
            app.state.housekeeping.start()
        if settings.feedback_enabled:
            app.state.feedback.start()
        yield
        app.state.feedback.stop()
        app.state.housekeeping.stop()
        app.state.alerts.stop()
        engine.dispose()

    app = FastAPI(
        title="leadtime",
        version=__version__,
        description="Merge-to-deploy lead time per mergeset, from OTLP spans and deploy reports.",
        lifespan=lifespan,
        docs_url=None,  # api/docs.py serves Swagger UI from local assets instead of a CDN
        redoc_url=None,
        # FastAPI's own OpenTelemetry off: the server measures itself on /metrics, FastAPI's
        # asked on every request whether a tracer provider had been set (3-4% of the event
        # loop's time on one-span posts), and one made from a CI job's OTEL_* variables
        # would send the server's spans to itself
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = db.session_factory(engine)
    app.state.write_turns = asyncio.Lock() if engine.dialect.name == "sqlite" else None
    app.state.alerts = AlertWorker(app.state.sessions, settings)
    app.state.group_writer = GroupWriter(
        app.state.sessions, settings, app.state.write_turns, app.state.alerts.deploy_arrived
    )
    app.state.feedback = FeedbackWorker(app.state.sessions, settings)
    app.state.housekeeping = Housekeeping(
        app.state.sessions, settings.step_retention_days, settings.main_branch_names
    )
    install_error_handlers(app)
    # Innermost first: the deadline counts from a body fully read, so a slow upload is not a
    # hanging database.
    app.add_middleware(Deadline, seconds=settings.request_timeout_seconds)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(TokenBeforeBody, settings=settings, sessions=app.state.sessions)
    app.add_middleware(RequestShape, public_url=settings.public_url)
    app.add_middleware(CsrfCookie)
    app.add_middleware(SecurityHeaders)
    for module in (
        health,
        traces,
        merges,
        deploys,
        deploy_rules,
        backfill,
        mergesets,
        pipelines,
        summary,
        reports,
        alerts,
        pages,
        webhooks,
        oncall,
        people,
        metrics,
    ):
        app.include_router(module.router)
    app.include_router(dashboard.router)
    app.include_router(page_views.router)
    app.include_router(deploy_views.router)
    app.include_router(people_views.router)
    app.include_router(signin.router)
    app.include_router(docs.router)
    app.mount("/docs/assets", StaticFiles(directory=docs.ASSETS), name="docs-assets")
    app.mount("/static", StaticFiles(directory=dashboard.STATIC), name="static")
    return app
