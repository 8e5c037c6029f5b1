"""Webhook receivers. Forges: `/webhooks/github` (X-Hub-Signature-256) and `/webhooks/gitlab`
(X-Gitlab-Token or a signing token). Pagers: `/webhooks/pagerduty` (X-PagerDuty-Signature),
`/webhooks/opsgenie` and `/webhooks/alertmanager` (unsigned by their senders: a bearer token,
which both can send). Each reads the raw body, verifies it before parsing, and records the
delivery in one transaction; a redelivery (X-GitHub-Delivery, GitLab's Idempotency-Key,
PagerDuty's X-Webhook-Id) changes nothing. Deliveries verified but of no use (a ping, a note, an
event we do not read) get a 202 too: forges and pagers disable hooks that keep getting 4xx."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from leadtime.server import recording, store
from leadtime.server.api.deps import SessionDep, SettingsDep, Writer
from leadtime.server.api.traces import read_limited
from leadtime.server.errors import UnsupportedMediaType
from leadtime.server.ingest import forges
from leadtime.server.ingest import pages as page_events

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _accepted(pages: list, duplicate: bool = False) -> JSONResponse:
    return JSONResponse(
        {"accepted": len(pages), "pages": [page.id for page in pages], "duplicate": duplicate},
        status_code=202,
    )


def _secret(value) -> str | None:
    return value.get_secret_value() if value is not None else None


def _record_forge(session, facts, settings, source: str, delivery_id: str | None) -> JSONResponse:
    if delivery_id and not store.delivery_is_new(session, source, delivery_id):
        session.rollback()
        return JSONResponse({"accepted": 0, "duplicate": True}, status_code=202)
    recorded = recording.record_forge(session, facts, settings)
    return JSONResponse({"accepted": recorded, "duplicate": False}, status_code=202)


@router.post("/github", status_code=202)
async def github(request: Request, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    """GitHub webhooks: pull_request (merged), push (to the default branch), deployment_status,
    workflow_run and workflow_job. Choose content type application/json."""
    body = await read_limited(request, settings.max_body_bytes)
    forges.verify_github(
        body, request.headers.get("x-hub-signature-256"), _secret(settings.github_webhook_secret)
    )
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise UnsupportedMediaType("set the webhook's content type to application/json")
    event = request.headers.get("x-github-event", "")
    facts = forges.github_facts(event, forges.parse(body))
    delivery = request.headers.get("x-github-delivery")
    answer = await run_in_threadpool(_record_forge, session, facts, settings, "github", delivery)
    if facts.deploys:
        request.app.state.alerts.deploy_arrived()
    return answer


@router.post("/gitlab", status_code=202)
async def gitlab(request: Request, session: SessionDep, settings: SettingsDep) -> JSONResponse:
    """GitLab webhooks: merge request (merged), push (to the default branch), pipeline and
    deployment events."""
    body = await read_limited(request, settings.max_body_bytes)
    forges.verify_gitlab(
        body,
        dict(request.headers),
        _secret(settings.gitlab_webhook_token),
        _secret(settings.gitlab_signing_token),
    )
    facts = forges.gitlab_facts(forges.parse(body))
    delivery = request.headers.get("idempotency-key") or request.headers.get("webhook-id")
    answer = await run_in_threadpool(_record_forge, session, facts, settings, "gitlab", delivery)
    if facts.deploys:
        request.app.state.alerts.deploy_arrived()
    return answer


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
