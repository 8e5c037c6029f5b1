"""Tests inside steps: the slowest, the flaky, and the order to run them in.

Test cases are the spans of role test (ingest/emitters): `leadtime step --junit`'s, and those of
OTel-aware runners (pytest-opentelemetry) nested under a step. A test is named by its span
(`class.case` from JUnit). Over a window:
- **slowest tests**: runs, failures, p50, p95 and the p50's trend against the previous window;
  skipped runs are left out;
- **flaky tests**: a test that failed and then passed on the same revision (domain/flaky.py's
  rule for steps), with the revisions it ran on and was flaky on;
- **suggested order**: most likely to fail first (failure rate in the window), and among equals
  the fastest first (p50), so a failing build fails early.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain.flaky import PASSED, Execution, retries_of
from leadtime.server.domain.stats import percentile
from leadtime.server.settings import Settings

SKIPPED = "skip"


@dataclass(frozen=True)
class TestStats:
    __test__ = False  # not a pytest class

    name: str
    runs: int
    failures: int
    failure_rate: float
    p50: float
    p95: float
    trend: float | None
    revisions: int
    flaky_revisions: int


@dataclass
class TestsReport:
    __test__ = False

    repository: str
    window: timedelta
    runs: int = 0  # test executions in the window
    tests: list[TestStats] = field(default_factory=list)  # slowest first


def _executions(
    session: Session, settings: Settings, repository_id: int, since: datetime, until: datetime
) -> dict[str, dict[str, list[Execution]]]:
    """Per test name, per revision, its executions oldest first (skipped runs left out)."""
    main = set(settings.main_branch_names)
    found: dict[str, dict[str, list[Execution]]] = defaultdict(lambda: defaultdict(list))
    for sha, branch, name, result, started, finished in store.test_executions(
        session, repository_id, since, until
    ):
        if result == SKIPPED:
            continue
        seconds = (finished - started).total_seconds()
        found[name][sha or ""].append(Execution(result == PASSED, started, seconds, branch in main))
    return found


def _stats(name: str, by_revision: dict[str, list[Execution]], before: list[float]) -> TestStats:
    runs = [run for revision in by_revision.values() for run in revision]
    seconds = [run.seconds for run in runs]
    failures = sum(not run.passed for run in runs)
    p50 = percentile(seconds, 0.5) or 0.0
    previous = percentile(before, 0.5)
    known = {sha: found for sha, found in by_revision.items() if sha}
    return TestStats(
        name=name,
        runs=len(runs),
        failures=failures,
        failure_rate=failures / len(runs),
        p50=p50,
        p95=percentile(seconds, 0.95) or 0.0,
        trend=(p50 / previous - 1) if previous else None,
        revisions=len(known),
        flaky_revisions=sum(bool(retries_of(found)) for found in known.values()),
    )


def test_report(
    session: Session, settings: Settings, now: datetime, repository: str, window: timedelta
) -> TestsReport:
    """Every test's numbers over the window, slowest first (see the module)."""
    repo = store.find_repository(session, repository)
    current = _executions(session, settings, repo.id, now - window, now)
    previous = _executions(session, settings, repo.id, now - 2 * window, now - window)
    tests = []
    for name, by_revision in current.items():
        before = [run.seconds for found in previous.get(name, {}).values() for run in found]
        tests.append(_stats(name, by_revision, before))
    tests.sort(key=lambda test: (test.p50, test.p95), reverse=True)
    return TestsReport(repo.display_name, window, sum(t.runs for t in tests), tests)


def flaky_tests(report: TestsReport) -> list[TestStats]:
    """The tests that failed and then passed on one revision, the most often flaky first."""
    flaky = [test for test in report.tests if test.flaky_revisions]
    return sorted(flaky, key=lambda t: (t.flaky_revisions / t.revisions, t.runs), reverse=True)


def suggested_order(report: TestsReport) -> list[TestStats]:
    """Most likely to fail first, the fastest first among equals."""
    return sorted(report.tests, key=lambda test: (-test.failure_rate, test.p50, test.name))
