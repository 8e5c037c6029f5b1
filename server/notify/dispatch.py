"""Send the queued notifications: the server log, Slack and the generic webhook.

Whether to alert is decided in domain/regression; this only delivers, from the notifications
table (an outbox), so ingestion never waits on a notifier. A failed delivery is retried with
exponential backoff (honouring Retry-After) when the failure may pass (a timeout, 429, 5xx) and
given up when it will not (other 4xx, 410: the hook is gone); a notifier whose last delivery
failed is reported as failing. Webhook URLs are secrets: no message here ever contains one.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
from sqlalchemy.orm import Session, sessionmaker

from leadtime.server import store
from leadtime.server.domain.regression import LEAD_TIME, STEP, headline
from leadtime.server.models import Alert, Notification, Repository
from leadtime.server.notify import slack, webhook
from leadtime.server.settings import Settings

log = logging.getLogger("leadtime.alerts")

RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
LEASE = timedelta(minutes=2)  # a sender that died holding a notification loses it after this
MAX_DELAY = 3600.0


@dataclass(frozen=True)
class Delivery:
    error: str | None = None  # None: delivered
    retry: bool = False
    retry_after: float | None = None


def alert_path(alert: Alert, repository: str) -> str:
    """The dashboard page that shows what the alert is about."""
    repo = quote(repository, safe="")
    if alert.metric == LEAD_TIME:
        return f"/?repo={repo}"
    if alert.metric == STEP:
        return f"/slowest?repo={repo}"
    return f"/mergesets/{alert.subject}?repo={repo}"


def dashboard_link(alert: Alert, repository: str, settings: Settings) -> str:
    return settings.dashboard_url + alert_path(alert, repository)


def post_json(url: str, body: bytes, headers: dict, timeout: float) -> Delivery:
    try:
        response = httpx.post(
            url,
            content=body,
            headers={"content-type": "application/json", **headers},
            timeout=timeout,
        )
    except httpx.HTTPError as error:
        # The exception's text may carry the URL, which is the secret: name the kind only.
        return Delivery(f"{type(error).__name__} (no answer)", retry=True)
    if 200 <= response.status_code < 300:
        return Delivery()
    retry_after = response.headers.get("retry-after", "")
    return Delivery(
        f"HTTP {response.status_code} {response.text[:100].strip()}".strip(),
        retry=response.status_code in RETRYABLE,
        retry_after=float(retry_after) if retry_after.isdigit() else None,
    )


def _secret(value) -> str | None:
    return value.get_secret_value() if value is not None else None


def send(
    notification: Notification, alert: Alert, repository: Repository, settings: Settings
) -> Delivery:
    """Deliver one notification to its channel."""
    name = repository.url or repository.name
    link = dashboard_link(alert, name, settings)
    own = repository.alerting or {}
    if notification.channel == "log":
        log.warning("alert %s: %s (%s)", notification.event, headline(alert, name), link)
        return Delivery()
    if notification.channel == "slack":
        url = own.get("slack_webhook_url") or _secret(settings.slack_webhook_url)
        if not url:
            return Delivery("no Slack webhook configured")
        body = json.dumps(slack.message(alert, name, notification.event, link)).encode()
        return post_json(url, body, {}, settings.notify_timeout_seconds)
    url = own.get("webhook_url") or _secret(settings.alert_webhook_url)
    if not url:
        return Delivery("no alert webhook configured")
    now = datetime.now(UTC)
    body = json.dumps(webhook.payload(alert, name, notification.event, link, now)).encode()
    secret = own.get("webhook_secret") or _secret(settings.alert_webhook_secret)
    headers = {}
    if secret:
        # The same id on every retry of this delivery, so the receiver can drop repeats.
        message_id = f"leadtime-alert-{alert.id}-{notification.event}"
        headers = webhook.signature_headers(secret, message_id, int(now.timestamp()), body)
    return post_json(url, body, headers, settings.notify_timeout_seconds)


def retry_delay(attempts: int, settings: Settings, retry_after: float | None) -> float:
    """Seconds until the next attempt after `attempts` failed ones: doubling, capped."""
    delay = min(settings.notify_retry_seconds * 2 ** (attempts - 1), MAX_DELAY)
    return max(delay, min(retry_after or 0.0, MAX_DELAY))


def deliver_one(session: Session, notification_id: int, settings: Settings) -> None:
    notification = session.get(Notification, notification_id)
    alert, repository = store.alert_with_repository(session, notification.alert_id)
    try:
        outcome = send(notification, alert, repository, settings)
    except Exception as error:  # a notifier must never stop the others
        outcome = Delivery(f"{type(error).__name__}", retry=True)
    now = datetime.now(UTC)
    attempts = notification.attempts + 1
    retry_at = None
    if outcome.error and outcome.retry and attempts < settings.notify_max_attempts:
        retry_at = now + timedelta(seconds=retry_delay(attempts, settings, outcome.retry_after))
    if outcome.error:
        log.warning(
            "alert %s: %s delivery failed (attempt %d): %s%s",
            alert.id,
            notification.channel,
            attempts,
            outcome.error,
            "; will retry" if retry_at else "; giving up",
        )
    store.finish_notification(session, notification, now, outcome.error, retry_at)


def deliver_due(sessions: sessionmaker[Session], settings: Settings, limit: int = 100) -> int:
    """Send the notifications that are due (at most `limit`); how many were attempted."""
    attempted = 0
    with sessions() as session:
        while attempted < limit:
            now = datetime.now(UTC)
            notification_id = store.claim_due_notification(session, now, LEASE)
            if notification_id is None:
                break
            deliver_one(session, notification_id, settings)
            attempted += 1
    return attempted


def health(session: Session) -> dict[str, dict]:
    """Per channel: `ok` when its latest delivery went through, else `failing` and why."""
    report = {}
    for channel, latest in store.latest_delivery_per_channel(session).items():
        failing = latest.status != "sent" and latest.last_error is not None
        report[channel] = {
            "state": "failing" if failing else "ok",
            "last_error": latest.last_error if failing else None,
            "attempts": latest.attempts,
        }
    return report
