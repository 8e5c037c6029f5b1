"""A team's weekly review (`GET /api/reports/weekly?team=`): domain/weekly.py's numbers.
Durations are `*_seconds`, shares 0-1, changes as ratios (0.25: a quarter more)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from leadtime.server.schemas.people import UnmappedOut


class WeeklyStepOut(BaseModel):
    name: str
    p50_seconds: float
    critical_share: float
    trend: float | None = Field(description="p50 against the week before, as a ratio.")


class WeeklyRepositoryOut(BaseModel):
    repository: str
    deploys: int
    lead_time_p50_seconds: float | None
    lead_time_p90_seconds: float | None
    lead_time_p50_change: float | None = Field(description="Against the four weeks before.")
    lead_time_p90_change: float | None
    share_over_budget: float | None
    share_batched_deploys: float | None
    slowest_steps: list[WeeklyStepOut] = Field(description="The 3 slowest on the critical path.")


class NoisyTitleOut(BaseModel):
    title: str
    pages: int


class WeeklyPagesOut(BaseModel):
    week: str
    pages: int
    flagged: bool = Field(description="More pages than LEADTIME_WEEKLY_PAGE_LIMIT.")
    out_of_hours: int
    acknowledge_p50_seconds: float | None
    resolve_p50_seconds: float | None
    noisiest: list[NoisyTitleOut]


class WeeklyServiceOut(BaseModel):
    service: str
    deploys: int
    change_failure_rate: float | None
    recovery_p50_seconds: float | None
    pages: int
    weeks: list[WeeklyPagesOut]


class UnconfirmedPageOut(BaseModel):
    id: int
    title: str
    service: str | None


class WeeklyOut(BaseModel):
    team: str
    week_ending: datetime
    repositories: list[WeeklyRepositoryOut]
    services: list[WeeklyServiceOut]
    pages_without_a_confirmed_suspect: list[UnconfirmedPageOut]
    unmapped: list[UnmappedOut]
