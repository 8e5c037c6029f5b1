"""Opsgenie outgoing webhooks (`/webhooks/opsgenie`): Create, Acknowledge, UnAcknowledge and
Close. Opsgenie cannot sign its deliveries; it sends the API's bearer token instead (a custom
header in the integration). AddNote, AddTag, Escalate ... say nothing about a page's state."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from leadtime.server.errors import BadPayload
from leadtime.server.ingest import payload as p
from leadtime.server.ingest.facts import (
    ACKNOWLEDGE,
    RESOLVE,
    TRIGGER,
    UNACKNOWLEDGE,
    Facts,
    PageFact,
)
from leadtime.server.ingest.source import Headers, WebhookSource

ACTIONS = {
    "Create": TRIGGER,
    "Acknowledge": ACKNOWLEDGE,
    "UnAcknowledge": UNACKNOWLEDGE,
    "Close": RESOLVE,
}


def _epoch(value: Any, divisor: int, where: str) -> datetime:
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise BadPayload(f"{where} must be a positive epoch number")
    return datetime.fromtimestamp(value / divisor, UTC)


def _service(alert: dict) -> str | None:
    for tag in p.items(alert.get("tags")):
        if isinstance(tag, str) and tag.startswith("service:"):
            return tag.removeprefix("service:").strip() or None
    return p.text(alert.get("entity"))


def parse(body: bytes, headers: Headers) -> Facts:
    return Facts(pages=page_facts(p.load_json(body)))


def page_facts(payload: dict) -> list[PageFact]:
    action = payload.get("action")
    if not isinstance(action, str):
        raise BadPayload("action must be a string")
    alert = p.object_at(payload, "alert", "")
    if action not in ACTIONS:
        return []  # AddNote, AddTag, Escalate ...: nothing about the page's state
    if not isinstance(alert.get("alertId"), str):
        raise BadPayload("alert.alertId must be a string")
    # createdAt is in epoch milliseconds, updatedAt in nanoseconds
    created = _epoch(alert.get("createdAt"), 1_000, "alert.createdAt")
    if action == "Create":
        at = created
    else:
        at = _epoch(alert.get("updatedAt"), 1_000_000_000, "alert.updatedAt")
    teams = [t for t in p.items(alert.get("teams")) if isinstance(t, str)]
    return [
        PageFact(
            source="opsgenie",
            external_id=alert["alertId"],
            action=ACTIONS[action],
            at=at,
            triggered_at=created,
            pager_service=_service(alert),
            title=p.text(alert.get("message")),
            urgency=p.text(alert.get("priority")),
            team=teams[0] if teams else None,
        )
    ]


SOURCE = WebhookSource(
    name="opsgenie",
    summary="Opsgenie outgoing webhooks (Create, Acknowledge, UnAcknowledge, Close).",
    parse=parse,
    pager=True,
    verify=None,
)
