"""OTLP deliveries written in groups: every delivery of runs and steps alone that arrived while
the last write was under way is stored by the next one transaction (a group commit). A step's
sender posts one span at a time, so a busy server takes many small deliveries at once; each paid
for its repositories, its run's lock and summary, and a commit of its own. Written together,
they pay once.

- A delivery is answered only after the transaction holding it has committed: a 2xx is never
  lost.
- A group that fails for a reason of its own (a value the database refuses, a write that
  collided) is written again one delivery at a time, so only the bad one is refused and the
  others are kept; a database that is down fails the whole group at once with its 503, as
  does a lock held past PostgreSQL's lock timeout (an OperationalError too): every client
  retries, and every write is idempotent.
- Deliveries that report deploys or pages, or hold spans a repository's deploy rule may name
  (every span of an emitter that marks no deploy: the collector's receivers, Jenkins), are
  written alone, as they arrived: they take the repository's turn (recording.py), which may
  wait for its containment being worked out, and a group must never wait behind that.
  Deploys stored (a deploy rule's too) wake the alert evaluation.
- A delivery that reports mergesets joins a group. On PostgreSQL, if each is stored as it
  reports it (a main-branch run's spans after its first; recording.reports_news), it is
  written with the group without them, since storing them again would change nothing; if any
  is news (not stored yet, or known better now), its mergesets are stored after the group
  with the group's other news, in one short transaction of their own that takes the
  repository's turn, and its runs and steps then join the next group: none of them are
  written while holding a repository. A delivery is answered once both parts are committed;
  if the second fails, its mergesets stay, true whatever became of its steps, and the retry
  finds them stored. On SQLite, whose writes all take the one write turn anyway, the group
  stores them.
- On SQLite each write (a group, or a delivery alone) takes the process's write turn
  (api/deps.write_turn), and one group is written at a time; on PostgreSQL the deliveries
  written alone go straight ahead, and when a batch's worth of spans waits
  (SECOND_GROUP_SPANS) while a group is written, a second group is written at the same time
  (POSTGRESQL_GROUPS): a group's transaction mostly waits on round trips to the database, time
  the next group's Python can use. A few one-span deliveries wait for the next group instead:
  split into two small groups (often of one run, so the second waits for the first anyway)
  they cost more than they gain. Two groups never wait for each other in a circle, since
  every write takes its locks in one order: the repositories it makes on first sight
  (recording._repositories, in one order too), its runs' own locks (store.lock_runs) and their
  rows (store.upsert_pipeline_runs), sorted, then their steps, then the changed days
  (store.mark_days_changed), sorted.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, replace

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from leadtime.server import db, recording
from leadtime.server.ingest.facts import Facts
from leadtime.server.settings import Settings

log = logging.getLogger("leadtime.server")

GROUP_SPANS = 4_096  # a group stops taking deliveries past this many spans
GROUP_DELIVERIES = 256
POSTGRESQL_GROUPS = 2  # written at once (see the module); on SQLite one at a time
# Spans waiting that are worth a second group at once: one-span deliveries are cheaper waiting
# for the next group together than split into two small ones (each a transaction of its own,
# often on the same run, so the second waits for the first anyway).
SECOND_GROUP_SPANS = 256
DATABASE_TROUBLE = (OperationalError, PoolTimeout)  # the same for every delivery of a group


def groupable(facts: Facts) -> bool:
    """Runs and steps, and maybe mergesets stored already: nothing else that takes a
    repository's turn (see the module)."""
    return not (facts.deploys or facts.deploy_candidates or facts.pages)


def merged(group: list[Facts], with_mergesets: bool = False) -> Facts:
    """One delivery of a group's runs and steps (and mergesets, when asked), copied (recording
    renames a joined run's trace in place, and a group that fails is written again delivery by
    delivery)."""
    return Facts(
        steps=[dict(row) for facts in group for row in facts.steps],
        runs=[replace(run) for facts in group for run in facts.runs],
        mergesets=[m for facts in group for m in facts.mergesets] if with_mergesets else [],
    )


@dataclass
class _Waiting:
    facts: Facts
    answer: asyncio.Future[None]

    def settle(self, error: BaseException | None) -> None:
        if self.answer.done():  # its request went away (the answer was cancelled)
            return
        if error is None:
            self.answer.set_result(None)
        else:
            self.answer.set_exception(error)


