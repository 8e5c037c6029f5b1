"""The JSON shapes of the API, in and out. Durations are `*_seconds`, times ISO 8601 UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

SHA_PATTERN = r"^[0-9a-fA-F]{7,64}$"
DEPLOY_STATUSES = ("queued", "in_progress", "succeeded", "failed", "cancelled")
STATUS_ALIASES = {
    "success": "succeeded",
    "successful": "succeeded",
    "failure": "failed",
    "error": "failed",
    "canceled": "cancelled",
    "pending": "queued",
    "running": "in_progress",
}


class MergeIn(BaseModel):
    """A change that landed on the main branch, from anything that does not send spans."""

    model_config = ConfigDict(extra="forbid")

    repository: str = Field(
        min_length=1, max_length=500, description="URL, owner/name or name of the repository."
    )
    sha: str = Field(pattern=SHA_PATTERN, description="The mergeset's commit on main.")
    merged_at: AwareDatetime = Field(description="When it landed (with a time zone).")
    parent_sha: str | None = Field(None, pattern=SHA_PATTERN, description="First parent on main.")
    title: str | None = Field(None, max_length=500)
    author: str | None = Field(None, max_length=300)
    pr_number: int | None = Field(None, ge=0, le=2**31 - 1)
    pr_title: str | None = Field(None, max_length=500)
    pr_author: str | None = Field(None, max_length=300)
    pr_url: str | None = Field(None, max_length=1000)


class DeployIn(BaseModel):
    """A deploy of one sha of one service to one environment."""

    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1, max_length=200)
    repository: str | None = Field(
        None,
        max_length=500,
        description="Needed the first time a service is deployed; later ones find it.",
    )
    environment: str = Field(min_length=1, max_length=200)
    sha: str = Field(pattern=SHA_PATTERN)
    status: str = Field(description=f"One of {', '.join(DEPLOY_STATUSES)}.")
    started_at: AwareDatetime | None = None
    finished_at: AwareDatetime | None = Field(
        None, description="Defaults to the time of the report for a finished deploy."
    )
    url: str | None = Field(None, max_length=1000)
    id: str | None = Field(
        None, max_length=300, description="Your id of the deploy; reports with it update it."
    )
    contains: list[str] | None = Field(
        None, description="The shas this deploy ships, when you know them exactly."
    )

    @field_validator("status")
    @classmethod
    def known_status(cls, value: str) -> str:
        status = STATUS_ALIASES.get(value.lower(), value.lower())
        if status not in DEPLOY_STATUSES:
            raise ValueError(f"status {value!r}: use one of {', '.join(DEPLOY_STATUSES)}")
        return status

    def finished(self) -> datetime | None:
        if self.finished_at is None and self.status in ("succeeded", "failed", "cancelled"):
            return datetime.now(UTC)
        return self.finished_at


class Accepted(BaseModel):
    ok: bool = True


class DeployRef(BaseModel):
    id: int
    identity: str


class MergesetOut(BaseModel):
    sha: str
    repository: str
    merged_at: datetime
    merged_at_source: str
    title: str | None
    author: str | None
    deployed_at: datetime | None
    deploy_id: int | None
    lead_time_seconds: float | None
    waiting_seconds: float | None
    budget_seconds: float
    batched: bool
    over_budget: bool
    pr_number: int | None
    pr_title: str | None
    pr_author: str | None
    pr_url: str | None


class MergesetBrief(BaseModel):
    sha: str
    merged_at: datetime
    title: str | None
    author: str | None


class PageBrief(BaseModel):
    id: int
    title: str
    status: str
    triggered_at: datetime


class DeployOut(BaseModel):
    id: int
    service: str
    repository: str | None
    environment: str
    sha: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    url: str | None
    source: str
    external_id: str | None
    batched: bool
    mergesets: list[MergesetBrief]
    pages: list[PageBrief] = Field(
        default_factory=list, description="Pages this deploy is the suspect of."
    )


class StepOut(BaseModel):
    span_id: str
    parent_span_id: str | None
    name: str
    started_at: datetime
    finished_at: datetime
    duration_seconds: float
    result: str | None
    exit_code: int | None
    task_type: str | None
    service: str | None
    attributes: dict
    children: list[StepOut] = []


class PipelineOut(BaseModel):
    trace_id: str
    provider: str | None
    run_id: str | None
    attempt: str | None
    name: str | None
    branch: str | None
    sha: str | None
    url: str | None
    result: str | None
    started_at: datetime
    finished_at: datetime
    duration_seconds: float
    steps: list[StepOut]


class SummaryOut(BaseModel):
    repository: str | None
    window_seconds: float
    deploys: int
    deploys_per_day: float
    mergesets_deployed: int
    lead_time_median_seconds: float | None
    lead_time_p90_seconds: float | None
    share_over_budget: float | None
    share_batched_deploys: float | None
    mergesets_waiting: int
    longest_wait_seconds: float | None


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


class SlowStepsOut(BaseModel):
    repository: str
    window_seconds: float
    budget_seconds: float
    slow_share: float
    runs: int
    steps: list[StepStatsOut]


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


class BreakdownOut(BaseModel):
    mergeset: MergesetOut
    parts: list[PartOut]
    segments: list[SegmentOut]
    main_trace_id: str | None
    deploy_trace_id: str | None


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


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repository: str = Field(min_length=1, max_length=500)
    target_seconds: float | None = Field(
        ge=1,
        le=30 * 86400,
        description="The team's lead-time target in seconds, the regression baseline instead of "
        "the history's median; null to go back to the history.",
    )


class TargetOut(BaseModel):
    repository: str
    target_seconds: float | None


def _webhook_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return value


class AlertRuleIn(BaseModel):
    """A repository's own regression numbers and notifiers; null keeps the server's default."""

    model_config = ConfigDict(extra="forbid")

    repository: str = Field(min_length=1, max_length=500)
    window_seconds: float | None = Field(None, ge=60, le=365 * 86400)
    baseline_seconds: float | None = Field(None, ge=60, le=365 * 86400)
    min_mergesets: int | None = Field(None, ge=1, le=10000)
    fire_ratio: float | None = Field(None, gt=1, le=100)
    resolve_ratio: float | None = Field(None, ge=1, le=100)
    floor_seconds: float | None = Field(None, ge=0, le=30 * 86400)
    slack_webhook_url: str | None = Field(None, max_length=1000)
    webhook_url: str | None = Field(None, max_length=1000)
    webhook_secret: str | None = Field(None, max_length=500)

    _urls = field_validator("slack_webhook_url", "webhook_url")(_webhook_url)

    @field_validator("resolve_ratio")
    @classmethod
    def _resolve_below_fire(cls, value: float | None, info) -> float | None:
        fire = info.data.get("fire_ratio")
        if value is not None and fire is not None and value > fire:
            raise ValueError("resolve_ratio must not exceed fire_ratio (the alert would flap)")
        return value


class AlertRuleOut(BaseModel):
    repository: str
    window_seconds: float
    baseline_seconds: float
    min_mergesets: int
    fire_ratio: float
    resolve_ratio: float
    floor_seconds: float
    target_seconds: float | None
    channels: list[str] = Field(description="Where alerts go; webhook URLs are never shown.")


class NotificationOut(BaseModel):
    channel: str
    event: str
    status: str
    attempts: int
    last_error: str | None
    sent_at: datetime | None


class AlertEventOut(BaseModel):
    kind: str
    at: datetime
    current_seconds: float | None
    baseline_seconds: float | None


class AlertOut(BaseModel):
    id: int
    repository: str
    metric: str = Field(description="lead_time, step or stuck_mergeset.")
    subject: str = Field(description="The step name or mergeset sha; empty for lead time.")
    status: str
    message: str
    current_seconds: float | None
    baseline_seconds: float | None
    ratio: float | None
    detail: dict
    fired_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    url: str
    notifications: list[NotificationOut]
    events: list[AlertEventOut]


class CheckOut(BaseModel):
    fired: int
    resolved: int
    firing: list[AlertOut]


class PageIn(BaseModel):
    """A page from anything that is not a pager we know (a script, `leadtime page`)."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(
        None, min_length=1, max_length=300, description="Your id for it; sent again, it updates."
    )
    service: str = Field(min_length=1, max_length=200, description="As the pager names it.")
    title: str = Field(min_length=1, max_length=500)
    urgency: str | None = Field(None, max_length=50)
    team: str | None = Field(None, max_length=200)
    triggered_at: AwareDatetime | None = Field(None, description="Default: now.")
    acknowledged_at: AwareDatetime | None = None
    resolved_at: AwareDatetime | None = None
    url: str | None = Field(None, max_length=1000)


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolved_at: AwareDatetime | None = Field(None, description="Default: now.")


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str = Field(
        pattern="^(confirm|reassign|clear|auto)$",
        description="confirm the suspect (or deploy_id), reassign to deploy_id, clear (not "
        "caused by a deploy), or auto (back to the rule).",
    )
    deploy_id: int | None = Field(None, ge=1, le=2**31 - 1)


