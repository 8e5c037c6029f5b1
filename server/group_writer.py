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
- Deliveries that report mergesets, deploys or pages, or hold spans a repository's deploy rule
  may name (every span of an emitter that marks no deploy: the collector's receivers, Jenkins),
  are written alone, as they arrived: they take the repository's turn (recording.py), which
  may wait for its containment being worked out, and a group must never wait behind that.
  Deploys stored (a deploy rule's too) wake the alert evaluation.
- On SQLite each write (a group, or a delivery alone) takes the process's write turn
  (api/deps.write_turn); on PostgreSQL the deliveries written alone go straight ahead.
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
DATABASE_TROUBLE = (OperationalError, PoolTimeout)  # the same for every delivery of a group


def groupable(facts: Facts) -> bool:
    """Runs and steps alone: nothing that takes a repository's turn (see the module)."""
    return not (facts.mergesets or facts.deploys or facts.deploy_candidates or facts.pages)


def merged(group: list[Facts]) -> Facts:
    """One delivery of a group's runs and steps, copied (recording renames a joined run's trace
    in place, and a group that fails is written again delivery by delivery)."""
    return Facts(
        steps=[dict(row) for facts in group for row in facts.steps],
        runs=[replace(run) for facts in group for run in facts.runs],
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
        self.draining: asyncio.Task | None = None

    async def record(self, facts: Facts) -> None:
        if not groupable(facts):
            async with self._turn():
                await run_in_threadpool(self._write, facts)
            return
        waiting = _Waiting(facts, asyncio.get_running_loop().create_future())
        self.waiting.append(waiting)
        if self.draining is None:
            self.draining = asyncio.ensure_future(self._drain())
        await waiting.answer

    def _turn(self) -> AbstractAsyncContextManager:
        return self.turns if self.turns is not None else nullcontext()

    async def _drain(self) -> None:
        try:
            while self.waiting:
                group = self._next_group()
                try:
                    async with self._turn():
                        errors = await run_in_threadpool(self._write_group, group)
                except BaseException:  # the loop itself was stopped: no one waits forever
                    for waiting in [*group, *self.waiting]:
                        waiting.answer.cancel()
                    raise
                for waiting, error in zip(group, errors, strict=True):
                    waiting.settle(error)
        finally:
            self.draining = None

    def _next_group(self) -> list[_Waiting]:
        group = [self.waiting.popleft()]
        spans = len(group[0].facts.steps)
        while self.waiting and len(group) < GROUP_DELIVERIES:
            spans += len(self.waiting[0].facts.steps)
            if spans > GROUP_SPANS:
                break
            group.append(self.waiting.popleft())
        return group

    def _write_group(self, group: list[_Waiting]) -> list[BaseException | None]:
        """Each delivery's error, or None once it is committed."""
        if len(group) == 1:
            return [self._attempt(group[0].facts)]
        error = self._attempt(merged([waiting.facts for waiting in group]))
        if error is None or isinstance(error, DATABASE_TROUBLE):
            return [error] * len(group)
        log.info("a group of %d deliveries failed (%s); writing each alone", len(group), error)
        return [self._attempt(waiting.facts) for waiting in group]

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
