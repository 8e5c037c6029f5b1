"""A repository's deploy rules: where its emitter marks no deploy, spans whose name fits a job
glob deploy to an environment."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from leadtime.server.models import DeployRule
from leadtime.server.store.rows import rows_changed


def deploy_rules_of(session: Session, repository_ids: list[int]) -> dict[int, list[DeployRule]]:
    """Each repository's rules, oldest first; repositories without any are left out."""
    found: dict[int, list[DeployRule]] = {}
    if not repository_ids:
        return found
    rows = session.scalars(
        select(DeployRule)
        .where(DeployRule.repository_id.in_(repository_ids))
        .order_by(DeployRule.id)
    )
    for rule in rows:
        found.setdefault(rule.repository_id, []).append(rule)
    return found


def set_deploy_rule(session: Session, repository_id: int, job: str, environment: str) -> DeployRule:
    """The rule for `job` in this repository, made or given a new environment."""
    rule = session.scalar(
        select(DeployRule).where(DeployRule.repository_id == repository_id, DeployRule.job == job)
    )
    if rule is None:
        rule = DeployRule(repository_id=repository_id, job=job, environment=environment)
        session.add(rule)
    rule.environment = environment
    session.flush()
    return rule


def delete_deploy_rule(session: Session, repository_id: int, job: str) -> bool:
    """True when there was such a rule."""
    deleted = session.execute(
        delete(DeployRule).where(DeployRule.repository_id == repository_id, DeployRule.job == job)
    )
    return bool(rows_changed(deleted))


def move_deploy_rules(session: Session, survivor_id: int, gone_id: int) -> None:
    """A merged repository's rules go to the survivor, where it has none for that job."""
    kept = {rule.job for rule in deploy_rules_of(session, [survivor_id]).get(survivor_id, [])}
    for rule in deploy_rules_of(session, [gone_id]).get(gone_id, []):
        if rule.job in kept:
            session.delete(rule)
        else:
            rule.repository_id = survivor_id
    session.flush()
