"""People, teams and what is said to them: one identity per person joining what the sources know
of them (git author emails, forge logins, pager responders, a Slack user id), teams owning
repositories and services, and the feedback outbox (domain/feedback.py decides, notify/ sends)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadtime.server.model_base import Base, UTCDateTime, utcnow


class Person(Base):
    """One person. `source` "mapping" (a file or the API named them) or "auto" (a forge's
    webhook tied a login to a commit's author email, and nobody has named them yet)."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    email: Mapped[str | None] = mapped_column(String(300))  # where mail to them goes
    slack_user_id: Mapped[str | None] = mapped_column(String(50))
    source: Mapped[str] = mapped_column(String(20), default="mapping")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PersonIdentity(Base):
    """A name a source knows a person by: kind `email`, `github`, `gitlab`, `pagerduty` or
    `opsgenie`; the value lower-cased (none of these sources tell letter case apart)."""

    __tablename__ = "person_identities"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_person_identities_value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(20), default="mapping")


class Team(Base):
    """A team: its members (people's names), the repositories and services it owns, where its
    messages go, its working hours, and which kinds of feedback it wants."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    members: Mapped[list] = mapped_column(JSON, default=list)
    repositories: Mapped[list] = mapped_column(JSON, default=list)
    services: Mapped[list] = mapped_column(JSON, default=list)
    slack_channel: Mapped[str | None] = mapped_column(String(100))  # for Slack's chat API
    slack_webhook_url: Mapped[str | None] = mapped_column(String(1000))  # the channel's hook
    email: Mapped[str | None] = mapped_column(String(300))  # the team's list
    working_hours: Mapped[str] = mapped_column(String(20), default="09:00-18:00")
    working_days: Mapped[str] = mapped_column(String(40), default="mon-fri")
    time_zone: Mapped[str] = mapped_column(String(60), default="UTC")
    digest_day: Mapped[str] = mapped_column(String(3), default="mon")  # the weekly review's
    feedback: Mapped[dict] = mapped_column(JSON, default=dict)  # kind -> false turns it off


class FeedbackMessage(Base):
    """One message to one recipient on one channel: an outbox row. `key` names the event, the
    channel and the recipient, and is unique: two replicas planning the same message store it
    once, and the claim (`claimed_until`) lets one of them send it."""

    __tablename__ = "feedback_messages"
    __table_args__ = (Index("ix_feedback_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(500), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(20))
    team: Mapped[str | None] = mapped_column(String(200))
    person_id: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str | None] = mapped_column(String(1000))  # a mail address, a Slack id
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[dict] = mapped_column(JSON, default=dict)  # text, why, link, details
    # pending -> sending -> sent; or back to pending later; or failed.
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
