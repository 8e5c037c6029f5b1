"""Alerts: `GET /api/alerts` (open and resolved, with their numbers and deliveries),
`POST /api/alerts/check` (evaluate now), and what alerting is measured against: each repository's
target (`/api/targets`) and its own rule and notifiers (`/api/alert-rules`)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from leadtime.server import store
from leadtime.server.api.deps import Reader, RowId, SessionDep, SettingsDep, Writer
from leadtime.server.domain.regression import Rule, channels_for, headline
from leadtime.server.errors import BadPayload, NotFound
from leadtime.server.models import Alert, Repository
from leadtime.server.notify.dispatch import dashboard_link
from leadtime.server.schemas import (
    AlertEventOut,
    AlertOut,
    AlertRuleIn,
    AlertRuleOut,
    CheckOut,
    NotificationOut,
    TargetIn,
    TargetOut,
)
from leadtime.server.settings import Settings

router = APIRouter(prefix="/api", tags=["alerts"])


def alerts_out(
    session: Session, settings: Settings, rows: list[tuple[Alert, Repository]]
) -> list[AlertOut]:
    ids = [alert.id for alert, _ in rows]
    events, notifications = store.events_of(session, ids), store.notifications_of(session, ids)
    out = []
    for alert, repository in rows:
        name = repository.url or repository.name
        out.append(
            AlertOut(
                id=alert.id,
                repository=name,
                metric=alert.metric,
                subject=alert.subject,
                status=alert.status,
                message=headline(alert, name),
                current_seconds=alert.current_seconds,
                baseline_seconds=alert.baseline_seconds,
                ratio=alert.ratio,
                detail=alert.detail or {},
                fired_at=alert.fired_at,
                updated_at=alert.updated_at,
                resolved_at=alert.resolved_at,
                url=dashboard_link(alert, name, settings),
                notifications=[
                    NotificationOut.model_validate(n, from_attributes=True)
                    for n in notifications[alert.id]
                ],
                events=[
                    AlertEventOut.model_validate(e, from_attributes=True) for e in events[alert.id]
                ],
            )
        )
    return out


@router.get("/alerts", dependencies=[Reader], response_model=list[AlertOut])
def get_alerts(
    session: SessionDep,
    settings: SettingsDep,
    repo: str | None = Query(None, description="Repository URL, owner/name or name."),
    status: Literal["open", "resolved", "all"] = "all",
    limit: int = Query(100, ge=1, le=1000),
) -> list[AlertOut]:
    """Alerts, open ones first, then newest first: what slipped, by how much, and where each
    notification stands."""
    repository_id = store.find_repository(session, repo).id if repo else None
    rows = store.alerts(session, repository_id, None if status == "all" else status, limit)
    return alerts_out(session, settings, rows)


@router.get("/alerts/{alert_id}", dependencies=[Reader], response_model=AlertOut)
def get_alert(alert_id: RowId, session: SessionDep, settings: SettingsDep) -> AlertOut:
    found = store.alert_with_repository(session, alert_id)
    if found is None:
        raise NotFound(f"no alert {alert_id}")
    return alerts_out(session, settings, [found])[0]


@router.post("/alerts/check", dependencies=[Writer], response_model=CheckOut)
def check(request: Request, session: SessionDep, settings: SettingsDep) -> CheckOut:
    """Evaluate the regression rule now (as the server does every few minutes and after each
    deploy); the alerts firing afterwards."""
    changes = request.app.state.alerts.evaluate_now()
    firing = alerts_out(session, settings, store.alerts(session, status="open", limit=1000))
    return CheckOut(
        fired=sum(change.event == "fired" for change in changes),
        resolved=sum(change.event == "resolved" for change in changes),
        firing=firing,
    )


def target_out(repository: Repository) -> TargetOut:
    return TargetOut(
        repository=repository.url or repository.name, target_seconds=repository.target_seconds
    )


@router.get("/targets", dependencies=[Reader], response_model=list[TargetOut])
def get_targets(session: SessionDep) -> list[TargetOut]:
    """Every repository's lead-time target (null: measured against its own history)."""
    return [target_out(repository) for repository in store.repositories(session)]


@router.post("/targets", dependencies=[Writer], response_model=TargetOut)
def post_target(target: TargetIn, session: SessionDep) -> TargetOut:
    """Set a repository's lead-time target (`target_seconds`), or clear it (null)."""
    repository = store.find_repository(session, target.repository)
    store.set_target(session, repository, target.target_seconds)
    return target_out(repository)


def rule_out(repository: Repository, settings: Settings) -> AlertRuleOut:
    rule = Rule.with_overrides(repository.alerting)
    return AlertRuleOut(
        repository=repository.url or repository.name,
        **{name: getattr(rule, name) for name in Rule.names()},
        target_seconds=repository.target_seconds,
        channels=channels_for(repository, settings),
    )


@router.get("/alert-rules", dependencies=[Reader], response_model=list[AlertRuleOut])
def get_alert_rules(
    session: SessionDep,
    settings: SettingsDep,
    repo: str | None = Query(None, description="One repository only."),
) -> list[AlertRuleOut]:
    """Each repository's regression numbers (its own or the defaults) and alert channels."""
    repositories = [store.find_repository(session, repo)] if repo else store.repositories(session)
    return [rule_out(repository, settings) for repository in repositories]


@router.post("/alert-rules", dependencies=[Writer], response_model=AlertRuleOut)
def post_alert_rule(rule: AlertRuleIn, session: SessionDep, settings: SettingsDep) -> AlertRuleOut:
    """Change a repository's numbers or notifiers: the fields given replace the stored ones,
    null puts a number back to its default (or removes a notifier)."""
    repository = store.find_repository(session, rule.repository)
    given = rule.model_dump(exclude={"repository"}, exclude_unset=True)
    merged = {**(repository.alerting or {}), **given}
    effective = Rule.with_overrides(merged)
    if effective.resolve_ratio > effective.fire_ratio:
        raise BadPayload("resolve_ratio must not exceed fire_ratio (the alert would flap)")
    store.set_alerting(
        session, repository, {k: v for k, v in merged.items() if v is not None} or None
    )
    return rule_out(repository, settings)
