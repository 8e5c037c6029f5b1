"""The generic JSON webhook (the repository's `webhook_url`, else LEADTIME_ALERT_WEBHOOK_URL): a
documented payload in the Standard Webhooks style
(`{type, timestamp, data}`), signed with the Standard Webhooks scheme when a secret is set:
`webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256>` of
`id.timestamp.body`. A `whsec_` secret is a base64 key; any other string is used as it is."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from leadtime.server.domain.regression import headline
from leadtime.server.models import Alert, FeedbackMessage, Team
from leadtime.server.notify.message import Delivery, Message, post_json
from leadtime.server.settings import Settings
from leadtime.server.signatures import standard_headers


def payload(alert: Alert, repository: str, event: str, link: str, now: datetime) -> dict:
    return {
        "type": f"leadtime.alert.{event}",
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": {
            "id": alert.id,
            "repository": repository,
            "metric": alert.metric,
            "subject": alert.subject,
            "status": alert.status,
            "current_seconds": alert.current_seconds,
            "baseline_seconds": alert.baseline_seconds,
            "ratio": alert.ratio,
            "change_pct": None if alert.ratio is None else round((alert.ratio - 1) * 100, 1),
            "message": headline(alert, repository),
            "url": link,
            "fired_at": alert.fired_at.isoformat(),
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
            "detail": alert.detail or {},
        },
    }


def configured(alerting: dict[str, Any], settings: Settings) -> bool:
    return bool(alerting.get("webhook_url") or settings.alert_webhook_url)


def send(message: Message) -> Delivery:
    settings = message.settings
    url = message.setting("webhook_url", settings.alert_webhook_url)
    if not url:
        return Delivery("no alert webhook configured")
    alert = message.alert
    data = payload(alert, message.repository, message.event, message.link, message.at)
    body = json.dumps(data).encode()
    secret = message.setting("webhook_secret", settings.alert_webhook_secret)
    headers = {}
    if secret:
        # The same id on every retry of this delivery, so the receiver can drop repeats.
        message_id = f"leadtime-alert-{alert.id}-{message.event}"
        headers = standard_headers(secret, message_id, int(message.at.timestamp()), body)
    return post_json(url, body, headers, settings)


def send_feedback(row: FeedbackMessage, team: Team | None, settings: Settings) -> Delivery:
    """The server's webhook, `type` `leadtime.feedback.<kind>`, signed as alerts are."""
    if settings.alert_webhook_url is None:
        return Delivery("no alert webhook configured")
    now = datetime.now(UTC)
    data = {
        "type": f"leadtime.feedback.{row.kind}",
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": {"key": row.key, "subject": row.subject, **row.body},
    }
    body = json.dumps(data).encode()
    headers = {}
    if settings.alert_webhook_secret is not None:
        secret = settings.alert_webhook_secret.get_secret_value()
        headers = standard_headers(
            secret, f"leadtime-feedback-{row.id}", int(now.timestamp()), body
        )
    return post_json(settings.alert_webhook_url.get_secret_value(), body, headers, settings)
