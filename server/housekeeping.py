"""The server's housekeeping in the background, one thread: every 5 s, the days that closed
noted and rolled up, and closed days whose runs changed rolled up again (domain/step_days.py;
the first round notes every closed day, the others the days closed since); and raw step spans
past the retention removed soon after start and then every hour (domain/retention.py), in
batches, one unit of work each.
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
from leadtime.server.domain.step_days import (
    REBUILD_BATCH_DAYS,
    note_closed_days,
    rebuild_changed_days,
)

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


def roll_up(
    sessions: sessionmaker[Session],
    now: datetime,
    main_branches: tuple[str, ...],
    since: date | None = None,
) -> date:
    """Note the days closed since `since` (every closed day when None) and build every closed
    day changed since its rollup (or rolled up for other main branches); the first open day,
    the next round's `since`."""
    with db.unit_of_work(sessions) as session:
        open_from = note_closed_days(session, since, now)
    while True:
        with db.unit_of_work(sessions) as session:
            batch = rebuild_changed_days(session, now, main_branches)
        if batch < REBUILD_BATCH_DAYS:
            return open_from


class Housekeeping:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        retention_days: int,
        main_branches: tuple[str, ...],
    ) -> None:
        self.sessions, self.retention_days = sessions, retention_days
        self.main_branches = main_branches
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._noted_until: date | None = None  # days before it are noted; None: none yet

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
        self._noted_until = roll_up(
            self.sessions, datetime.now(UTC), self.main_branches, self._noted_until
        )

    def _prune(self) -> None:
        runs, steps = prune(self.sessions, datetime.now(UTC), self.retention_days)
        if runs:
            log.info("pruned %d steps of %d runs past the retention", steps, runs)

    def _try(self, what: str, work) -> None:
        try:
            work()
        except Exception as error:  # the database may be down; the next round retries
            log.warning("%s failed: %s: %s", what, type(error).__name__, error)
