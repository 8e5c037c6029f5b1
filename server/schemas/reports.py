"""The reports' shapes: summary, slowest steps, a mergeset's breakdown, budgets, errors.
Durations are `*_seconds`, times ISO 8601 UTC."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from leadtime.server.schemas.deliveries import MergesetOut


class DoraKeyOut(BaseModel):
    key: str = Field(
        description="deployment_frequency, change_lead_time, change_failure_rate, "
        "failed_deployment_recovery_time or rework_rate."
    )
    value: float | None = Field(description="None where nothing was there to count.")
    unit: str = Field(description="`per day`, `seconds` or `share` (0-1).")
    tier: str | None = Field(description="elite, high, medium or low; None without bounds.")
    counts: str = Field(description="What the value counts, in words.")
    note: str | None = Field(None, description="Why the key has no tier, where it has none.")


class DoraOut(BaseModel):
    repository: str | None
    window_seconds: float
    deploys: int = Field(description="Successful production deploys finished in the window.")
    keys: list[DoraKeyOut]
    source: str = Field(description="Where the tiers' bounds come from.")
    measured_since: datetime | None = Field(description="The adoption point.")


class SummaryOut(BaseModel):
    repository: str | None
    window_seconds: float
    deploys: int
    deploys_per_day: float
    mergesets_deployed: int
    lead_time_median_seconds: float | None = Field(
        description="Lead time (merge -> production), the median of mergesets deployed."
    )
    lead_time_p90_seconds: float | None
    change_lead_time_median_seconds: float | None = Field(
        None,
        description="DORA's change lead time (first commit of the merged branch -> production), "
        "the median of the mergesets whose branch start git told.",
    )
    share_over_budget: float | None
    share_batched_deploys: float | None
    mergesets_waiting: int
    longest_wait_seconds: float | None
    measured_since: datetime | None = Field(
        description="The adoption point: history merged before it is context, never counted."
    )


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody


class StepStatsOut(BaseModel):
    name: str
    runs: int
    p50: float = Field(description="Seconds.")
    p95: float
    max: float
    failure_rate: float
    share_of_budget: float = Field(description="p50 over the budget.")
    critical_share: float = Field(description="Share of runs where it was on the critical path.")
    critical_p50: float = Field(description="p50 seconds on the critical path.")
    trend: float | None = Field(description="p50 change against the previous window.")
    slow: bool
    budget_breaker: bool
    kind: str = Field(
        "step",
        description="`step`, or `queued`: the time a job (`queued: <job>`) waited for a runner.",
    )
    weekly_p50: list[float | None] = Field(
        default_factory=list,
        description="p50 seconds in each of the last 8 weeks of whole UTC days (the last ends "
        "now), oldest first; null in a week the step did not run; empty for `queued` rows.",
    )


class CacheStatsOut(BaseModel):
    name: str = Field(description="A step that says whether its cache was hit.")
    hits: int
    misses: int
    hit_rate: float
    hit_p50: float | None
    miss_p50: float | None
    miss_cost_per_week: float | None = Field(
        description="Seconds a week the misses took over the hit p50 (None without a hit)."
    )


class QueueBucketOut(BaseModel):
    started_at: datetime
    runs: int = Field(description="Runs of the bucket that reported a queue.")
    p50: float | None


class SlowStepsOut(BaseModel):
    repository: str
    window_seconds: float
    budget_seconds: float
    slow_share: float
    runs: int
    steps: list[StepStatsOut]
    queued_p50: float | None = Field(
        None, description="p50 seconds a run spent queued for runners (runs that report queues)."
    )
    queued_share_of_budget: float | None = None
    queued_trend: list[QueueBucketOut] = Field(
        default_factory=list,
        description="The p50 of a run's time queued per day (windows up to 14 days) or per week, "
        "oldest first; null where no run of the bucket reported a queue.",
    )
    caches: list[CacheStatsOut] = Field(
        default_factory=list, description="Steps' p50 split by cache hit and miss."
    )


class PartOut(BaseModel):
    name: str
    seconds: float
    share_of_budget: float
    waiting: bool


class SegmentOut(BaseModel):
    name: str
    started_at: datetime
    finished_at: datetime
    seconds: float
    waiting: bool
    span_id: str | None
    trace_id: str | None
    failed: bool = Field(False, description="The step's result was failure, error or timeout.")


class RetriedOut(BaseModel):
    name: str
    kind: str = Field(description="`step`, or `test`: a test case inside a step.")
    retries: int = Field(description="Failed executions that a later pass on the sha followed.")
    seconds_lost: float
    seconds_lost_on_main: float = Field(
        description="Of the lost time, that of main-branch runs: inside the lead time."
    )


class CacheUseOut(BaseModel):
    name: str
    hit: bool
    seconds: float
    trace_id: str


class BreakdownOut(BaseModel):
    mergeset: MergesetOut
    parts: list[PartOut]
    segments: list[SegmentOut]
    main_trace_id: str | None
    deploy_trace_id: str | None
    retried: list[RetriedOut] = Field(
        default_factory=list,
        description="Steps, then test cases, that failed and then passed on the mergeset's sha.",
    )
    caches: list[CacheUseOut] = Field(
        default_factory=list,
        description="The steps of its main-branch and deploy runs that said whether their cache "
        "was hit (`--cache-hit`), in the order they ran.",
    )
    failed_steps: list[str] = Field(
        default_factory=list,
        description="Steps of its main-branch and deploy runs whose result was failure, error or "
        "timeout, on its critical path or not.",
    )


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repository: str = Field(min_length=1, max_length=500)
    budget_seconds: float | None = Field(
        ge=1, le=30 * 86400, description="Seconds (at least 1); null for the default."
    )


class BudgetOut(BaseModel):
    repository: str
    budget_seconds: float
    default: bool


class DeployRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repository: str = Field(min_length=1, max_length=500)
    job: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f]+$",
        description="A job-name glob, shell-style (`deploy-prod*`), letter case ignored.",
    )
    environment: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")


class DeployRuleOut(BaseModel):
    repository: str
    job: str
    environment: str


class FlakyStepOut(BaseModel):
    name: str
    runs: int = Field(description="Executions in the window.")
    revisions: int = Field(description="Revisions (shas) it ran on.")
    flaky_revisions: int = Field(description="Revisions where it both failed and passed.")
    flaky_rate: float
    retries: int = Field(description="Failed executions a later pass on the same sha followed.")
    seconds_lost: float = Field(description="The time those failed executions took.")
    seconds_lost_on_main: float = Field(description="The same, on main branches only.")
    flaky: bool = Field(description="flaky_rate reaches the threshold.")


class FlakyStepsOut(BaseModel):
    repository: str
    window_seconds: float
    threshold: float
    steps: list[FlakyStepOut]


class TestStatsOut(BaseModel):
    name: str = Field(description="The test case: class (or file) and name, as its report says.")
    runs: int
    failures: int
    failure_rate: float
    p50: float
    p95: float
    trend: float | None = Field(description="p50 change against the previous window.")
    revisions: int = Field(description="Revisions (shas) it ran on.")
    flaky_revisions: int = Field(description="Revisions where it failed and then passed.")


class TestsOut(BaseModel):
    repository: str
    window_seconds: float
    runs: int = Field(description="Test executions in the window.")
    tests: list[TestStatsOut]
