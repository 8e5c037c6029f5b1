"""An outbox table's rows (notifications, feedback messages): due, claimed with a lease, and
finished. A row is due when pending and its time has come, or when the sender that claimed it
died holding it (its lease ran out)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from leadtime.server.models import FeedbackMessage, Notification
from leadtime.server.store.rows import rows_changed, table_of

Outbox = type[Notification] | type[FeedbackMessage]


def _due(model: Outbox, now: datetime):
    table = table_of(model)
    return or_(
        (table.c.status == "pending") & (table.c.next_attempt_at <= now),
        (table.c.status == "sending") & (table.c.claimed_until < now),
    )


def due(session: Session, model: Outbox, now: datetime, limit: int = 10) -> list[int]:
    """Ids of the rows due for sending, oldest first."""
    table = table_of(model)
    query = select(table.c.id).where(_due(model, now)).order_by(table.c.next_attempt_at)
    return list(session.scalars(query.limit(limit)))


def claim(session: Session, model: Outbox, row_id: int, now: datetime, lease: timedelta) -> bool:
    """Take a due row for sending until `now + lease`; False when it is no longer due. The
    conditional UPDATE is the claim: of two servers after the same row, one wins."""
    table = table_of(model)
    claimed = session.execute(
        table.update()
        .where(table.c.id == row_id, _due(model, now))
        .values(status="sending", claimed_until=now + lease)
    )
    return rows_changed(claimed) == 1


def claim_next(session: Session, model: Outbox, now: datetime, lease: timedelta) -> int | None:
    """Claim the oldest due row (another sender may win some): its id, or None when none is
    left. Each read and each claim is committed here."""
    candidates = due(session, model, now)
    # End the read before writing: on SQLite a write after a read that another writer has
    # overtaken fails at once ("database is locked") instead of waiting its turn.
    session.commit()
    for row_id in candidates:
        won = claim(session, model, row_id, now, lease)
        session.commit()
        if won:
            return row_id
    return None


def finish(
    row: Notification | FeedbackMessage,
    now: datetime,
    error: str | None = None,
    retry_at: datetime | None = None,
) -> None:
    """Sent (no error), to be retried at `retry_at`, or given up (an error, no retry)."""
    row.attempts += 1
    row.claimed_until = None
    row.last_error = error[:500] if error else None
    if error is None:
        row.status, row.sent_at = "sent", now
    elif retry_at is not None:
        row.status, row.next_attempt_at = "pending", retry_at
    else:
        row.status = "failed"
