"""Targets, alert rules, alerts and their deliveries.
Durations are `*_seconds`, times ISO 8601 UTC."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator


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
    email_to: str | None = Field(
        None, max_length=300, pattern=r"^[^@\s]+@[^@\s]+$", description="Alerts by mail."
    )

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