class GroupWriter:
    """One per process: `await record(facts)` returns once the facts are committed."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        turns: asyncio.Lock | None,
        deploys_arrived: Callable[[], None],
    ) -> None:
        self.sessions, self.settings, self.turns = sessions, settings, turns
        self.deploys_arrived = deploys_arrived
        self.waiting: deque[_Waiting] = deque()
        self.waiting_spans = 0
        self.draining: set[asyncio.Task] = set()  # each writes one group after another
        self.with_news: set[asyncio.Task] = set()  # written after their group

    async def record(self, facts: Facts) -> None:
        if not groupable(facts):
            await self._alone(facts)
            return
        waiting = _Waiting(facts, asyncio.get_running_loop().create_future())
        self._enqueue(waiting)
        await waiting.answer

    def _enqueue(self, waiting: _Waiting) -> None:
        self.waiting.append(waiting)
        self.waiting_spans += len(waiting.facts.steps)
        if self._another_group():
            self.draining.add(asyncio.ensure_future(self._drain()))

    def _another_group(self) -> bool:
        """Whether one more group should be written at the same time as those being written."""
        if not self.draining:
            return True
        most = 1 if self.turns is not None else POSTGRESQL_GROUPS
        return len(self.draining) < most and self._worth_a_group()

    async def _alone(self, facts: Facts) -> None:
        async with self._turn():
            await run_in_threadpool(self._write, facts)

    def _turn(self) -> AbstractAsyncContextManager:
        return self.turns if self.turns is not None else nullcontext()

    async def _drain(self) -> None:
        try:
            while self.waiting and (len(self.draining) == 1 or self._worth_a_group()):
                group = self._next_group()
                try:
                    async with self._turn():
                        errors, news = await run_in_threadpool(self._write_group, group)
                except BaseException:  # the loop itself was stopped: no one waits forever
                    for waiting in [*group, *self.waiting]:
                        waiting.answer.cancel()
                    raise
                for waiting, error in errors:
                    waiting.settle(error)
                if news:  # in a transaction of their own, after the group, not in its way
                    task = asyncio.ensure_future(self._write_news(news))
                    self.with_news.add(task)
                    task.add_done_callback(self.with_news.discard)
        finally:  # at once, in the task: a delivery enqueued from now on starts a drain
            self.draining.discard(asyncio.current_task())

    def _worth_a_group(self) -> bool:
        """Enough spans wait to be a group of their own beside one being written (otherwise
        the drain writing it takes them next)."""
        return self.waiting_spans >= SECOND_GROUP_SPANS

    def _next_group(self) -> list[_Waiting]:
        group = [self.waiting.popleft()]
        spans = len(group[0].facts.steps)
        while self.waiting and len(group) < GROUP_DELIVERIES:
            more = len(self.waiting[0].facts.steps)
            if spans + more > GROUP_SPANS:
                break
            spans += more
            group.append(self.waiting.popleft())
        self.waiting_spans -= spans
        return group

    def _write_group(
        self, group: list[_Waiting]
    ) -> tuple[list[tuple[_Waiting, BaseException | None]], list[_Waiting]]:
        """Each delivery's error, or None once it is committed; and the deliveries whose
        mergesets are news, not written here."""
        if self.turns is not None:  # SQLite: a repository's turn is the write turn, held here
            deliveries = [waiting.facts for waiting in group]
            return list(zip(group, self._write_together(deliveries, True), strict=True)), []
        try:
            news = self._news([waiting.facts for waiting in group])
        except Exception as error:
            return [(waiting, error) for waiting in group], []
        plain = [waiting for waiting, new in zip(group, news, strict=True) if not new]
        with_news = [waiting for waiting, new in zip(group, news, strict=True) if new]
        errors = self._write_together([waiting.facts for waiting in plain])
        return list(zip(plain, errors, strict=True)), with_news

    def _news(self, deliveries: list[Facts]) -> list[bool]:
        if not any(facts.mergesets for facts in deliveries):
            return [False] * len(deliveries)
        with self.sessions() as session:  # a read: rolled back as it closes
            return recording.reports_news(session, deliveries)

    async def _write_news(self, group: list[_Waiting]) -> None:
        """The mergesets of deliveries that report news, in the repository's turn; then their
        runs and steps join the next group."""
        news = [Facts(mergesets=waiting.facts.mergesets) for waiting in group]
        try:
            async with self._turn():
                errors = await run_in_threadpool(self._write_together, news, True)
        except BaseException:
            for waiting in group:
                waiting.answer.cancel()
            raise
        for waiting, error in zip(group, errors, strict=True):
            if error is not None:
                waiting.settle(error)
            elif not waiting.answer.done():
                waiting.facts = merged([waiting.facts])  # its mergesets stored
                self._enqueue(waiting)

    def _write_together(
        self, deliveries: list[Facts], with_mergesets: bool = False
    ) -> list[BaseException | None]:
        """The deliveries' runs and steps (and their mergesets, when asked: otherwise they are
        stored as reported) in one transaction; each alone if that fails for a reason of its
        own."""
        if not deliveries:
            return []
        error = self._attempt(merged(deliveries, with_mergesets))
        if len(deliveries) == 1 or error is None or isinstance(error, DATABASE_TROUBLE):
            return [error] * len(deliveries)
        log.info("a group of %d deliveries failed (%s); writing each alone", len(deliveries), error)
        return [self._attempt(merged([facts], with_mergesets)) for facts in deliveries]

    def _attempt(self, facts: Facts) -> BaseException | None:
        try:
            self._write(facts)
        except Exception as error:
            return error
        return None

    def _write(self, facts: Facts) -> None:
        with db.unit_of_work(self.sessions) as session:
            recording.record_facts(session, facts, self.settings)
        if facts.deploys:  # the delivery's own, and those a deploy rule named
            self.deploys_arrived()
