"""The server's feedback in the background, one thread: every LEADTIME_FEEDBACK_INTERVAL_SECONDS
the news is planned into the outbox (domain/feedback.py) with the digests that are due
(domain/digest.py), each its own unit of work; every second what is due is sent
(notify/feedback_send.py). Several replicas may do it at once: a message is stored once (its
key) and sent once (its claim). A failure (the database down, a notifier away) is logged and
tried again in the next round."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from leadtime.server import db
from leadtime.server.domain import digest, feedback
from leadtime.server.notify import feedback_send
from leadtime.server.settings import Settings

log = logging.getLogger("leadtime.feedback")
SEND_POLL_SECONDS = 1.0


def plan_round(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> int:
    """Plan the news and the due digests at `now`; how many messages were stored."""
    with db.unit_of_work(sessions) as session:
        planned = feedback.plan(session, settings, now)
    with db.unit_of_work(sessions) as session:
        planned += digest.plan_digests(session, settings, now)
    return planned


def run_round(sessions: sessionmaker[Session], settings: Settings, now: datetime) -> int:
    """One whole round at `now`: plan, then send what is due; how many were sent or tried."""
    plan_round(sessions, settings, now)
    return feedback_send.deliver_due(sessions, settings, now)


class FeedbackWorker:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions, self.settings = sessions, settings
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="leadtime-feedback", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        planned_at = 0.0
        while not self._stopping.is_set():
            try:
                now = datetime.now(UTC)
                if time.monotonic() - planned_at >= self.settings.feedback_interval_seconds:
                    plan_round(self.sessions, self.settings, now)
                    planned_at = time.monotonic()
                feedback_send.deliver_due(self.sessions, self.settings, now)
            except Exception as error:  # the database may be down; the next round retries
                log.warning("feedback failed: %s: %s", type(error).__name__, error)
            self._stopping.wait(SEND_POLL_SECONDS)
