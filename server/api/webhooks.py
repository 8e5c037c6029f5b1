"""Receivers for the pagers: `/webhooks/pagerduty` (signed: X-PagerDuty-Signature),
`/webhooks/opsgenie` and `/webhooks/alertmanager` (unsigned by their senders: a bearer token,
which both can send). Each reads the raw body, verifies, parses, and records the delivery in one
transaction; a redelivery (PagerDuty's X-Webhook-Id) changes nothing. Deliveries they verify but
do not use (a ping, a note) get a 202 too: pagers disable hooks that keep getting 4xx."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from leadtime.server import recording, store
from leadtime.server.api.deps import SessionDep, SettingsDep, Writer
from leadtime.server.api.traces import read_limited
from leadtime.server.ingest import pages as page_events

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _accepted(pages: list, duplicate: bool = False) -> JSONResponse:
    return JSONResponse(
        {"accepted": len(pages), "pages": [page.id for page in pages], "duplicate": duplicate},
        status_code=202,
    )


def _record(session, facts, settings, source: str, delivery_id: str | None) -> JSONResponse:
    if delivery_id and not store.delivery_is_new(session, source, delivery_id):
        session.rollback()
        return _accepted([], duplicate=True)
    return _accepted(recording.record_pages(session, facts, settings))


@router.post("/pagerduty", status_code=202)
async def pagerduty(request: Request, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    """PagerDuty V3 webhooks (incident.triggered, .acknowledged, .resolved, .reopened ...)."""
    body = await read_limited(request, settings.max_body_bytes)
    secret = settings.pagerduty_webhook_secret
    page_events.verify_pagerduty(
        body,
        request.headers.get("x-pagerduty-signature"),
        secret.get_secret_value() if secret else None,
    )
    facts = page_events.from_pagerduty(page_events.load_json(body))
    delivery = request.headers.get("x-webhook-id")
    return await run_in_threadpool(_record, session, facts, settings, "pagerduty", delivery)


@router.post("/opsgenie", status_code=202, dependencies=[Writer])
async def opsgenie(request: Request, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    """Opsgenie outgoing webhooks (Create, Acknowledge, UnAcknowledge, Close)."""
    body = await read_limited(request, settings.max_body_bytes)
    facts = page_events.from_opsgenie(page_events.load_json(body))
    return await run_in_threadpool(_record, session, facts, settings, "opsgenie", None)


@router.post("/alertmanager", status_code=202, dependencies=[Writer])
async def alertmanager(
    request: Request, session: SessionDep, settings: SettingsDep
) -> JSONResponse:
    """Prometheus Alertmanager webhooks (version 4): each firing alert is a page."""
    body = await read_limited(request, settings.max_body_bytes)
    facts = page_events.from_alertmanager(page_events.load_json(body))
    return await run_in_threadpool(_record, session, facts, settings, "alertmanager", None)
