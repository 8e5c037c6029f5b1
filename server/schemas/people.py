"""The people and teams mapping (`leadtime people import people.yaml`, `PUT /api/people`,
`PUT /api/teams`) and what `GET /api/people` answers. A misspelled key is refused, never
ignored."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from leadtime.server.hours import parse_working_hours

FEEDBACK_KINDS = ("page", "failure", "waiting", "regression", "digest")
FeedbackKind = Literal["page", "failure", "waiting", "regression", "digest"]


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    emails: list[str] = Field(default_factory=list, description="Git author emails, several.")
    email: str | None = Field(
        None, max_length=300, description="Where mail goes; the first of `emails` if unset."
    )
    github: str | None = Field(None, max_length=100)
    gitlab: str | None = Field(None, max_length=100)
    pagerduty: str | None = Field(None, max_length=100, description="A PagerDuty user id.")
    opsgenie: str | None = Field(None, max_length=300, description="An Opsgenie username.")
    slack: str | None = Field(None, pattern=r"^[UW][A-Z0-9]{2,20}$", description="U0123ABCD")

    @field_validator("emails")
    @classmethod
    def _emails(cls, emails: list[str]) -> list[str]:
        for email in emails:
            if "@" not in email or len(email) > 300:
                raise ValueError(f"{email!r} is not an email address")
        return emails


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    members: list[str] = Field(default_factory=list, description="People's names.")
    repositories: list[str] = Field(default_factory=list, description="owner/name or URLs.")
    services: list[str] = Field(default_factory=list, description="As deploys name them.")
    slack_channel: str | None = Field(None, max_length=100, description="For Slack's chat API.")
    slack_webhook_url: str | None = Field(None, max_length=1000, description="The channel's hook.")
    email: str | None = Field(None, max_length=300, description="The team's mailing list.")
    working_hours: str = Field("09:00-18:00", max_length=20)
    working_days: str = Field("mon-fri", max_length=40)
    time_zone: str = Field("UTC", max_length=60)
    digest_day: str = Field("mon", pattern="^(mon|tue|wed|thu|fri|sat|sun)$")
    feedback: dict[FeedbackKind, bool] = Field(
        default_factory=dict, description="A kind set to false is not sent; all are on otherwise."
    )

    @field_validator("slack_webhook_url")
    @classmethod
    def _http_only(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("https://", "http://")):
            raise ValueError("slack_webhook_url must be an http(s) URL")
        return url

    def model_post_init(self, _context: object) -> None:
        parse_working_hours(self.working_hours, self.working_days, self.time_zone)


class PeopleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    people: list[PersonIn]


class TeamsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    teams: list[TeamIn]


class IdentityOut(BaseModel):
    kind: str
    value: str
    source: str = Field(description="`mapping` (named) or `auto` (learned from a forge webhook).")


class PersonOut(BaseModel):
    name: str
    email: str | None
    slack: str | None
    source: str
    identities: list[IdentityOut]
    teams: list[str]


class UnmappedOut(BaseModel):
    author: str = Field(description="As a mergeset names its author: an email or a login.")
    mergesets: int
    repositories: list[str] = Field(description="Where they appear.")


class PeopleOut(BaseModel):
    people: list[PersonOut]
    teams: list[TeamIn]
    unmapped: list[UnmappedOut]


class FeedbackOut(BaseModel):
    key: str = Field(description="The news, the channel and the recipient: unique.")
    kind: str = Field(description="page, failure, waiting, regression or digest.")
    channel: str
    team: str | None
    person: str | None
    subject: str
    status: str = Field(description="pending (maybe held for working hours), sent or failed.")
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    sent_at: datetime | None
