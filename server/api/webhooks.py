"""Webhook receivers, one route per source of ingest/webhooks.py: `/webhooks/<name>` reads the
raw body, verifies it before parsing (the source's signature, or the API's bearer token for
sources that cannot sign), and records the facts in one transaction; a redelivery (the source's
delivery id) changes nothing. Deliveries verified but of no use (a ping, a note, an event we do
not read) get a 202 too: forges and pagers disable hooks that keep getting 4xx."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from leadtime.server import recording, store
from leadtime.server.api.deps import SessionDep, SettingsDep, Writer
from leadtime.server.api.traces import read_limited
from leadtime.server.ingest.facts import Facts
from leadtime.server.ingest.source import WebhookSource
from leadtime.server.ingest.webhooks import SOURCES
from leadtime.server.settings import Settings

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _record(
    session: Session,
    facts: Facts,
    settings: Settings,
    source: WebhookSource,
    delivery_id: str | None,
) -> JSONResponse:
    duplicate = delivery_id is not None and not store.delivery_is_new(
        session, source.name, delivery_id
    )
    pages = [] if duplicate else recording.record_facts(session, facts, settings)
    answer: dict = {"accepted": 0 if duplicate else facts.count(), "duplicate": duplicate}
    if source.pager:
        answer["pages"] = [page.id for page in pages]
    return JSONResponse(answer, status_code=202)


def _verified_facts(source: WebhookSource, body: bytes, headers, settings: Settings) -> Facts:
    if source.verify is not None:
        source.verify(body, headers, settings)
    return source.parse(body, headers)


def _receiver(source: WebhookSource) -> Callable[..., Awaitable[JSONResponse]]:
    async def receive(request: Request, session: SessionDep, settings: SettingsDep) -> JSONResponse:
        body = await read_limited(request, settings.max_body_bytes)
        # Verifying and parsing a large delivery take time: in the thread pool, like the
        # database work, so the event loop keeps answering everyone else.
        facts = await run_in_threadpool(_verified_facts, source, body, request.headers, settings)
        delivery = source.delivery_id(request.headers)
        answer = await run_in_threadpool(_record, session, facts, settings, source, delivery)
        if facts.deploys:
            request.app.state.alerts.deploy_arrived()
        return answer

    receive.__doc__ = source.summary
    return receive


for _source in SOURCES:
    router.add_api_route(
        f"/{_source.name}",
        _receiver(_source),
        methods=["POST"],
        status_code=202,
        name=f"webhook_{_source.name}",
        dependencies=[] if _source.verify else [Writer],
    )
