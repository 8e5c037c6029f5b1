"""Prometheus Alertmanager webhooks (`/webhooks/alertmanager`, version 4): each firing alert is a
page keyed by its fingerprint and startsAt; a resolved one closes it. Alertmanager cannot sign
its deliveries; its `http_config.authorization` sends the API's bearer token."""

from __future__ import annotations

from leadtime.server.errors import BadPayload
from leadtime.server.ingest import payload as p
from leadtime.server.ingest.facts import RESOLVE, TRIGGER, Facts, PageFact
from leadtime.server.ingest.source import Headers, WebhookSource

ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt while an alert still fires


def parse(body: bytes, headers: Headers) -> Facts:
    return Facts(pages=page_facts(p.load_json(body)))


def page_facts(payload: dict) -> list[PageFact]:
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
        labels, annotations = p.mapping(alert.get("labels")), p.mapping(alert.get("annotations"))
        starts = p.iso_time(alert.get("startsAt"), where + "startsAt")
        resolved = alert.get("status") == "resolved" and alert.get("endsAt") not in (
            None,
            ZERO_TIME,
        )
        facts.append(
            PageFact(
                source="alertmanager",
                external_id=f"{alert['fingerprint']}@{starts.isoformat()}",
                action=RESOLVE if resolved else TRIGGER,
                at=p.iso_time(alert.get("endsAt"), where + "endsAt") if resolved else starts,
                triggered_at=starts,
                pager_service=p.text(labels.get("service")) or p.text(labels.get("job")),
                title=p.text(annotations.get("summary")) or p.text(labels.get("alertname")),
                urgency=p.text(labels.get("severity")),
                team=p.text(labels.get("team")),
                url=p.text(alert.get("generatorURL")),
            )
        )
    return facts


SOURCE = WebhookSource(
    name="alertmanager",
    summary="Prometheus Alertmanager webhooks (version 4): each firing alert is a page.",
    parse=parse,
    pager=True,
    verify=None,
)
