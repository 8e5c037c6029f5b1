"""Where the budget goes: `GET /api/reports/slowest-steps`, `GET /api/mergesets/{sha}/breakdown`,
and the budgets themselves (`GET`/`POST /api/budgets`)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from leadtime.server import store
from leadtime.server.api.deps import (
    Admin,
    Reader,
    SessionDep,
    SettingsDep,
    duration_param,
    now,
)
from leadtime.server.domain.budget import mergeset_breakdown, slowest_steps
from leadtime.server.domain.flaky import flaky_steps
from leadtime.server.domain.tests import TestsReport, flaky_tests, suggested_order, test_report
from leadtime.server.presenters import budget_out, mergeset_out
from leadtime.server.schemas import (
    BreakdownOut,
    BudgetIn,
    BudgetOut,
    CacheStatsOut,
    CacheUseOut,
    FlakyStepOut,
    FlakyStepsOut,
    PartOut,
    QueueBucketOut,
    RetriedOut,
    SegmentOut,
    SlowStepsOut,
    StepStatsOut,
    TestsOut,
    TestStatsOut,
)

router = APIRouter(prefix="/api", tags=["reports"])


@router.get("/reports/slowest-steps", dependencies=[Reader], response_model=SlowStepsOut)
def get_slowest_steps(
    session: SessionDep,
    settings: SettingsDep,
    repo: str = Query(description="Repository URL, owner/name or name."),
    window: str = Query("7d", description="How far back: e.g. 24h, 7d, 4w."),
) -> SlowStepsOut:
    """Per step name: runs, p50, p95, max, failure rate, share of the budget at p50, time on the
    critical path, trend against the previous window, and the slow / budget-breaker flags; a
    `queued: <job>` row (kind `queued`) per job that waited for a runner, and the p50 of a run's
    time queued with its share of the budget."""
    report = slowest_steps(session, settings, now(), repo, duration_param(window, "window"))
    return SlowStepsOut(
        repository=report.repository,
        window_seconds=report.window.total_seconds(),
        budget_seconds=report.budget.total_seconds(),
        slow_share=report.slow_share,
        runs=report.runs,
        steps=[StepStatsOut(**stats.__dict__) for stats in report.steps],
        queued_p50=report.queued_p50,
        queued_share_of_budget=report.queued_share,
        queued_trend=[QueueBucketOut(**bucket.__dict__) for bucket in report.queued_trend],
        caches=[CacheStatsOut(**stats.__dict__) for stats in report.caches],
    )


def _tests_out(report: TestsReport, tests: list) -> TestsOut:
    return TestsOut(
        repository=report.repository,
        window_seconds=report.window.total_seconds(),
        runs=report.runs,
        tests=[TestStatsOut(**test.__dict__) for test in tests],
    )


REPO = Query(description="Repository URL, owner/name or name.")
TEST_WINDOW = Query("14d", description="How far back: e.g. 7d, 14d, 4w.")


@router.get("/reports/slowest-tests", dependencies=[Reader], response_model=TestsOut)
def get_slowest_tests(
    session: SessionDep, settings: SettingsDep, repo: str = REPO, window: str = TEST_WINDOW
) -> TestsOut:
    """Test cases inside steps (`leadtime step --junit`, OTel-aware runners), slowest p50
    first: runs, failures, p50, p95, trend against the previous window, flaky revisions."""
    report = test_report(session, settings, now(), repo, duration_param(window, "window"))
    return _tests_out(report, report.tests)


@router.get("/reports/flaky-tests", dependencies=[Reader], response_model=TestsOut)
def get_flaky_tests(
    session: SessionDep, settings: SettingsDep, repo: str = REPO, window: str = TEST_WINDOW
) -> TestsOut:
    """Tests that failed and then passed on the same revision, the most often flaky first."""
    report = test_report(session, settings, now(), repo, duration_param(window, "window"))
    return _tests_out(report, flaky_tests(report))


@router.get("/reports/test-order", dependencies=[Reader], response_model=TestsOut)
def get_test_order(
    session: SessionDep, settings: SettingsDep, repo: str = REPO, window: str = TEST_WINDOW
) -> TestsOut:
    """Every test in the order to run it: the most likely to fail first (failure rate over the
    window), the fastest first among equals, so a failing build fails early."""
    report = test_report(session, settings, now(), repo, duration_param(window, "window"))
    return _tests_out(report, suggested_order(report))


@router.get("/reports/flaky-steps", dependencies=[Reader], response_model=FlakyStepsOut)
def get_flaky_steps(
    session: SessionDep,
    settings: SettingsDep,
    repo: str = Query(description="Repository URL, owner/name or name."),
    window: str = Query("30d", description="How far back: e.g. 7d, 30d, 12w."),
) -> FlakyStepsOut:
    """Steps that failed and passed on the same revision (a re-run, or two runs): per step, the
    revisions it ran on and was flaky on, the flaky rate, retries, the seconds those retries
    lost (and lost on main branches, inside lead times), and the `flaky` flag at
    LEADTIME_FLAKY_STEP_RATE."""
    report = flaky_steps(session, settings, now(), repo, duration_param(window, "window"))
    return FlakyStepsOut(
        repository=report.repository,
        window_seconds=report.window.total_seconds(),
        threshold=report.threshold,
        steps=[FlakyStepOut(**step.__dict__) for step in report.steps],
    )


@router.get("/mergesets/{sha}/breakdown", dependencies=[Reader], response_model=BreakdownOut)
def get_breakdown(
    sha: str,
    session: SessionDep,
    settings: SettingsDep,
    repo: str | None = Query(None, description="Repository, when the sha is ambiguous."),
) -> BreakdownOut:
    """A mergeset's lead time split into waiting and critical-path steps, largest first, and
    the same as a waterfall in time order; and the steps and test cases retried on its sha."""
    breakdown = mergeset_breakdown(session, settings, now(), sha, repo)
    return BreakdownOut(
        mergeset=mergeset_out(breakdown.mergeset),
        parts=[PartOut(**part.__dict__) for part in breakdown.parts],
        segments=[
            SegmentOut(
                name=segment.name,
                started_at=segment.started_at,
                finished_at=segment.finished_at,
                seconds=segment.seconds,
                waiting=segment.waiting,
                span_id=segment.span_id,
                trace_id=segment.trace_id,
                failed=segment.span_id in breakdown.failed,
            )
            for segment in breakdown.segments
        ],
        main_trace_id=breakdown.main_trace_id,
        deploy_trace_id=breakdown.deploy_trace_id,
        retried=[RetriedOut(**retried.__dict__) for retried in breakdown.retried],
        caches=[CacheUseOut(**use.__dict__) for use in breakdown.caches],
        failed_steps=sorted(set(breakdown.failed.values())),
    )


@router.get("/budgets", dependencies=[Reader], response_model=list[BudgetOut])
def get_budgets(session: SessionDep, settings: SettingsDep) -> list[BudgetOut]:
    """Every repository's lead-time budget (its own, or the default)."""
    return [budget_out(repo, settings) for repo in store.repositories(session)]


@router.post("/budgets", dependencies=[Admin], response_model=BudgetOut)
def post_budget(budget: BudgetIn, session: SessionDep, settings: SettingsDep) -> BudgetOut:
    """Set a repository's budget (`budget_seconds`), or go back to the default (null)."""
    repo = store.find_repository(session, budget.repository)
    store.set_budget(session, repo, budget.budget_seconds)
    return budget_out(repo, settings)
