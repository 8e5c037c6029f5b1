"""Retries and flaky steps: the minutes a step loses by failing and then passing on the same code.

- A step (same repository, name and revision) is **flaky** on a revision when it both failed
  and passed there: in two attempts of one run (a re-run of failed jobs) or in two runs.
- A **retry** is a failed execution that a later pass on the same revision followed: the time
  it took was lost. On a main branch that time is inside a mergeset's lead time
  (`seconds_lost_on_main`).
- Per step over the window: the revisions it ran on, those it was flaky on, the flaky rate
  (flaky revisions over revisions), retries, the seconds lost on main branches, and the flag
  `flaky` when the rate reaches LEADTIME_FLAKY_STEP_RATE (default 5%). A step that failed and
  never passed on a revision is broken there, not flaky.
- On one revision (a mergeset's page): each step and test case that was retried there, with
  the retries and the time they took (on main branches: inside the mergeset's lead time).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.settings import Settings

PASSED = "success"
NOT_RUN = ("skip",)  # a skipped step neither passed nor failed


@dataclass(frozen=True)
class FlakyStep:
    name: str
    runs: int  # executions in the window
    revisions: int
    flaky_revisions: int
    flaky_rate: float
    retries: int
    seconds_lost: float
    seconds_lost_on_main: float
    flaky: bool


@dataclass
class FlakyReport:
    repository: str
    window: timedelta
    threshold: float
    steps: list[FlakyStep] = field(default_factory=list)


@dataclass
class Execution:
    passed: bool
    started_at: datetime
    seconds: float
    on_main: bool


def retries_of(executions: list[Execution]) -> list[Execution]:
    """The failed executions a later pass followed (executions oldest first)."""
    last_pass = max((e.started_at for e in executions if e.passed), default=None)
    if last_pass is None:
        return []
    return [e for e in executions if not e.passed and e.started_at < last_pass]


def _step(name: str, by_revision: dict[str, list[Execution]], threshold: float) -> FlakyStep:
    flaky = [runs for runs in by_revision.values() if retries_of(runs)]
    retries = [retry for runs in flaky for retry in retries_of(runs)]
    rate = len(flaky) / len(by_revision) if by_revision else 0.0
    return FlakyStep(
        name=name,
        runs=sum(len(runs) for runs in by_revision.values()),
        revisions=len(by_revision),
        flaky_revisions=len(flaky),
        flaky_rate=rate,
        retries=len(retries),
        seconds_lost=sum(retry.seconds for retry in retries),
        seconds_lost_on_main=sum(retry.seconds for retry in retries if retry.on_main),
        flaky=bool(flaky) and rate >= threshold,
    )


def flaky_steps(
    session: Session, settings: Settings, now: datetime, repository: str, window: timedelta
) -> FlakyReport:
    """Per step name over the window: see the module. Steps never flaky are left out."""
    repo = store.find_repository(session, repository)
    main = set(settings.main_branch_names)
    executions: dict[str, dict[str, list[Execution]]] = defaultdict(lambda: defaultdict(list))
    for _trace, _run, sha, branch, name, result, started, finished in store.step_executions(
        session, repo.id, now - window, now
    ):
        if not sha or result in NOT_RUN:
            continue
        seconds = (finished - started).total_seconds()
        executions[name][sha].append(Execution(result == PASSED, started, seconds, branch in main))
    threshold = settings.flaky_step_rate
    steps = [_step(name, revisions, threshold) for name, revisions in executions.items()]
    steps = [step for step in steps if step.flaky_revisions]
    steps.sort(key=lambda s: (s.flaky, s.flaky_rate, s.seconds_lost), reverse=True)
    return FlakyReport(repo.display_name, window, threshold, steps)


@dataclass(frozen=True)
class Retried:
    """A step or test case that failed and then passed on one revision."""

    name: str
    kind: str  # "step" or "test"
    retries: int
    seconds_lost: float
    seconds_lost_on_main: float


TEST_ROLE = "test"


def retried_on(session: Session, settings: Settings, repository_id: int, sha: str) -> list[Retried]:
    """Every step, then every test case, retried on the revision (see the module), the most
    time lost first."""
    main = set(settings.main_branch_names)
    executions: dict[tuple[str, str], list[Execution]] = defaultdict(list)
    for branch, role, name, result, started, finished in store.revision_executions(
        session, repository_id, sha
    ):
        if result in NOT_RUN:
            continue
        kind = "test" if role == TEST_ROLE else "step"
        seconds = (finished - started).total_seconds()
        executions[(kind, name)].append(
            Execution(result == PASSED, started, seconds, branch in main)
        )
    retried = []
    for (kind, name), runs in executions.items():
        if retries := retries_of(runs):
            lost_on_main = sum(retry.seconds for retry in retries if retry.on_main)
            lost = sum(retry.seconds for retry in retries)
            retried.append(Retried(name, kind, len(retries), lost, lost_on_main))
    return sorted(retried, key=lambda r: (r.kind != "step", -r.seconds_lost, r.name))
