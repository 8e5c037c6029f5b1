"""The generic JSON webhook: a documented payload in the Standard Webhooks style
(`{type, timestamp, data}`), signed with the Standard Webhooks scheme when a secret is set:
`webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256>` of
`id.timestamp.body`. A `whsec_` secret is a base64 key; any other string is used as it is."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from leadtime.server.domain.regression import headline
from leadtime.server.models import Alert


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


def signing_key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        return base64.b64decode(secret.removeprefix("whsec_"))
    return secret.encode()


def signature_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
    }
