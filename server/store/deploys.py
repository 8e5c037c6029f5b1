"""Deploys, their containment (deploy_mergesets) and the deploy history the lead-time rules read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from leadtime.server.models import (
    Deploy,
    DeployMergeset,
    Mergeset,
    Repository,
)
from leadtime.server.store.rows import insert_if_new, table_of

# Deploys named by their ids, or by the statement that selects them: a report over weeks of
# deploys names thousands, and as many parameters of one statement cost more to render and send
# than the query takes (12 weeks at 10,000 mergesets: four statements of 3,000 ids each).
DeployIds = Sequence[int] | Select


def no_deploys(ids: DeployIds) -> bool:
    """An empty list of ids: no statement to run. A statement may select none, too."""
    return not isinstance(ids, Select) and not ids


def deploy_identity(
    source: str,
    external_id: str | None,
    service: str,
    environment: str,
    sha: str,
    finished_at: datetime | None,
) -> str:
    """Two reports are one deploy when their source and id match, or, without an id, when
    service, environment, sha and finish time do."""
    if external_id:
        return f"{source}:{external_id}"
    finished = finished_at.isoformat() if finished_at else "open"
    return f"{source}:{service}|{environment}|{sha}|{finished}"


FINAL = ("succeeded", "failed", "cancelled")


def _stale(row: Deploy, values: dict) -> bool:
    """A report older than what is stored: a non-final status (queued, in_progress) after a
    final one, or a final one that finished before the stored one. It arrived late (a retried
    webhook, a replay); the deploy's state only moves forward."""
    if row.status not in FINAL:
        return False
    if values.get("status") not in FINAL:
        return True
    finished = values.get("finished_at")
    return finished is not None and row.finished_at is not None and finished < row.finished_at


class DeployState(NamedTuple):
    """What containment reads of a deploy, as it was before a report changed it."""

    environment: str
    sha: str
    status: str
    finished_at: datetime | None


def upsert_deploy(session: Session, values: dict) -> tuple[Deploy, bool, DeployState | None]:
    """Insert or update the deploy with this identity; (the deploy, whether it changed, what
    it was before: None when new). A stale report (see _stale) changes nothing."""
    inserted = insert_if_new(session, Deploy, values, ["identity"])
    row = session.scalars(
        select(Deploy).where(Deploy.identity == values["identity"]).with_for_update()
    ).one()
    before = (
        None if inserted else DeployState(row.environment, row.sha, row.status, row.finished_at)
    )
    if not inserted and _stale(row, values):
        return row, False, before
    changed = inserted
    for name, value in values.items():
        if value is not None and getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return row, changed, before


def open_deploy(session: Session, service: str, environment: str, sha: str) -> Deploy | None:
    """An id-less deploy of this sha still in progress, which a finished report completes."""
    return session.scalar(
        select(Deploy)
        .where(
            Deploy.service == service,
            Deploy.environment == environment,
            Deploy.sha == sha,
            Deploy.external_id.is_(None),
            Deploy.finished_at.is_(None),
        )
        .limit(1)
    )


def environments_of(session: Session, repository_id: int) -> list[str]:
    return list(
        session.scalars(
            select(Deploy.environment).where(Deploy.repository_id == repository_id).distinct()
        )
    )


def deploys_query(
    service: str | None, environment: str | None, since: datetime | None, limit: int
) -> Select:
    query = select(Deploy).order_by(Deploy.finished_at.desc().nulls_first(), Deploy.id.desc())
    if service:
        query = query.where(Deploy.service == service)
    if environment:
        query = query.where(Deploy.environment == environment)
    if since:
        query = query.where(or_(Deploy.finished_at >= since, Deploy.finished_at.is_(None)))
    return query.limit(limit)


def mergesets_of_deploys(session: Session, deploy_ids: list[int]) -> dict[int, list[Mergeset]]:
    found: dict[int, list[Mergeset]] = {deploy_id: [] for deploy_id in deploy_ids}
    if not deploy_ids:
        return found
    rows = session.execute(
        select(DeployMergeset.deploy_id, Mergeset)
        .join(Mergeset, Mergeset.id == DeployMergeset.mergeset_id)
        .where(DeployMergeset.deploy_id.in_(deploy_ids))
        .order_by(Mergeset.merged_at)
    )
    for deploy_id, mergeset in rows:
        found[deploy_id].append(mergeset)
    return found


