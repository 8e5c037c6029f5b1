"""The stored facts (SQLAlchemy 2): repositories, pipeline runs and their steps, mergesets,
deploys with the mergesets they contain, alerts with their history and notifications, pages with
their suspect deploys, service mappings, deploy rules, webhook deliveries seen, and API
tokens. Times are UTC-aware everywhere."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from leadtime.server.model_base import Base as Base
from leadtime.server.model_base import UTCDateTime as UTCDateTime
from leadtime.server.model_base import utcnow


class Repository(Base):
    __tablename__ = "repositories"
    # A unique index, not a constraint: SQLite adds one without rebuilding the table.
    __table_args__ = (Index("ix_repositories_key", "key", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    url: Mapped[str | None] = mapped_column(String(500), unique=True)
    # The identity (store.repository_key): `host/path` folded as the forge folds it, or
    # `name:owner/name` for a repository known only by its name.
    key: Mapped[str] = mapped_column(String(600))
    budget_seconds: Mapped[float | None] = mapped_column(Float)
    # A lead-time target the team set; the regression rule's baseline instead of the history.
    target_seconds: Mapped[float | None] = mapped_column(Float)
    # This repository's own regression numbers and notifiers (see domain/regression.Rule).
    alerting: Mapped[dict | None] = mapped_column(JSON)
    # The adoption point: the merge time of the first mergeset leadtime measures (see
    # domain/containment.py); null until one is known.
    adopted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def display_name(self) -> str:
        """How people name it: its URL where known, else the name it was given."""
        return self.url or self.name


class PipelineRun(Base):
    __tablename__ = "pipeline_runs"
    # One run sent by two tools under two trace ids is found by what the CI calls it.
    __table_args__ = (
        Index("ix_pipeline_runs_identity", "provider", "run_id"),
        Index("ix_pipeline_runs_started_at", "started_at"),
        Index("ix_pipeline_runs_repository_started", "repository_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trace_id: Mapped[str] = mapped_column(String(32), unique=True)
    repository_id: Mapped[int | None] = mapped_column(ForeignKey("repositories.id"), index=True)
    provider: Mapped[str | None] = mapped_column(String(50))
    run_id: Mapped[str | None] = mapped_column(String(200))
    attempt: Mapped[str | None] = mapped_column(String(50))
    name: Mapped[str | None] = mapped_column(String(300))
    branch: Mapped[str | None] = mapped_column(String(300))
    sha: Mapped[str | None] = mapped_column(String(64), index=True)
    url: Mapped[str | None] = mapped_column(String(1000))
    result: Mapped[str | None] = mapped_column(String(50))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Per step name: durations, failures and time on the critical path, worked out once by the
    # slow-steps report and cleared whenever more spans of the run arrive.
    step_summary: Mapped[dict | None] = mapped_column(JSON)
    # The run-level keys its first spans gave; its steps keep only what differs (0017).
    attributes: Mapped[dict | None] = mapped_column(JSON)
    # When its raw steps were removed under the retention (domain/retention.py; 0018).
    steps_pruned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


CACHE_SAID = "cache_hit IS NOT NULL"
TEST_CASE = "role = 'test'"


class StepDay(Base):
    """A repository's run step summaries of one UTC day, merged (domain/step_days.py): current
    while `built_version` is `version`; ingest raises `version` when a run of the day changes."""

    __tablename__ = "step_days"
    __table_args__ = (UniqueConstraint("repository_id", "day", name="uq_step_days_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"))
    day: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    built_version: Mapped[int] = mapped_column(Integer, default=0)
    rollup: Mapped[dict | None] = mapped_column(JSON)
    # The same of the runs on the main branches only, and which branches those were (one per
    # line): what the regression rule reads.
    main_rollup: Mapped[dict | None] = mapped_column(JSON)
    main_branches: Mapped[str | None] = mapped_column(String(1000))


class Step(Base):
    __tablename__ = "steps"
    __table_args__ = (
        UniqueConstraint("trace_id", "span_id", name="uq_steps_span"),
        Index("ix_steps_name_started", "name", "started_at"),
        # The caches and tests reports read only these steps of a window's runs (0020).
        Index(
            "ix_steps_cache_hit",
            "trace_id",
            sqlite_where=text(CACHE_SAID),
            postgresql_where=text(CACHE_SAID),
        ),
        Index(
            "ix_steps_test_cases",
            "trace_id",
            sqlite_where=text(TEST_CASE),
            postgresql_where=text(TEST_CASE),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    trace_id: Mapped[str] = mapped_column(String(32))
    span_id: Mapped[str] = mapped_column(String(16))
    parent_span_id: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(500))
    kind: Mapped[int] = mapped_column(Integer, default=0)
    service: Mapped[str | None] = mapped_column(String(200))
    result: Mapped[str | None] = mapped_column(String(50))
    exit_code: Mapped[int | None] = mapped_column(Integer)
    task_type: Mapped[str | None] = mapped_column(String(50))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    # step, root, queue or group (ingest/emitters); None for spans stored before roles were kept
    role: Mapped[str | None] = mapped_column(String(10))
    cache_hit: Mapped[bool | None] = mapped_column(Boolean)  # leadtime.cache.hit; None: not said


class Mergeset(Base):
    __tablename__ = "mergesets"
    __table_args__ = (
        UniqueConstraint("repository_id", "sha", name="uq_mergesets_sha"),
        Index("ix_mergesets_repo_merged", "repository_id", "merged_at"),
        Index("ix_mergesets_repo_position", "repository_id", "position"),
        Index("ix_mergesets_repo_parent", "repository_id", "parent_sha"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"))
    sha: Mapped[str] = mapped_column(String(64))
    parent_sha: Mapped[str | None] = mapped_column(String(64))
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # "commit": the committer time of the commit on main; "merge": a PR's own merge time.
    merged_at_source: Mapped[str] = mapped_column(String(20), default="commit")
    source: Mapped[str] = mapped_column(String(20))
    author: Mapped[str | None] = mapped_column(String(300))
    title: Mapped[str | None] = mapped_column(String(500))
    pr_number: Mapped[int | None] = mapped_column(Integer)
    pr_title: Mapped[str | None] = mapped_column(String(500))
    pr_author: Mapped[str | None] = mapped_column(String(300))
    pr_url: Mapped[str | None] = mapped_column(String(1000))
    # Who merged the pull request: where not its author, the merge commit's author email may be
    # the merger's, so it is not tied to the PR's login (domain/people.py); migration 0022.
    pr_merged_by: Mapped[str | None] = mapped_column(String(300))
    # History from before the adoption point, known only from a deploy's first-parent history:
    # kept for order and authors, never counted (lead time, batching, budgets, alerts).
    context: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # When the branch it merged began (its first commit's author time), where git told: DORA's
    # change lead time runs from here.
    first_commit_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The mergeset this one reverts (domain/reverts.py), where its title says so.
    reverts_id: Mapped[int | None] = mapped_column(Integer)
    # Its place in the repository's first-parent order (domain/chain.py): only the order of two
    # positions means anything; null until placed.
    position: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Deploy(Base):
    __tablename__ = "deploys"
    __table_args__ = (
        Index("ix_deploys_repo_env_finished", "repository_id", "environment"),
        Index("ix_deploys_repo_env_done", "repository_id", "environment", "finished_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What makes two reports the same deploy: source + its id, else service, environment,
    # sha and finish time (see store.deploy_identity).
    identity: Mapped[str] = mapped_column(String(700), unique=True)
    source: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str | None] = mapped_column(String(300))
    repository_id: Mapped[int | None] = mapped_column(ForeignKey("repositories.id"))
    service: Mapped[str] = mapped_column(String(200), index=True)
    environment: Mapped[str] = mapped_column(String(200))
    sha: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    url: Mapped[str | None] = mapped_column(String(1000))
    trace_id: Mapped[str | None] = mapped_column(String(32))
    span_id: Mapped[str | None] = mapped_column(String(16))
    listed_shas: Mapped[list | None] = mapped_column(JSON)
    # The history its report carried was cut short (shallow clone, limit, none); and whether
    # leadtime could still establish what it shipped (see domain/containment.py).
    history_cut: Mapped[bool | None] = mapped_column(Boolean)
    history_complete: Mapped[bool | None] = mapped_column(Boolean)
    # deploy, redeploy (the sha already there) or rollback (an older one); null until worked out
    kind: Mapped[str | None] = mapped_column(String(12))
    rolled_back_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DeployMergeset(Base):
    """Containment: this deploy shipped this mergeset to its environment, first."""

    __tablename__ = "deploy_mergesets"
    __table_args__ = (
        UniqueConstraint("mergeset_id", "environment", name="uq_contained_once_per_env"),
    )

    deploy_id: Mapped[int] = mapped_column(
        ForeignKey("deploys.id", ondelete="CASCADE"), primary_key=True
    )
    mergeset_id: Mapped[int] = mapped_column(
        ForeignKey("mergesets.id", ondelete="CASCADE"), primary_key=True
    )
    environment: Mapped[str] = mapped_column(String(200))


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Comma-separated, from auth.SCOPES; see migration 0011 for tokens older than scopes.
    scopes: Mapped[str] = mapped_column(String(100), server_default="ingest,read")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def scope_names(self) -> tuple[str, ...]:
        return tuple(name for name in self.scopes.split(",") if name)


class Alert(Base):
    """A regression (or a stuck mergeset) from the moment it fired until it resolved."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_repo_status", "repository_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"))
    metric: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(20), default="open")
    # "repository id:metric:subject" while open, NULL once resolved: the unique constraint
    # keeps one open alert per key even when two servers evaluate at the same moment.
    open_key: Mapped[str | None] = mapped_column(String(700), unique=True)
    current_seconds: Mapped[float | None] = mapped_column(Float)
    baseline_seconds: Mapped[float | None] = mapped_column(Float)
    ratio: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertEvent(Base):
    """An alert's history: fired, updated (its numbers changed), resolved."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    current_seconds: Mapped[float | None] = mapped_column(Float)
    baseline_seconds: Mapped[float | None] = mapped_column(Float)


class Notification(Base):
    """One message to one channel about one alert event: an outbox row, sent by the dispatcher
    with retries. Unique per (alert, channel, event), so nothing is ever sent twice."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel", "event", name="uq_notifications_once"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    event: Mapped[str] = mapped_column(String(20))
    # pending -> sending -> sent; or back to pending with a later next_attempt_at; or failed.
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    # What the target answered, for admins only (GET /api/notifiers); migration 0013.
    last_answer: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Page(Base):
    """An alert that notified a human, from a pager or the API; keyed by its source's id."""

    __tablename__ = "pages"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_pages_source_id"),
        Index("ix_pages_service_triggered", "service", "triggered_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(300))
    # The service as the pager names it, and as deploys name it once a mapping (or the same
    # name) matched; None while unmatched.
    pager_service: Mapped[str] = mapped_column(String(200))
    service: Mapped[str | None] = mapped_column(String(200))
    repository_id: Mapped[int | None] = mapped_column(ForeignKey("repositories.id"))
    title: Mapped[str] = mapped_column(String(500))
    urgency: Mapped[str | None] = mapped_column(String(50))
    team: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="triggered")
    triggered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The event time of the latest change of state: older events change nothing (migration 0012).
    state_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    url: Mapped[str | None] = mapped_column(String(1000))
    # "auto": the suspect is worked out; "confirmed": a person named the deploy (linked_deploy_id);
    # "cleared": a person said no deploy caused it.
    link_state: Mapped[str] = mapped_column(String(20), default="auto")
    linked_deploy_id: Mapped[int | None] = mapped_column(ForeignKey("deploys.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PageDeploy(Base):
    """A deploy that finished within the lookback before a page: its suspect or a candidate."""

    __tablename__ = "page_deploys"

    page_id: Mapped[int] = mapped_column(
        ForeignKey("pages.id", ondelete="CASCADE"), primary_key=True
    )
    deploy_id: Mapped[int] = mapped_column(
        ForeignKey("deploys.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(20))  # "suspect" or "candidate"


class ServiceMapping(Base):
    """The name a pager uses for a service, and the name its deploys use."""

    __tablename__ = "service_mappings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pager_service: Mapped[str] = mapped_column(String(200), unique=True)
    service: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20), default="api")  # "api" or "file"


class DeployRule(Base):
    """Where an emitter marks no deploy: a span whose name fits `job` (a glob) deploys to
    `environment`."""

    __tablename__ = "deploy_rules"
    __table_args__ = (UniqueConstraint("repository_id", "job", name="uq_deploy_rules_job"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"))
    job: Mapped[str] = mapped_column(String(200))
    environment: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """A delivery id seen from a source (PagerDuty's X-Webhook-Id ...): redeliveries are no-ops."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("source", "delivery_id", name="uq_deliveries_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    delivery_id: Mapped[str] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The people and teams tables live in their own module; they are part of the same schema.
from leadtime.server.models_people import FeedbackMessage as FeedbackMessage  # noqa: E402
from leadtime.server.models_people import Person as Person  # noqa: E402
from leadtime.server.models_people import PersonIdentity as PersonIdentity  # noqa: E402
from leadtime.server.models_people import Team as Team  # noqa: E402
