"""Repositories: found by URL, `owner/name` or name, created on first sight, and locked in id order
by every write before it stores anything."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from leadtime.server.errors import BadPayload, UnknownService
from leadtime.server.models import Deploy, Repository
from leadtime.server.store.rows import insert_if_new
from leadtime.tracer.context import normalize_repo_url


def _looks_like_url(reference: str) -> bool:
    return "://" in reference or reference.startswith("git@")


def repository_for(session: Session, url: str | None, name: str | None) -> Repository | None:
    """The repository a span or report names by URL or name, created on first sight; None if it
    names none."""
    if url:
        return _repository_by_url(session, url)
    if name:
        return resolve_repository(session, name, create=True)
    return None


def _repository_by_url(session: Session, url: str) -> Repository:
    url = normalize_repo_url(url)
    found = session.scalar(select(Repository).where(Repository.url == url))
    if found is None:  # first sight; a concurrent first sight inserts it only once
        insert_if_new(session, Repository, {"name": url.rsplit("/", 1)[-1], "url": url}, ["url"])
        found = session.scalars(select(Repository).where(Repository.url == url)).one()
    return found


def resolve_repository(session: Session, reference: str, create: bool = False) -> Repository:
    """A repository by URL, `owner/name` or name; with `create`, a new one when none matches."""
    reference = reference.strip()
    if not reference:
        raise BadPayload("repository must not be empty")
    if _looks_like_url(reference):
        return _repository_by_url(session, reference)
    name = reference.rstrip("/").rsplit("/", 1)[-1]
    query = select(Repository).where(Repository.name == name)
    if "/" in reference:
        query = query.where(or_(Repository.url.endswith("/" + reference), Repository.url.is_(None)))
    matches = list(session.scalars(query))
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise BadPayload(
            f"repository {reference!r} is ambiguous "
            f"({', '.join(r.display_name for r in matches)}); give its URL"
        )
    if not create:
        raise UnknownService(f"no repository {reference!r} is known yet")
    repository = Repository(name=name)
    session.add(repository)
    session.flush()
    return repository


def adopted_at(session: Session, repository_id: int | None) -> datetime | None:
    """The repository's adoption point, or the earliest of all repositories' (None: none yet)."""
    query = select(func.min(Repository.adopted_at))
    if repository_id is not None:
        query = query.where(Repository.id == repository_id)
    return session.scalar(query)


def find_repository(session: Session, reference: str) -> Repository:
    return resolve_repository(session, reference, create=False)


def repository_for_service(session: Session, service: str) -> Repository:
    """The repository a service was last deployed from."""
    repository_id = session.scalar(
        select(Deploy.repository_id)
        .where(Deploy.service == service, Deploy.repository_id.is_not(None))
        .order_by(Deploy.id.desc())
        .limit(1)
    )
    if repository_id is None:
        raise UnknownService(
            f"service {service!r} is unknown: name its repository in the deploy "
            "(`repository`), once, and later deploys of the service find it"
        )
    return session.get_one(Repository, repository_id)


def lock_repository(session: Session, repository_id: int) -> None:
    """Hold the repository's row until commit: two servers working out the same repository's
    containment take turns, the second seeing what the first stored (no-op on SQLite, whose
    writers take turns anyway)."""
    lock_repositories(session, [repository_id])


def lock_repositories(session: Session, repository_ids: Iterable[int]) -> None:
    """Lock these repositories' rows, in id order. A write takes them before it stores
    anything: were it to insert a row first, a duplicate of the same write on another server
    would wait for that row while holding the repository this write needs (a deadlock)."""
    for repository_id in sorted(set(repository_ids)):
        session.execute(
            select(Repository.id).where(Repository.id == repository_id).with_for_update()
        )


def repository_by_id(session: Session, repository_id: int) -> Repository:
    return session.get_one(Repository, repository_id)


def repositories(session: Session) -> list[Repository]:
    return list(session.scalars(select(Repository).order_by(Repository.name)))


def repository_id_of_service(session: Session, service: str) -> int | None:
    return session.scalar(
        select(Deploy.repository_id)
        .where(Deploy.service == service, Deploy.repository_id.is_not(None))
        .order_by(Deploy.id.desc())
        .limit(1)
    )