def production_deploys_of(
    session: Session, mergeset_ids: list[int], environment: str
) -> dict[int, tuple[Deploy, int]]:
    """For each mergeset, the deploy that shipped it to `environment` and how many mergesets
    that deploy contained."""
    if not mergeset_ids:
        return {}
    shipped_with = table_of(DeployMergeset).alias("shipped_with")
    # Counted per deploy found, through the (deploy_id, mergeset_id) key: counting every deploy's
    # mergesets first would read the whole table for a page of results.
    size = (
        select(func.count())
        .where(shipped_with.c.deploy_id == DeployMergeset.deploy_id)
        .scalar_subquery()
    )
    rows = session.execute(
        select(DeployMergeset.mergeset_id, Deploy, size)
        .join(Deploy, Deploy.id == DeployMergeset.deploy_id)
        .where(
            DeployMergeset.environment == environment,
            DeployMergeset.mergeset_id.in_(mergeset_ids),
        )
    )
    return {mergeset_id: (deploy, size) for mergeset_id, deploy, size in rows}


class Shipped(NamedTuple):
    """What a summary needs of one shipped mergeset, read as a plain row."""

    merged_at: datetime
    first_commit_at: datetime | None
    deployed_at: datetime
    deploy_size: int  # mergesets the deploy that shipped it contained
    budget_seconds: float | None  # its repository's own budget, where it has one


def shipped_since(
    session: Session, environment: str, since: datetime, repository_id: int | None
) -> list[Shipped]:
    """Each mergeset whose deploy to `environment` finished since `since` (of one repository, or
    all), with that deploy's finish and size: tuples, not objects, since a summary reads
    thousands."""
    shipped_with = table_of(DeployMergeset).alias("shipped_with")
    size = (
        select(func.count())
        .where(shipped_with.c.deploy_id == DeployMergeset.deploy_id)
        .scalar_subquery()
    )
    query = (
        select(
            Mergeset.merged_at,
            Mergeset.first_commit_at,
            Deploy.finished_at,
            size,
            Repository.budget_seconds,
        )
        .join(DeployMergeset, DeployMergeset.mergeset_id == Mergeset.id)
        .join(Deploy, Deploy.id == DeployMergeset.deploy_id)
        .join(Repository, Repository.id == Mergeset.repository_id)
        .where(DeployMergeset.environment == environment, Deploy.finished_at >= since)
    )
    if repository_id is not None:
        query = query.where(Mergeset.repository_id == repository_id)
    return [Shipped(*row) for row in session.execute(query)]


def lead_time_pairs(
    session: Session, repository_id: int, environment: str, since: datetime, until: datetime
) -> list[tuple[datetime, datetime]]:
    """(merged at, deployed at) of each mergeset whose deploy to `environment` finished in
    [since, until)."""
    rows = session.execute(
        select(Mergeset.merged_at, Deploy.finished_at)
        .join(DeployMergeset, DeployMergeset.mergeset_id == Mergeset.id)
        .join(Deploy, Deploy.id == DeployMergeset.deploy_id)
        .where(
            Mergeset.repository_id == repository_id,
            DeployMergeset.environment == environment,
            Deploy.finished_at >= since,
            Deploy.finished_at < until,
        )
    )
    # finished_at is known: the window's bounds compare with it
    return [(merged_at, deployed_at) for merged_at, deployed_at in rows if deployed_at]


def has_succeeded_deploy(session: Session, repository_id: int, environment: str) -> bool:
    return (
        session.scalar(
            select(Deploy.id)
            .where(
                Deploy.repository_id == repository_id,
                Deploy.environment == environment,
                Deploy.status == "succeeded",
            )
            .limit(1)
        )
        is not None
    )


def finished_deploys(
    session: Session, service: str, environment: str, since: datetime, until: datetime
) -> list[tuple[int, datetime]]:
    """(id, finished at) of the service's successful deploys to `environment` in the window."""
    rows = session.execute(
        select(Deploy.id, Deploy.finished_at).where(
            Deploy.service == service,
            Deploy.environment == environment,
            Deploy.status == "succeeded",
            Deploy.finished_at >= since,
            Deploy.finished_at < until,
        )
    )
    return [(deploy_id, finished_at) for deploy_id, finished_at in rows if finished_at]


def deploy_by_id(session: Session, deploy_id: int) -> Deploy | None:
    return session.get(Deploy, deploy_id)