class PageOut(BaseModel):
    id: int
    source: str
    external_id: str
    pager_service: str
    service: str | None = Field(description="The deploys' name for it; null while unmatched.")
    repository: str | None
    title: str
    urgency: str | None
    team: str | None
    status: str
    triggered_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    url: str | None
    link: str = Field(description="auto, confirmed or cleared.")
    suspect: DeployOut | None
    minutes_after_deploy: float | None
    candidates: list[DeployOut]


class ServiceMappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pager_service: str = Field(min_length=1, max_length=200)
    service: str = Field(min_length=1, max_length=200)


class ServiceMappingOut(BaseModel):
    pager_service: str
    service: str
    source: str


class ChangeFailureOut(BaseModel):
    service: str
    deploys: int = Field(description="Successful production deploys in the window.")
    failed_deploys: int = Field(description="Of those, the suspects of at least one page.")
    rate: float | None
    recovery_median_seconds: float | None
    recovery_p90_seconds: float | None
    recovered: int = Field(description="Failed deploys whose pages are all resolved.")


class NoisyTitle(BaseModel):
    title: str
    pages: int


class OncallWeekOut(BaseModel):
    service: str
    team: str | None
    week: str
    pages: int
    out_of_hours: int
    acknowledge_median_seconds: float | None
    resolve_median_seconds: float | None
    noisiest: list[NoisyTitle]
    flagged: bool = Field(description="More pages than the weekly limit.")
