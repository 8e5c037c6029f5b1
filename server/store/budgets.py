"""A repository's own budget, lead-time target and alerting settings."""

from __future__ import annotations

from sqlalchemy.orm import Session

from leadtime.server.models import Repository


def set_budget(session: Session, repository: Repository, seconds: float | None) -> None:
    repository.budget_seconds = seconds


def set_target(session: Session, repository: Repository, seconds: float | None) -> None:
    repository.target_seconds = seconds


def set_alerting(session: Session, repository: Repository, alerting: dict | None) -> None:
    repository.alerting = alerting
