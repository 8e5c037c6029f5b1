"""What feedback reads (the news: pages, failed deploys and runs, alerts) and its outbox rows
(models_people.FeedbackMessage; claims in store/outbox.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from leadtime.server.models import (
    Alert,
    Deploy,
    DeployMergeset,
    FeedbackMessage,
    Mergeset,
    Page,
    PipelineRun,
)
from leadtime.server.store.rows import insert_if_new

FAILED_DEPLOY, FAILED_RUN = "failed", "failure"


def plan_message(session: Session, row: dict) -> bool:
    """Store a message unless its key is stored already; True when this call stored it."""
    return insert_if_new(session, FeedbackMessage, row, ["key"])


def planned(session: Session, key: str) -> bool:
    return bool(session.scalar(select(exists().where(FeedbackMessage.key == key))))


def keys_starting(session: Session, prefix: str) -> list[str]:
    query = select(FeedbackMessage.key).where(
        FeedbackMessage.key.startswith(prefix, autoescape=True)
    )
    return list(session.scalars(query))


def messages(session: Session, limit: int = 200) -> list[FeedbackMessage]:
    query = select(FeedbackMessage).order_by(FeedbackMessage.id.desc()).limit(limit)
    return list(session.scalars(query))


def pages_since(session: Session, since: datetime) -> list[Page]:
    query = select(Page).where(Page.triggered_at >= since).order_by(Page.triggered_at, Page.id)
    return list(session.scalars(query))


def failed_deploys_since(session: Session, environment: str, since: datetime) -> list[Deploy]:
    query = (
        select(Deploy)
        .where(
            Deploy.environment == environment,
            Deploy.status == FAILED_DEPLOY,
            Deploy.finished_at >= since,
            Deploy.repository_id.is_not(None),
        )
        .order_by(Deploy.finished_at, Deploy.id)
    )
    return list(session.scalars(query))


def failed_main_runs_since(
    session: Session, branches: tuple[str, ...], since: datetime
) -> list[PipelineRun]:
    query = (
        select(PipelineRun)
        .where(
            PipelineRun.branch.in_(branches),
            PipelineRun.result == FAILED_RUN,
            PipelineRun.finished_at >= since,
            PipelineRun.repository_id.is_not(None),
            PipelineRun.sha.is_not(None),
        )
        .order_by(PipelineRun.finished_at, PipelineRun.id)
    )
    return list(session.scalars(query))


def alerts_fired_since(session: Session, metric: str, since: datetime) -> list[Alert]:
    query = (
        select(Alert)
        .where(Alert.metric == metric, Alert.status == "open", Alert.fired_at >= since)
        .order_by(Alert.fired_at, Alert.id)
    )
    return list(session.scalars(query))


def open_alerts_of(session: Session, metric: str) -> list[Alert]:
    query = select(Alert).where(Alert.metric == metric, Alert.status == "open")
    return list(session.scalars(query.order_by(Alert.fired_at, Alert.id)))


def mergeset_at(session: Session, repository_id: int, sha: str) -> Mergeset | None:
    query = select(Mergeset).where(Mergeset.repository_id == repository_id, Mergeset.sha == sha)
    return session.scalars(query).first()


def unshipped_up_to(
    session: Session, repository_id: int, environment: str, sha: str
) -> list[Mergeset]:
    """The counted mergesets up to `sha` on the main line that no deploy to `environment`
    has shipped: what a deploy of `sha` was to ship."""
    at = mergeset_at(session, repository_id, sha)
    if at is None or at.position is None:
        return [at] if at is not None else []
    shipped = exists().where(
        DeployMergeset.mergeset_id == Mergeset.id, DeployMergeset.environment == environment
    )
    query = select(Mergeset).where(
        Mergeset.repository_id == repository_id,
        Mergeset.context.is_(False),
        Mergeset.position <= at.position,
        ~shipped,
    )
    return list(session.scalars(query.order_by(Mergeset.position)))
