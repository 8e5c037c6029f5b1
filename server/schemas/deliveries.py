"""What arrives and what it became: merges, deploys, mergesets, pipeline runs and their steps.
Durations are `*_seconds`, times ISO 8601 UTC."""

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
    lead_time_seconds: float | None = Field(description="Lead time: merge -> production.")
    waiting_seconds: float | None
    context: bool = Field(
        description="History from before the adoption point: kept for order, never counted."
    )
    budget_seconds: float
    batched: bool
    over_budget: bool
    pr_number: int | None
    pr_title: str | None
    pr_author: str | None
    pr_url: str | None
    reverts: str | None = Field(None, description="The sha of the mergeset this one reverts.")
    first_commit_at: datetime | None = Field(
        None, description="When the branch it merged began (its first commit), where git told."
    )
    change_lead_time_seconds: float | None = Field(
        None, description="DORA's change lead time: first commit -> production."
    )


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
    kind: str | None = Field(
        description="deploy, redeploy (the sha already there) or rollback (an older sha); null "
        "for one that did not succeed."
    )
    rolled_back_by: int | None = Field(
        description="The rollback that undid this deploy: a failed change."
    )
    history: str = Field(
        description="`incomplete` when the deploy's own history was cut short (a shallow clone, "
        "the history limit, no checkout) and leadtime could not establish what it shipped from "
        "what it knows; `complete` otherwise."
    )
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
    # step, root, queue (waiting for a runner) or group (a stage or phase); null for spans
    # stored before roles were kept
    role: str | None = None
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
    steps_pruned_at: datetime | None = Field(
        None,
        description="When the run's raw steps were removed under the retention "
        "(LEADTIME_STEP_RETENTION_DAYS); its step summary is kept.",
    )
