"""The server's housekeeping in the background, one thread: past days whose runs changed rolled
up again a few seconds after (domain/step_days.py), and raw step spans past the retention removed
soon after start and then every hour (domain/retention.py), in batches, one unit of work each.
Several replicas may do it at once: a day built twice is built alike, removing what is gone
already removes nothing, and a rollup is kept only if its day did not change meanwhile."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session, sessionmaker

from leadtime.server import db
from leadtime.server.domain.retention import PRUNE_BATCH_RUNS, prune_batch
from leadtime.server.domain.step_days import REBUILD_BATCH_DAYS, rebuild_changed_days

log = logging.getLogger("leadtime.housekeeping")
ROLLUP_EVERY_SECONDS = 5.0
PRUNE_EVERY_SECONDS = 3600.0


def prune(sessions: sessionmaker[Session], now: datetime, days: int) -> tuple[int, int]:
    """Every run past the retention pruned; (runs, steps) removed."""
    runs = steps = 0
    while True:
        with db.unit_of_work(sessions) as session:
            batch_runs, batch_steps = prune_batch(session, now, days)
        runs, steps = runs + batch_runs, steps + batch_steps
        if batch_runs < PRUNE_BATCH_RUNS:
            return runs, steps


def roll_up(sessions: sessionmaker[Session], today: date) -> int:
    """Every day before `today` changed since its rollup built again; how many days."""
    days = 0
    while True:
        with db.unit_of_work(sessions) as session:
            batch = rebuild_changed_days(session, today)
        days += batch
        if batch < REBUILD_BATCH_DAYS:
            return days


class Housekeeping:
    def __init__(self, sessions: sessionmaker[Session], retention_days: int) -> None:
        self.sessions, self.retention_days = sessions, retention_days
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._working, name="leadtime-housekeeping")
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _working(self) -> None:
        next_prune = time.monotonic()  # the first round prunes too
        while not self._stopping.wait(ROLLUP_EVERY_SECONDS):
            self._try("rolling up step summaries", self._roll_up)
            if self.retention_days > 0 and time.monotonic() >= next_prune:
                next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
                self._try("pruning steps", self._prune)

    def _roll_up(self) -> None:
        roll_up(self.sessions, datetime.now(UTC).date())

    def _prune(self) -> None:
        runs, steps = prune(self.sessions, datetime.now(UTC), self.retention_days)
        if runs:
            log.info("pruned %d steps of %d runs past the retention", steps, runs)

    def _try(self, what: str, work) -> None:
        try:
            work()
        except Exception as error:  # the database may be down; the next round retries
            log.warning("%s failed: %s: %s", what, type(error).__name__, error)
