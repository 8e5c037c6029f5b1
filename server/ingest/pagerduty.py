"""PagerDuty V3 webhooks (`/webhooks/pagerduty`): incident.triggered, .acknowledged,
.unacknowledged, .resolved, .reopened and the rest as updates. Signed with X-PagerDuty-Signature
(LEADTIME_PAGERDUTY_WEBHOOK_SECRET), deduplicated on X-Webhook-Id. A ping, a note or a responder
event says nothing about a page: verified, no facts, a 2xx."""

from __future__ import annotations

from leadtime.server.errors import BadPayload, Unauthorized
from leadtime.server.ingest import payload as p
from leadtime.server.ingest.facts import (
    ACKNOWLEDGE,
    REOPEN,
    RESOLVE,
    TRIGGER,
    UNACKNOWLEDGE,
    UPDATE,
    Facts,
    PageFact,
)
from leadtime.server.ingest.source import Headers, WebhookSource, secret_value
from leadtime.server.settings import Settings
from leadtime.server.signatures import hmac_hex, matches_any
from leadtime.server.timeparse import parse_time

ACTIONS = {
    "incident.triggered": TRIGGER,
    "incident.acknowledged": ACKNOWLEDGE,
    "incident.unacknowledged": UNACKNOWLEDGE,
    "incident.resolved": RESOLVE,
    "incident.reopened": REOPEN,
}


def verify_signature(body: bytes, header: str | None, secret: str | None) -> None:
    """X-PagerDuty-Signature holds one or more `v1=<hex HMAC-SHA256 of the raw body>`; any match
    accepts (secrets rotate). No secret configured refuses every delivery."""
    if not secret:
        raise Unauthorized("PagerDuty deliveries are refused: LEADTIME_PAGERDUTY_WEBHOOK_SECRET")
    if not header:
        raise Unauthorized("X-PagerDuty-Signature is missing")
    given = [part.strip()[3:] for part in header.split(",") if part.strip().startswith("v1=")]
    if not matches_any(hmac_hex(secret, body), given):
        raise Unauthorized("X-PagerDuty-Signature does not match the body")


def verify(body: bytes, headers: Headers, settings: Settings) -> None:
    verify_signature(
        body,
        headers.get("x-pagerduty-signature"),
        secret_value(settings.pagerduty_webhook_secret),
    )


def parse(body: bytes, headers: Headers) -> Facts:
    return Facts(pages=page_facts(p.load_json(body)))


def page_facts(payload: dict) -> list[PageFact]:
    event = p.object_at(payload, "event", "")
    event_type = event.get("event_type")
    if not isinstance(event_type, str):
        raise BadPayload("event.event_type must be a string")
    data = event.get("data")
    if not event_type.startswith("incident.") or not isinstance(data, dict):
        return []  # pagey.ping, service events: verified, nothing to record
    if data.get("type") != "incident":
        return []  # notes, responders, tasks: about an incident, not a change to the page
    if not isinstance(data.get("id"), str):
        raise BadPayload("event.data.id must be the incident id")
    occurred = p.iso_time(event.get("occurred_at"), "event.occurred_at")
    action = ACTIONS.get(event_type, UPDATE)
    created = parse_time(data["created_at"]) if isinstance(data.get("created_at"), str) else None
    service = p.mapping(data.get("service"))
    teams = [t for t in p.items(data.get("teams")) if isinstance(t, dict)]
    return [
        PageFact(
            source="pagerduty",
            external_id=data["id"],
            action=action,
            at=created if action == TRIGGER and created else occurred,
            triggered_at=created,
            pager_service=p.text(service.get("summary")),
            title=p.text(data.get("title")),
            urgency=p.text(data.get("urgency")),
            team=p.text(teams[0].get("summary")) if teams else None,
            url=p.text(data.get("html_url")),
        )
    ]


SOURCE = WebhookSource(
    name="pagerduty",
    summary="PagerDuty V3 webhooks (incident.triggered, .acknowledged, .resolved, .reopened ...).",
    parse=parse,
    pager=True,
    verify=verify,
    delivery_headers=("x-webhook-id",),
)
