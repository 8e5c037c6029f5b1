"""Send the feedback outbox (models_people.FeedbackMessage) through registry.FEEDBACK's
notifiers: claimed with a lease so that of several replicas one sends each message, retried
with the alerts' backoff when the failure may pass, given up when it will not. Each claim and
each outcome is its own unit of work."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from leadtime.server.models import FeedbackMessage
from leadtime.server.notify.dispatch import retry_time
from leadtime.server.notify.message import Delivery
from leadtime.server.notify.registry import FEEDBACK
from leadtime.server.settings import Settings
from leadtime.server.store import outbox
from leadtime.server.store import people as stored_people

log = logging.getLogger("leadtime.feedback")
LEASE = timedelta(minutes=2)


def _send(session: Session, row: FeedbackMessage, settings: Settings) -> Delivery:
    notifier = FEEDBACK.get(row.channel)
    if notifier is None:
        return Delivery(f"no notifier {row.channel!r}")
    team = stored_people.team_named(session, row.team) if row.team else None
    try:
        return notifier.send_feedback(row, team, settings)
    except Exception as error:  # a notifier must never stop the others
        return Delivery(type(error).__name__, retry=True)


def deliver_one(session: Session, row_id: int, settings: Settings, now: datetime) -> None:
    row = session.get(FeedbackMessage, row_id)
    if row is None:
        return
    outcome = _send(session, row, settings)
    attempts = row.attempts + 1
    retry_at = retry_time(outcome, attempts, settings, now)
    if outcome.error:
        log.warning(
            "feedback %s: %s delivery failed (attempt %d): %s%s",
            row.key,
            row.channel,
            attempts,
            outcome.error,
            "; will retry" if retry_at else "; giving up",
        )
    outbox.finish(row, now, outcome.error, retry_at)


def deliver_due(
    sessions: sessionmaker[Session], settings: Settings, now: datetime, limit: int = 100
) -> int:
    """Send the messages due at `now` (at most `limit`); how many were attempted."""
    attempted = 0
    with sessions() as session:
        while attempted < limit:
            claimed = outbox.claim_next(session, FeedbackMessage, now, LEASE)
            if claimed is None:
                break
            deliver_one(session, claimed, settings, now)
            session.commit()
            attempted += 1
    return attempted
