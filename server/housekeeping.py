"""The server's housekeeping in the background: raw step spans past the retention removed
(domain/retention.py) soon after start and then every hour, a batch of runs per unit of work.
Several replicas may do it at once: removing what is gone already removes nothing."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from leadtime.server import db
from leadtime.server.domain.retention import PRUNE_BATCH_RUNS, prune_batch

log = logging.getLogger("leadtime.housekeeping")
PRUNE_EVERY_SECONDS = 3600.0
FIRST_PRUNE_AFTER_SECONDS = 5.0  # not in the way of start-up and the first requests


def prune(sessions: sessionmaker[Session], now: datetime, days: int) -> tuple[int, int]:
    """Every run past the retention pruned; (runs, steps) removed."""
    runs = steps = 0
    while True:
        with db.unit_of_work(sessions) as session:
            batch_runs, batch_steps = prune_batch(session, now, days)
        runs, steps = runs + batch_runs, steps + batch_steps
        if batch_runs < PRUNE_BATCH_RUNS:
            return runs, steps


class Housekeeping:
    def __init__(self, sessions: sessionmaker[Session], retention_days: int) -> None:
        self.sessions, self.retention_days = sessions, retention_days
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.retention_days <= 0:
            return  # steps kept for ever: nothing to do
        self._thread = threading.Thread(
            target=self._pruning, name="leadtime-housekeeping", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _pruning(self) -> None:
        delay = FIRST_PRUNE_AFTER_SECONDS
        while not self._stopping.wait(delay):
            delay = PRUNE_EVERY_SECONDS
            try:
                runs, steps = prune(self.sessions, datetime.now(UTC), self.retention_days)
            except Exception as error:  # the database may be down; the next round retries
                log.warning("pruning steps failed: %s: %s", type(error).__name__, error)
                continue
            if runs:
                log.info("pruned %d steps of %d runs past the retention", steps, runs)
