"""Alerts (one open per key), their events, and the notification outbox the dispatcher empties."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadtime.server.models import (
    Alert,
    AlertEvent,
    Notification,
    Repository,
)
from leadtime.server.store.outbox import claim, due, finish
from leadtime.server.store.rows import (
    insert_if_new,
    insert_ignoring_duplicates,
    rows_changed,
    table_of,
)


def alert_key(repository_id: int, metric: str, subject: str) -> str:
    return f"{repository_id}:{metric}:{subject}"


def open_alerts(session: Session, repository_id: int) -> dict[tuple[str, str], Alert]:
    rows = session.scalars(
        select(Alert).where(Alert.repository_id == repository_id, Alert.status == "open")
    )
    return {(alert.metric, alert.subject): alert for alert in rows}


def open_alert(session: Session, values: dict) -> Alert | None:
    """Open an alert unless one is open for its key already (another server may have just
    opened it); the new alert, or None."""
    key = alert_key(values["repository_id"], values["metric"], values["subject"])
    row = {**values, "open_key": key, "status": "open", "updated_at": values["fired_at"]}
    if not insert_if_new(session, Alert, row, ["open_key"]):
        return None
    alert = session.scalars(select(Alert).where(Alert.open_key == key)).one()
    add_alert_event(session, alert, "fired", values["fired_at"])
    return alert


def update_alert(session: Session, alert: Alert, values: dict, now: datetime) -> None:
    """New numbers for an open alert; an `updated` event when they changed."""
    changed = any(getattr(alert, name) != value for name, value in values.items())
    if changed:
        for name, value in values.items():
            setattr(alert, name, value)
        alert.updated_at = now
        add_alert_event(session, alert, "updated", now)


def resolve_alert(session: Session, alert: Alert, now: datetime) -> bool:
    """Resolve an open alert; False when another server resolved it first."""
    done = session.execute(
        table_of(Alert)
        .update()
        .where(table_of(Alert).c.id == alert.id, table_of(Alert).c.status == "open")
        .values(status="resolved", open_key=None, resolved_at=now, updated_at=now)
    )
    if rows_changed(done) != 1:
        return False
    session.refresh(alert)
    add_alert_event(session, alert, "resolved", now)
    return True


def add_alert_event(session: Session, alert: Alert, kind: str, at: datetime) -> None:
    session.add(
        AlertEvent(
            alert_id=alert.id,
            kind=kind,
            at=at,
            current_seconds=alert.current_seconds,
            baseline_seconds=alert.baseline_seconds,
        )
    )


def alerts(
    session: Session,
    repository_id: int | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[tuple[Alert, Repository]]:
    """Alerts newest first, open ones before resolved ones."""
    query = select(Alert, Repository).join(Repository, Repository.id == Alert.repository_id)
    if repository_id is not None:
        query = query.where(Alert.repository_id == repository_id)
    if status is not None:
        query = query.where(Alert.status == status)
    query = query.order_by(Alert.status.desc(), Alert.fired_at.desc(), Alert.id.desc())
    return [(alert, repository) for alert, repository in session.execute(query.limit(limit))]


def alert_with_repository(session: Session, alert_id: int) -> tuple[Alert, Repository] | None:
    row = session.execute(
        select(Alert, Repository)
        .join(Repository, Repository.id == Alert.repository_id)
        .where(Alert.id == alert_id)
    ).first()
    return (row[0], row[1]) if row else None


def _by_alert(session: Session, model, alert_ids: list[int]) -> dict[int, list]:
    """Rows of `model` (events or notifications) of these alerts, oldest first, by alert id."""
    found: dict[int, list] = {alert_id: [] for alert_id in alert_ids}
    for row in session.scalars(
        select(model).where(model.alert_id.in_(alert_ids)).order_by(model.id)
    ):
        found[row.alert_id].append(row)
    return found


def events_of(session: Session, alert_ids: list[int]) -> dict[int, list[AlertEvent]]:
    return _by_alert(session, AlertEvent, alert_ids)


def queue_notifications(
    session: Session, alert_id: int, event: str, channels: Iterable[str], now: datetime
) -> None:
    """One notification per channel; one that exists already is not queued again."""
    rows = [
        {
            "alert_id": alert_id,
            "channel": channel,
            "event": event,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for channel in channels
    ]
    insert_ignoring_duplicates(session, Notification, rows, ["alert_id", "channel", "event"])


def notifications_of(session: Session, alert_ids: list[int]) -> dict[int, list[Notification]]:
    return _by_alert(session, Notification, alert_ids)


def due_notifications(session: Session, now: datetime, limit: int = 10) -> list[int]:
    """Ids of notifications due for sending (or whose sender died holding them), oldest first."""
    return due(session, Notification, now, limit)


def claim_notification(
    session: Session, notification_id: int, now: datetime, lease: timedelta
) -> bool:
    """Take a due notification for sending until `now + lease` (store/outbox.py)."""
    return claim(session, Notification, notification_id, now, lease)


def finish_notification(
    session: Session,
    notification: Notification,
    now: datetime,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    """Sent (no error), to be retried at `retry_at`, or given up (an error, no retry)."""
    finish(notification, now, error, retry_at)


def latest_delivery_per_channel(session: Session) -> dict[str, Notification]:
    """Each channel's most recently attempted notification: is the notifier working?"""
    newest = (
        select(func.max(Notification.id))
        .where(Notification.attempts > 0)
        .group_by(Notification.channel)
    )
    rows = session.scalars(select(Notification).where(Notification.id.in_(newest)))
    return {notification.channel: notification for notification in rows}


def failing_since(session: Session, channel: str):
    """When the channel's current run of failed deliveries began: the first attempted delivery
    after its last one that went through."""
    last_sent = session.scalar(
        select(func.max(Notification.id)).where(
            Notification.channel == channel, Notification.status == "sent"
        )
    )
    query = select(func.min(Notification.created_at)).where(
        Notification.channel == channel, Notification.attempts > 0
    )
    if last_sent is not None:
        query = query.where(Notification.id > last_sent)
    return session.scalar(query)
