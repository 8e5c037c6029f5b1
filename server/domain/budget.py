"""Where the 15 minutes go: slow steps, time queued for a runner, and each mergeset's lead time
split up, along each run's critical path (domain/critical_path.py).

- A step is **slow** when its p50 time on the critical path is at least SLOW_SHARE of the budget
  (LEADTIME_SLOW_STEP_SHARE, default 20%), and a **budget breaker** when its p50 duration alone
  is over the budget.
- Queued for a runner: the time of a run's queue spans (role queue, or inferred for its jobs
  from the run's start where no source reports queues: domain/job_queues.py), per job: the step the
  queue span hangs under, else its name without `queue-` (`queue-build` is build's). Reported as
  a `queued: <job>` row beside the steps, with the p50 of each run's total time queued and its
  share of the budget; on a mergeset's breakdown, queue time on the critical path is "queued for
  a runner".
- A mergeset's breakdown: merge to pipeline start (waiting), the critical-path steps of its
  main-branch run and of the run that deployed it, and the waiting between, up to the deploy.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.domain.caches import CacheStats, CacheUse, cache_stats, cache_uses
from leadtime.server.domain.critical_path import (
    WAITING,
    Segment,
    SpanTiming,
    critical_path,
)
from leadtime.server.domain.flaky import Retried, retried_on
from leadtime.server.domain.int_lists import ints
from leadtime.server.domain.job_queues import with_job_queues
from leadtime.server.domain.lead_time import (
    MergesetReport,
    budget_of,
    list_mergesets,
)
from leadtime.server.domain.queue_trend import QueueBucket, queue_trend
from leadtime.server.domain.stats import percentile, percentiles
from leadtime.server.domain.step_days import Reads, StepTotals, step_totals
from leadtime.server.domain.step_trends import weekly_step_p50
from leadtime.server.errors import BadPayload, Conflict, NotFound
from leadtime.server.models import Mergeset, Step
from leadtime.server.settings import Settings
from leadtime.tracer.attributes import (
    JOB_NAME,
    RESULT_ERROR,
    RESULT_FAILURE,
    RESULT_TIMEOUT,
)

FAILED_RESULTS = (RESULT_FAILURE, RESULT_ERROR, RESULT_TIMEOUT)  # the conventions' words

SLOW_SHARE = 0.20
MILLISECOND = 0.001
# Slow steps ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepStats:
    name: str
    runs: int
    p50: float
    p95: float
    max: float
    failure_rate: float
    share_of_budget: float
    critical_share: float  # of runs where the step lay on the critical path
    critical_p50: float
    trend: float | None  # p50 change against the previous window, e.g. 0.25 = 25% slower
    slow: bool
    budget_breaker: bool
    kind: str = "step"  # or "queued": time a job waited for a runner
    weekly_p50: list[float | None] = field(default_factory=list)  # domain/step_trends.py


@dataclass
class SlowStepsReport:
    repository: str
    window: timedelta
    budget: timedelta
    slow_share: float
    runs: int
    steps: list[StepStats] = field(default_factory=list)
    # p50 of each run's time queued for runners (runs that report queues), and its budget share
    queued_p50: float | None = None
    queued_share: float | None = None
    queued_trend: list[QueueBucket] = field(default_factory=list)  # domain/queue_trend.py
    caches: list[CacheStats] = field(default_factory=list)  # domain/caches.py


def step_stats(
    name: str,
    durations: Sequence[float],
    failures: int,
    on_path: Sequence[float],
    previous: Sequence[float],
    budget: timedelta,
    slow_share: float = SLOW_SHARE,
    unit: float = 1.0,
) -> StepStats:
    """The numbers and flags of one step name; `on_path` holds its critical-path time per run it
    ran in (0 where it was off the path). Times are given in `unit` seconds (0.001: the
    milliseconds the rollups hold) and reported in seconds."""
    budget_seconds = budget.total_seconds()
    p50, p95, longest = (unit * (value or 0.0) for value in percentiles(durations, (0.5, 0.95, 1)))
    critical_p50 = unit * (percentile(on_path, 0.5) or 0.0)
    previous_p50 = unit * (percentile(previous, 0.5) or 0.0)
    off_path = on_path.count(0)
    return StepStats(
        name=name,
        runs=len(durations),
        p50=p50,
        p95=p95,
        max=longest,
        failure_rate=failures / len(durations) if durations else 0.0,
        share_of_budget=p50 / budget_seconds,
        critical_share=(len(on_path) - off_path) / len(on_path) if on_path else 0.0,
        critical_p50=critical_p50,
        trend=(p50 / previous_p50 - 1) if previous_p50 else None,
        slow=critical_p50 >= slow_share * budget_seconds,
        budget_breaker=p50 > budget_seconds,
    )


def timings(steps: list[Step]) -> list[SpanTiming]:
    """A run's stored steps as timings, with the queues inferred for its jobs (job_queues)."""
    return with_job_queues(
        [
            SpanTiming(
                s.span_id,
                s.parent_span_id,
                s.name,
                s.started_at,
                s.finished_at,
                s.kind,
                s.result,
                s.role,
                (s.attributes or {}).get(JOB_NAME),
            )
            for s in steps
        ]
    )


