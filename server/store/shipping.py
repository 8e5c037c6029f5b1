"""What containment reads of deploys and writes of their links (domain/containment.py): the
successful deploys to an environment from a point in their order on, the mergesets no deploy
before that point shipped, and the links changed as a difference. Plain rows throughout.

A point is a successful deploy's (finished_at, id): deploys are ordered by finish time, and two
that finished at the same instant by id."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import String, and_, cast, delete, false, or_, select, tuple_
from sqlalchemy.orm import Session, aliased

from leadtime.server.models import Deploy, DeployMergeset, Mergeset
from leadtime.server.store.chain import chunks
from leadtime.server.store.rows import table_of

DeployKey = tuple[datetime, int]
SUCCEEDED = "succeeded"


class DeployRow(NamedTuple):
    id: int
    sha: str
    listed_shas: list | None
    history_cut: bool | None
    history_complete: bool | None
    kind: str | None
    rolled_back_by_id: int | None
    finished_at: datetime


class PoolRow(NamedTuple):
    id: int
    sha: str
    position: int | None
    context: bool  # context ships with no deploy: it is here only for its link to be dropped
    deploy_id: int | None  # the deploy that ships it now, if one does


_DEPLOY_COLUMNS = tuple(getattr(Deploy, name) for name in DeployRow._fields)


def _successful(deploy, repository_id: int, environment: str):
    return and_(
        deploy.repository_id == repository_id,
        deploy.environment == environment,
        deploy.status == SUCCEEDED,
        deploy.finished_at.is_not(None),
    )


def _before(deploy, since: DeployKey | None):
    if since is None:
        return false()
    return tuple_(deploy.finished_at, deploy.id) < tuple_(*since)


def deploys_from(
    session: Session, repository_id: int, environment: str, since: DeployKey | None
) -> list[DeployRow]:
    """The successful deploys to the environment at or after `since` (all: None), in order."""
    query = select(*_DEPLOY_COLUMNS).where(_successful(Deploy, repository_id, environment))
    if since is not None:
        query = query.where(~_before(Deploy, since))
    rows = session.execute(query.order_by(Deploy.finished_at, Deploy.id))
    return [DeployRow(*row) for row in rows]


def last_deploy_before(
    session: Session,
    repository_id: int,
    environment: str,
    since: DeployKey,
    skipping: str | None = None,
) -> DeployRow | None:
    """The last successful deploy to the environment before `since`, of a kind other than
    `skipping` where given."""
    query = select(*_DEPLOY_COLUMNS).where(
        _successful(Deploy, repository_id, environment), _before(Deploy, since)
    )
    if skipping is not None:
        query = query.where(or_(Deploy.kind.is_(None), Deploy.kind != skipping))
    query = query.order_by(Deploy.finished_at.desc(), Deploy.id.desc()).limit(1)
    row = session.execute(query).first()
    return DeployRow(*row) if row else None


def unsettled_mergesets(
    session: Session, repository_id: int, environment: str, since: DeployKey | None
) -> list[PoolRow]:
    """The repository's counted mergesets that no successful deploy to the environment before
    `since` ships: the ones the deploys from `since` on share out again; and context mergesets
    that a deploy ships (a link that is no longer right)."""
    shipper = aliased(Deploy)
    settled = and_(_successful(shipper, repository_id, environment), _before(shipper, since))
    query = (
        select(
            Mergeset.id,
            Mergeset.sha,
            Mergeset.position,
            Mergeset.context,
            DeployMergeset.deploy_id,
        )
        .outerjoin(
            DeployMergeset,
            (DeployMergeset.mergeset_id == Mergeset.id)
            & (DeployMergeset.environment == environment),
        )
        .outerjoin(shipper, shipper.id == DeployMergeset.deploy_id)
        .where(Mergeset.repository_id == repository_id)
        .where(or_(Mergeset.context.is_(False), DeployMergeset.deploy_id.is_not(None)))
    )
    if since is not None:
        query = query.where(or_(DeployMergeset.deploy_id.is_(None), ~settled))
    return [PoolRow(*row) for row in session.execute(query)]


def placed(
    session: Session, repository_id: int, shas: Collection[str]
) -> dict[str, tuple[int | None, bool]]:
    """For these shas that are mergesets of the repository: (position, whether context)."""
    found: dict[str, tuple[int | None, bool]] = {}
    for chunk in chunks(shas):
        query = select(Mergeset.sha, Mergeset.position, Mergeset.context).where(
            Mergeset.repository_id == repository_id, Mergeset.sha.in_(chunk)
        )
        found.update(
            (sha, (position, context)) for sha, position, context in session.execute(query)
        )
    return found


def parents_between(
    session: Session, repository_id: int, low: int, high: int
) -> dict[str, str | None]:
    """The first parent of each mergeset placed in [low, high]."""
    query = select(Mergeset.sha, Mergeset.parent_sha).where(
        Mergeset.repository_id == repository_id,
        Mergeset.position >= low,
        Mergeset.position <= high,
    )
    return {sha: parent for sha, parent in session.execute(query)}


def change_links(
    session: Session,
    environment: str,
    removed: list[tuple[int, int]],
    added: list[tuple[int, int]],
) -> None:
    """Drop and add (deploy id, mergeset id) links of the environment, drops first (a mergeset
    moving from one deploy to another is contained once per environment)."""
    for deploy_id, mergeset_id in removed:
        session.execute(
            delete(DeployMergeset).where(
                DeployMergeset.deploy_id == deploy_id, DeployMergeset.mergeset_id == mergeset_id
            )
        )
    rows = [
        {"deploy_id": deploy_id, "mergeset_id": mergeset_id, "environment": environment}
        for deploy_id, mergeset_id in added
    ]
    if rows:
        session.execute(table_of(DeployMergeset).insert(), rows)


def deploys_touching(
    session: Session, repository_id: int, shas: Collection[str], mergeset_ids: Collection[int]
) -> list[tuple[str, DeployKey]]:
    """(environment, point) of each successful deploy of the repository at one of these shas,
    listing one, or shipping one of these mergesets: the deploys a change to them affects."""
    successful = and_(
        Deploy.repository_id == repository_id,
        Deploy.status == SUCCEEDED,
        Deploy.finished_at.is_not(None),
    )
    point = (Deploy.environment, Deploy.finished_at, Deploy.id)
    found: set[tuple[str, datetime, int]] = set()
    for chunk in chunks(shas):
        found.update(session.execute(select(*point).where(successful, Deploy.sha.in_(chunk))))
    # An unlisted deploy holds JSON null, not SQL NULL: compared as text.
    listing = select(*point, Deploy.listed_shas).where(
        successful, cast(Deploy.listed_shas, String) != "null"
    )
    wanted = set(shas)
    for environment, finished_at, deploy_id, listed in session.execute(listing):
        if listed and wanted.intersection(listed):
            found.add((environment, finished_at, deploy_id))
    for chunk in chunks(mergeset_ids):
        shipping = (
            select(*point)
            .join(DeployMergeset, DeployMergeset.deploy_id == Deploy.id)
            .where(DeployMergeset.mergeset_id.in_(chunk))
        )
        found.update(session.execute(shipping))
    return [
        (environment, (finished_at, deploy_id)) for environment, finished_at, deploy_id in found
    ]
