"""Alerts: `GET /api/alerts` (open and resolved, with their numbers and deliveries),
`POST /api/alerts/check` (evaluate now), and what alerting is measured against: each repository's
target (`/api/targets`) and its own rule and notifiers (`/api/alert-rules`)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request

from leadtime.server import store
from leadtime.server.api.deps import Admin, Reader, RowId, SessionDep, SettingsDep
from leadtime.server.domain.regression import Rule
from leadtime.server.errors import BadPayload, NotFound
from leadtime.server.notify import dispatch, outbound
from leadtime.server.presenters import alerts_out, rule_out, target_out
from leadtime.server.schemas import (
    AlertOut,
    AlertRuleIn,
    AlertRuleOut,
    CheckOut,
    TargetIn,
    TargetOut,
)

router = APIRouter(prefix="/api", tags=["alerts"])


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


@router.post("/alerts/check", dependencies=[Admin], response_model=CheckOut)
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


@router.get("/targets", dependencies=[Reader], response_model=list[TargetOut])
def get_targets(session: SessionDep) -> list[TargetOut]:
    """Every repository's lead-time target (null: measured against its own history)."""
    return [target_out(repository) for repository in store.repositories(session)]


@router.post("/targets", dependencies=[Admin], response_model=TargetOut)
def post_target(target: TargetIn, session: SessionDep) -> TargetOut:
    """Set a repository's lead-time target (`target_seconds`), or clear it (null)."""
    repository = store.find_repository(session, target.repository)
    store.set_target(session, repository, target.target_seconds)
    return target_out(repository)


@router.get("/alert-rules", dependencies=[Reader], response_model=list[AlertRuleOut])
def get_alert_rules(
    session: SessionDep,
    settings: SettingsDep,
    repo: str | None = Query(None, description="One repository only."),
) -> list[AlertRuleOut]:
    """Each repository's regression numbers (its own or the defaults) and alert channels."""
    repositories = [store.find_repository(session, repo)] if repo else store.repositories(session)
    return [rule_out(repository, settings) for repository in repositories]


@router.post("/alert-rules", dependencies=[Admin], response_model=AlertRuleOut)
def post_alert_rule(rule: AlertRuleIn, session: SessionDep, settings: SettingsDep) -> AlertRuleOut:
    """Change a repository's numbers or notifiers: the fields given replace the stored ones,
    null puts a number back to its default (or removes a notifier)."""
    repository = store.find_repository(session, rule.repository)
    given = rule.model_dump(exclude={"repository"}, exclude_unset=True)
    for field in ("slack_webhook_url", "webhook_url"):
        refused = given.get(field) and outbound.refusal(given[field], settings)
        if refused:
            raise BadPayload(f"{field}: {refused}")
    merged = {**(repository.alerting or {}), **given}
    effective = Rule.with_overrides(merged)
    if effective.resolve_ratio > effective.fire_ratio:
        raise BadPayload("resolve_ratio must not exceed fire_ratio (the alert would flap)")
    store.set_alerting(
        session, repository, {k: v for k, v in merged.items() if v is not None} or None
    )
    return rule_out(repository, settings)


@router.get("/notifiers", dependencies=[Admin])
def get_notifiers(session: SessionDep) -> dict[str, dict]:
    """Each alert notifier's state, with what its target last answered a failed delivery (an
    `admin` token only: the target may be an internal service; /readyz shows the state alone)."""
    answers = dispatch.answers(session)
    return {
        channel: {**state, "last_answer": answers.get(channel)}
        for channel, state in dispatch.health(session).items()
    }