QUEUED_PREFIX = "queued: "


def slowest_steps(
    session: Session, settings: Settings, now: datetime, repository: str, window: timedelta
) -> SlowStepsReport:
    """Per step name over the window: runs, p50, p95, max, failure rate, share of the budget,
    time on the critical path, trend against the previous window, the flags, and its p50 in
    each of the last weeks."""
    repo = store.find_repository(session, repository)
    budget = budget_of(repo, settings)
    reads = Reads()  # the days and runs its windows share: each read once
    current = step_totals(session, repo.id, now - window, now, reads=reads)
    previous = step_totals(
        session, repo.id, now - 2 * window, now - window, durations_only=True, reads=reads
    )
    weekly = weekly_step_p50(session, repo.id, now, reads=reads)
    stats = _queued_rows(current, previous, budget, settings.slow_step_share) + [
        replace(
            step_stats(
                name,
                times,
                current.failures[name],
                current.on_path[name],
                previous.durations.get(name, []),
                budget,
                settings.slow_step_share,
                unit=MILLISECOND,
            ),
            weekly_p50=weekly.get(name, []),
        )
        for name, times in current.durations.items()
    ]
    # The slowest first; a tie by name, whichever order the runs were read in.
    stats.sort(key=lambda s: s.name)
    stats.sort(key=lambda s: (s.critical_p50 if s.kind == "step" else s.p50, s.p50), reverse=True)
    queued = current.queued_by_run()
    queued_p50 = percentile([seconds for _, seconds in queued], 0.5)
    return SlowStepsReport(
        repository=repo.display_name,
        window=window,
        budget=budget,
        slow_share=settings.slow_step_share,
        runs=current.runs,
        steps=stats,
        queued_p50=queued_p50,
        queued_share=queued_p50 / budget.total_seconds() if queued_p50 is not None else None,
        queued_trend=queue_trend(queued, now, window),
        caches=cache_stats(session, repo.id, now, window),
    )


def _queued_rows(
    current: StepTotals, previous: StepTotals, budget: timedelta, slow_share: float
) -> list[StepStats]:
    """A `queued: <job>` row per job that waited for a runner in the window (see the module):
    waiting, so never slow, whatever its share."""
    rows = []
    for job, times in current.queued.items():
        before = previous.queued.get(job, ints())
        row = step_stats(job, times, 0, [], before, budget, slow_share, unit=MILLISECOND)
        rows.append(
            replace(row, name=QUEUED_PREFIX + job, kind="queued", slow=False, budget_breaker=False)
        )
    return rows


# A mergeset's breakdown ------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    name: str
    seconds: float
    share_of_budget: float
    waiting: bool


@dataclass
class Breakdown:
    mergeset: MergesetReport
    segments: list[Segment]
    parts: list[Part]
    main_trace_id: str | None
    deploy_trace_id: str | None
    retried: list[Retried] = field(default_factory=list)  # domain/flaky.py, on its revision
    caches: list[CacheUse] = field(default_factory=list)  # domain/caches.py, in its runs
    # span id -> name of each step of its runs whose result says it did not succeed
    failed: dict[str, str] = field(default_factory=dict)


