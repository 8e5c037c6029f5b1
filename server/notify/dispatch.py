"""Send the queued notifications, through the notifiers of registry.py.

Whether to alert, and whom, is decided in domain/regression; this only delivers, from the
notifications table (an outbox), so ingestion never waits on a notifier. A failed delivery is
retried with exponential backoff (honouring Retry-After) when the failure may pass and given up
when it will not; a notifier whose last delivery failed is reported as failing. Each claim and
each outcome is its own unit of work, committed here, in the sender's loop.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from leadtime.server import store
from leadtime.server.models import Notification
from leadtime.server.notify.message import Delivery, Message
from leadtime.server.notify.registry import NOTIFIERS
from leadtime.server.presenters import dashboard_link
from leadtime.server.settings import Settings
from leadtime.server.store import outbox

log = logging.getLogger("leadtime.alerts")

LEASE = timedelta(minutes=2)  # a sender that died holding a notification loses it after this
MAX_DELAY = 3600.0


def retry_delay(attempts: int, settings: Settings, retry_after: float | None) -> float:
    """Seconds until the next attempt after `attempts` failed ones: doubling, capped."""
    delay = min(settings.notify_retry_seconds * 2 ** (attempts - 1), MAX_DELAY)
    return max(delay, min(retry_after or 0.0, MAX_DELAY))


def retry_time(
    outcome: Delivery, attempts: int, settings: Settings, now: datetime
) -> datetime | None:
    """When to try a failed delivery again (None: sent, or given up)."""
    if outcome.error and outcome.retry and attempts < settings.notify_max_attempts:
        return now + timedelta(seconds=retry_delay(attempts, settings, outcome.retry_after))
    return None


def _send(notification: Notification, session: Session, settings: Settings) -> Delivery:
    found = store.alert_with_repository(session, notification.alert_id)
    notifier = NOTIFIERS.get(notification.channel)
    if found is None or notifier is None:
        return Delivery(f"no notifier {notification.channel!r}")
    alert, repository = found
    name = repository.display_name
    message = Message(
        alert=alert,
        repository=name,
        event=notification.event,
        link=dashboard_link(alert, name, settings),
        at=datetime.now(UTC),
        alerting=repository.alerting or {},
        settings=settings,
    )
    try:
        return notifier.send(message)
    except Exception as error:  # a notifier must never stop the others
        return Delivery(f"{type(error).__name__}", retry=True)


def deliver_one(session: Session, notification_id: int, settings: Settings) -> None:
    notification = session.get(Notification, notification_id)
    if notification is None:
        return
    outcome = _send(notification, session, settings)
    now = datetime.now(UTC)
    attempts = notification.attempts + 1
    retry_at = retry_time(outcome, attempts, settings, now)
    if outcome.error:
        log.warning(
            "alert %s: %s delivery failed (attempt %d): %s%s",
            notification.alert_id,
            notification.channel,
            attempts,
            outcome.error,
            "; will retry" if retry_at else "; giving up",
        )
    store.finish_notification(session, notification, now, outcome.error, retry_at)
    notification.last_answer = outcome.answer


def _claim_next(session: Session) -> int | None:
    return outbox.claim_next(session, Notification, datetime.now(UTC), LEASE)


def deliver_due(sessions: sessionmaker[Session], settings: Settings, limit: int = 100) -> int:
    """Send the notifications that are due (at most `limit`); how many were attempted."""
    attempted = 0
    with sessions() as session:
        while attempted < limit:
            notification_id = _claim_next(session)
            if notification_id is None:
                break
            deliver_one(session, notification_id, settings)
            session.commit()
            attempted += 1
    return attempted


def answers(session: Session) -> dict[str, str | None]:
    """Per channel, what its target last answered a failed delivery: for admins only."""
    return {
        channel: latest.last_answer
        for channel, latest in store.latest_delivery_per_channel(session).items()
    }


def health(session: Session) -> dict[str, dict]:
    """Per channel: `ok` when its latest delivery went through, else `failing`, since when and
    why (an HTTP status or the kind of error: never what the target answered, message.py)."""
    report = {}
    for channel, latest in store.latest_delivery_per_channel(session).items():
        failing = latest.status != "sent" and latest.last_error is not None
        since = store.failing_since(session, channel) if failing else None
        report[channel] = {
            "state": "failing" if failing else "ok",
            "failing_since": since.isoformat() if since else None,
            "last_error": latest.last_error if failing else None,
            "attempts": latest.attempts,
        }
    return report
