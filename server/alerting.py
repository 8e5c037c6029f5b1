"""The server's alerting in the background: evaluate the regression rule on a schedule and soon
after each deploy arrives, and empty the notification outbox. Two daemon threads; neither ever
blocks a request, and a failure (the database down, a notifier away) is logged and tried again."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from leadtime.server import db, store
from leadtime.server.domain import regression
from leadtime.server.notify import dispatch
from leadtime.server.notify.registry import channels_for
from leadtime.server.settings import Settings

log = logging.getLogger("leadtime.alerts")
DELIVERY_POLL_SECONDS = 1.0  # how soon a retry falls due is checked


class AlertWorker:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        self.sessions, self.settings = sessions, settings
        self._evaluate_soon = threading.Event()
        self._deliver_soon = threading.Event()
        self._stopping = threading.Event()
        # One evaluation at a time in this process: one that read before a deploy arrived must
        # not write its older numbers over a newer evaluation's (SQLite reads take no lock).
        self._one_at_a_time = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for target, name in ((self._evaluating, "evaluate"), (self._delivering, "deliver")):
            thread = threading.Thread(target=target, name=f"leadtime-alerts-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        self._evaluate_soon.set()
        self._deliver_soon.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def deploy_arrived(self) -> None:
        """Evaluate now rather than at the next scheduled time."""
        self._evaluate_soon.set()

    def evaluate_now(self) -> list[regression.Change]:
        """Evaluate in this thread (`leadtime check`), each repository its own unit of work;
        deliveries follow in the background."""
        with self._one_at_a_time:
            return self._evaluate()

    def _evaluate(self) -> list[regression.Change]:
        now, changes = datetime.now(UTC), []
        with self.sessions() as session:
            repository_ids = [repository.id for repository in store.repositories(session)]
        for repository_id in repository_ids:
            with db.unit_of_work(self.sessions) as session:
                repository = store.repository_by_id(session, repository_id)
                channels = channels_for(repository, self.settings)
                changes += regression.evaluate_repository(
                    session, repository, self.settings, now, channels
                )
        if changes:
            self._deliver_soon.set()
        return changes

    def _evaluating(self) -> None:
        while not self._stopping.is_set():
            try:
                self.evaluate_now()
            except Exception as error:  # the database may be down; the next round retries
                log.warning("alert evaluation failed: %s: %s", type(error).__name__, error)
            self._evaluate_soon.wait(self.settings.alert_interval_seconds)
            self._evaluate_soon.clear()

    def _delivering(self) -> None:
        while not self._stopping.is_set():
            try:
                dispatch.deliver_due(self.sessions, self.settings)
            except Exception as error:
                log.warning("alert delivery failed: %s: %s", type(error).__name__, error)
            self._deliver_soon.wait(DELIVERY_POLL_SECONDS)
            self._deliver_soon.clear()