def split_lead_time(
    merged_at: datetime,
    end: datetime,
    main_run: tuple[str, list[SpanTiming]] | None,
    deploy_run: tuple[str, list[SpanTiming]] | None,
) -> list[Segment]:
    """The stretch from merge to `end` (the deploy, or now) as critical-path segments and
    waiting, in time order, covering it exactly."""
    runs = [run for run in (main_run, deploy_run) if run and run[1]]
    if len(runs) == 2 and runs[0][0] == runs[1][0]:
        runs = runs[:1]  # built and deployed by one pipeline run
    segments: list[Segment] = []
    cursor = merged_at
    for index, (trace_id, spans) in enumerate(runs):
        run_start = max(min(s.started_at for s in spans), cursor)
        run_end = min(max(s.finished_at for s in spans), end)
        if run_start >= run_end:
            continue
        if run_start > cursor:
            label = "waiting for the pipeline" if index == 0 else "waiting to deploy"
            segments.append(Segment(label, cursor, run_start))
        segments.extend(critical_path(spans, run_start, run_end, trace_id))
        cursor = run_end
    if end > cursor:
        segments.append(Segment("waiting to deploy" if runs else WAITING, cursor, end))
    return segments


def parts_of(segments: list[Segment], budget: timedelta) -> list[Part]:
    totals: dict[tuple[str, bool], float] = defaultdict(float)
    for segment in segments:
        totals[(segment.name, segment.waiting)] += segment.seconds
    parts = [
        Part(name, seconds, seconds / budget.total_seconds(), waiting)
        for (name, waiting), seconds in totals.items()
    ]
    return sorted(parts, key=lambda part: part.seconds, reverse=True)


def _run_steps(session: Session, trace_id: str | None) -> tuple[str, list[Step]] | None:
    return (trace_id, store.steps_of(session, trace_id)) if trace_id else None


def _spans(run: tuple[str, list[Step]] | None) -> tuple[str, list[SpanTiming]] | None:
    return (run[0], timings(run[1])) if run else None


SHORTEST_PREFIX = 7  # git's own default abbreviation


def find_mergeset(
    session: Session, sha: str, repository_id: int | None, repository: str | None = None
) -> Mergeset:
    """The one mergeset a sha or a prefix of one (7 characters at least) names."""
    where = f" in {repository}" if repository else ""
    if len(sha) < SHORTEST_PREFIX or any(c not in "0123456789abcdefABCDEF" for c in sha):
        raise BadPayload(
            f"{sha!r} is no sha: give at least {SHORTEST_PREFIX} hex characters of one"
        )
    found = store.mergesets_by_prefix(session, sha, repository_id)
    if not found:
        raise NotFound(f"no mergeset {sha!r}{where}")
    if len(found) > 1:
        candidates = ", ".join(m.sha[:12] for m in found)
        raise Conflict(f"{sha!r} fits several mergesets{where} ({candidates}); give more of it")
    return found[0]


def mergeset_breakdown(
    session: Session, settings: Settings, now: datetime, sha: str, repository: str | None = None
) -> Breakdown:
    repository_id = store.find_repository(session, repository).id if repository else None
    mergeset = find_mergeset(session, sha, repository_id, repository)
    repo = store.repository_by_id(session, mergeset.repository_id)
    (report,) = list_mergesets(
        session, settings, now, repository=repo.display_name, sha=mergeset.sha, limit=1
    )
    main_trace = store.main_run_of(
        session, mergeset.repository_id, mergeset.sha, settings.main_branch_names
    )
    deploy = store.deploy_by_id(session, report.deploy_id) if report.deploy_id else None
    retried = retried_on(session, settings, mergeset.repository_id, mergeset.sha)
    if report.context:  # history from before the adoption point: no lead time to split
        return Breakdown(report, [], [], main_trace, None, retried)
    end = report.deployed_at or now
    main_run = _run_steps(session, main_trace)
    deploy_trace = deploy.trace_id if deploy else None
    deploy_run = main_run if deploy_trace == main_trace else _run_steps(session, deploy_trace)
    segments = split_lead_time(mergeset.merged_at, end, _spans(main_run), _spans(deploy_run))
    runs = [main_run] if deploy_run is main_run else [main_run, deploy_run]
    return Breakdown(
        mergeset=report,
        segments=segments,
        parts=parts_of(segments, budget_of(repo, settings)),
        main_trace_id=main_trace,
        deploy_trace_id=deploy.trace_id if deploy else None,
        retried=retried,
        caches=cache_uses([step for run in runs if run for step in run[1]]),
        failed={
            step.span_id: step.name
            for run in runs
            if run
            for step in run[1]
            if step.result in FAILED_RESULTS
        },
    )
