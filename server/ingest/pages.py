"""Pages from pagers, as plain facts: PagerDuty V3 webhooks, Opsgenie outgoing webhooks and
Prometheus Alertmanager webhooks (version 4) in, PageFacts out. Bytes in; nothing here touches the
database. Events that say nothing about a page (a ping, a note) give no facts; a body that is not
what the source sends is a BadPayload naming what is wrong."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from leadtime.server.errors import BadPayload, Unauthorized
from leadtime.server.timeparse import parse_time

TRIGGER, ACKNOWLEDGE, UNACKNOWLEDGE, RESOLVE, REOPEN, UPDATE = (
    "trigger",
    "acknowledge",
    "unacknowledge",
    "resolve",
    "reopen",
    "update",
)
ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt while an alert still fires


@dataclass(frozen=True)
class PageFacts:
    source: str
    external_id: str
    action: str
    at: datetime  # when this happened (triggered, acknowledged, resolved ...)
    triggered_at: datetime | None = None  # when the page itself triggered, where the event says
    pager_service: str | None = None
    title: str | None = None
    urgency: str | None = None
    team: str | None = None
    url: str | None = None


def load_json(body: bytes) -> dict:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BadPayload(f"body is not JSON: {error}") from error
    if not isinstance(payload, dict):
        raise BadPayload("body must be a JSON object")
    return payload


def _time(value, field: str) -> datetime:
    parsed = parse_time(value) if isinstance(value, str) else None
    if parsed is None:
        raise BadPayload(f"{field}: {value!r} is not an ISO 8601 time")
    return parsed


def _object(payload: dict, key: str, where: str) -> dict:
    value = payload.get(key)
    if not isinstance(value, dict):
        raise BadPayload(f"{where}{key} must be an object")
    return value


def items(value) -> list:
    """A payload's list field, or no items when it is anything else."""
    return value if isinstance(value, list) else []


def _text(value) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


# PagerDuty V3 -----------------------------------------------------------------------------------

PAGERDUTY_ACTIONS = {
    "incident.triggered": TRIGGER,
    "incident.acknowledged": ACKNOWLEDGE,
    "incident.unacknowledged": UNACKNOWLEDGE,
    "incident.resolved": RESOLVE,
    "incident.reopened": REOPEN,
}


def verify_pagerduty(body: bytes, header: str | None, secret: str | None) -> None:
    """X-PagerDuty-Signature holds one or more `v1=<hex HMAC-SHA256 of the raw body>`; any match
    accepts (secrets rotate). No secret configured refuses every delivery."""
    if not secret:
        raise Unauthorized("PagerDuty deliveries are refused: LEADTIME_PAGERDUTY_WEBHOOK_SECRET")
    if not header:
        raise Unauthorized("X-PagerDuty-Signature is missing")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    given = [part.strip()[3:] for part in header.split(",") if part.strip().startswith("v1=")]
    if not any(hmac.compare_digest(expected, signature) for signature in given):
        raise Unauthorized("X-PagerDuty-Signature does not match the body")


def from_pagerduty(payload: dict) -> list[PageFacts]:
    event = _object(payload, "event", "")
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
    occurred = _time(event.get("occurred_at"), "event.occurred_at")
    action = PAGERDUTY_ACTIONS.get(event_type, UPDATE)
    created = parse_time(data["created_at"]) if isinstance(data.get("created_at"), str) else None
    service = data.get("service") if isinstance(data.get("service"), dict) else {}
    teams = [t for t in items(data.get("teams")) if isinstance(t, dict)]
    return [
        PageFacts(
            source="pagerduty",
            external_id=data["id"],
            action=action,
            at=created if action == TRIGGER and created else occurred,
            triggered_at=created,
            pager_service=_text(service.get("summary")),
            title=_text(data.get("title")),
            urgency=_text(data.get("urgency")),
            team=_text(teams[0].get("summary")) if teams else None,
            url=_text(data.get("html_url")),
        )
    ]


# Opsgenie ---------------------------------------------------------------------------------------

OPSGENIE_ACTIONS = {
    "Create": TRIGGER,
    "Acknowledge": ACKNOWLEDGE,
    "UnAcknowledge": UNACKNOWLEDGE,
    "Close": RESOLVE,
}


def _epoch(value, divisor: int, field: str) -> datetime:
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise BadPayload(f"{field} must be a positive epoch number")
    return datetime.fromtimestamp(value / divisor, UTC)


def _opsgenie_service(alert: dict) -> str | None:
    for tag in items(alert.get("tags")):
        if isinstance(tag, str) and tag.startswith("service:"):
            return tag.removeprefix("service:").strip() or None
    return _text(alert.get("entity"))


def from_opsgenie(payload: dict) -> list[PageFacts]:
    action = payload.get("action")
    if not isinstance(action, str):
        raise BadPayload("action must be a string")
    alert = _object(payload, "alert", "")
    if action not in OPSGENIE_ACTIONS:
        return []  # AddNote, AddTag, Escalate ...: nothing about the page's state
    if not isinstance(alert.get("alertId"), str):
        raise BadPayload("alert.alertId must be a string")
    # createdAt is in epoch milliseconds, updatedAt in nanoseconds
    created = _epoch(alert.get("createdAt"), 1_000, "alert.createdAt")
    if action == "Create":
        at = created
    else:
        at = _epoch(alert.get("updatedAt"), 1_000_000_000, "alert.updatedAt")
    teams = [t for t in items(alert.get("teams")) if isinstance(t, str)]
    return [
        PageFacts(
            source="opsgenie",
            external_id=alert["alertId"],
            action=OPSGENIE_ACTIONS[action],
            at=at,
            triggered_at=created,
            pager_service=_opsgenie_service(alert),
            title=_text(alert.get("message")),
            urgency=_text(alert.get("priority")),
            team=teams[0] if teams else None,
        )
    ]


# Alertmanager -----------------------------------------------------------------------------------


def from_alertmanager(payload: dict) -> list[PageFacts]:
    """Each firing alert is a page keyed by its fingerprint and startsAt; resolved closes it."""
    if payload.get("version") != "4":
        raise BadPayload(f"version {payload.get('version')!r}: only Alertmanager's version 4")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise BadPayload("alerts must be a list")
    facts = []
    for index, alert in enumerate(alerts):
        where = f"alerts[{index}]."
        if not isinstance(alert, dict) or not isinstance(alert.get("fingerprint"), str):
            raise BadPayload(f"{where}fingerprint must be a string")
        labels = alert.get("labels") if isinstance(alert.get("labels"), dict) else {}
        annotations = alert.get("annotations") if isinstance(alert.get("annotations"), dict) else {}
        starts = _time(alert.get("startsAt"), where + "startsAt")
        resolved = alert.get("status") == "resolved" and alert.get("endsAt") not in (
            None,
            ZERO_TIME,
        )
        facts.append(
            PageFacts(
                source="alertmanager",
                external_id=f"{alert['fingerprint']}@{starts.isoformat()}",
                action=RESOLVE if resolved else TRIGGER,
                at=_time(alert.get("endsAt"), where + "endsAt") if resolved else starts,
                triggered_at=starts,
                pager_service=_text(labels.get("service")) or _text(labels.get("job")),
                title=_text(annotations.get("summary")) or _text(labels.get("alertname")),
                urgency=_text(labels.get("severity")),
                team=_text(labels.get("team")),
                url=_text(alert.get("generatorURL")),
            )
        )
    return facts