def production_deploys_between(
    session: Session,
    environment: str,
    since: datetime,
    until: datetime,
    service: str | None,
    repository_id: int | None = None,
) -> list[tuple[int, str, datetime]]:
    """(id, service, finished at) of successful deploys to `environment` in [since, until), of
    one service or one repository where given."""
    query = production_deploy_ids(environment, since, until, service, repository_id)
    query = query.add_columns(Deploy.service, Deploy.finished_at)
    return [(deploy_id, name, at) for deploy_id, name, at in session.execute(query) if at]


def production_deploy_ids(
    environment: str,
    since: datetime,
    until: datetime,
    service: str | None,
    repository_id: int | None = None,
) -> Select:
    """The statement selecting the ids of production_deploys_between's deploys."""
    query = select(Deploy.id).where(
        Deploy.environment == environment,
        Deploy.status == "succeeded",
        Deploy.finished_at >= since,
        Deploy.finished_at < until,
    )
    if service:
        query = query.where(Deploy.service == service)
    if repository_id is not None:
        query = query.where(Deploy.repository_id == repository_id)
    return query


def rollbacks_and_reverts(session: Session, deploy_ids: DeployIds) -> tuple[set[int], set[int]]:
    """Of these deploys, the rollbacks, and those that shipped a mergeset reverting another."""
    if no_deploys(deploy_ids):
        return set(), set()
    rollbacks = session.scalars(
        select(Deploy.id).where(Deploy.id.in_(deploy_ids), Deploy.kind == "rollback")
    )
    reverting = session.scalars(
        select(DeployMergeset.deploy_id)
        .join(Mergeset, Mergeset.id == DeployMergeset.mergeset_id)
        .where(DeployMergeset.deploy_id.in_(deploy_ids), Mergeset.reverts_id.is_not(None))
    )
    return set(rollbacks), set(reverting)


def deploy_sizes(
    session: Session, environment: str, since: datetime, repository_id: int | None
) -> list[int]:
    """How many mergesets each successful deploy to `environment` since `since` contained."""
    query = (
        select(func.count(DeployMergeset.mergeset_id))
        .select_from(Deploy)
        .outerjoin(DeployMergeset, DeployMergeset.deploy_id == Deploy.id)
        .where(
            Deploy.environment == environment,
            Deploy.status == "succeeded",
            Deploy.finished_at >= since,
        )
        .group_by(Deploy.id)
    )
    if repository_id is not None:
        query = query.where(Deploy.repository_id == repository_id)
    return list(session.scalars(query))


def rollbacks_of(session: Session, deploy_ids: DeployIds) -> dict[int, datetime]:
    """For each of these deploys that was rolled back, when the rollback finished."""
    if no_deploys(deploy_ids):
        return {}
    rollback = aliased(Deploy)
    rows = session.execute(
        select(Deploy.id, rollback.finished_at)
        .join(rollback, rollback.id == Deploy.rolled_back_by_id)
        .where(Deploy.id.in_(deploy_ids))
    )
    return {deploy_id: finished for deploy_id, finished in rows if finished}


def deployed_shas(session: Session, repository_id: int) -> set[str]:
    """The shas the repository's successful deploys (to any environment) shipped."""
    return set(
        session.scalars(
            select(Deploy.sha)
            .where(Deploy.repository_id == repository_id, Deploy.status == "succeeded")
            .distinct()
        )
    )


def count_deploys(session: Session, repository_id: int) -> int:
    query = select(func.count()).select_from(Deploy)
    return session.scalar(query.where(Deploy.repository_id == repository_id)) or 0


def reported_deploys(session: Session, repository_id: int, source: str) -> set[tuple[str, str]]:
    """(environment, sha) of the repository's successful deploys reported other than by
    `source`."""
    rows = session.execute(
        select(Deploy.environment, Deploy.sha)
        .where(
            Deploy.repository_id == repository_id,
            Deploy.status == "succeeded",
            Deploy.source != source,
        )
        .distinct()
    )
    return {(environment, sha) for environment, sha in rows}


def recent_deploys(session: Session, repository_id: int, limit: int) -> list[Deploy]:
    """The repository's deploys to any environment, newest first (unfinished ones first)."""
    return list(
        session.scalars(
            select(Deploy)
            .where(Deploy.repository_id == repository_id)
            .order_by(Deploy.finished_at.desc().nulls_first(), Deploy.id.desc())
            .limit(limit)
        )
    )
