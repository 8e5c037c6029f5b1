"""Pages, their suspect deploys, service mappings, change failure and the on-call review.
Durations are `*_seconds`, times ISO 8601 UTC."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from leadtime.server.schemas.deliveries import DeployOut


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
    seconds_after_deploy: float | None
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
