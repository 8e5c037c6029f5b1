"""A repository's mergesets as the order rules read them (domain/chain.py): plain rows, not ORM
objects, and written back as a difference (only the rows whose order, context or revert link
changed)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from leadtime.server.models import Base, Mergeset

CHUNK = 500  # values in one IN (...) list


class ChainRow(NamedTuple):
    id: int
    sha: str
    parent_sha: str | None
    merged_at: datetime
    source: str
    title: str | None
    pr_title: str | None
    pr_number: int | None
    reverts_id: int | None
    context: bool
    position: int | None


_COLUMNS = tuple(getattr(Mergeset, name) for name in ChainRow._fields)


def chunks(values: Iterable, size: int = CHUNK) -> Iterable[list]:
    ordered = sorted(set(values))
    for first in range(0, len(ordered), size):
        yield ordered[first : first + size]


def chain_rows(
    session: Session, repository_id: int, shas: Collection[str] | None = None
) -> list[ChainRow]:
    """Every mergeset of the repository (or only these shas) as a plain row."""
    query = select(*_COLUMNS).where(Mergeset.repository_id == repository_id)
    if shas is None:
        return [ChainRow(*row) for row in session.execute(query)]
    found = []
    for chunk in chunks(shas):
        found += [ChainRow(*row) for row in session.execute(query.where(Mergeset.sha.in_(chunk)))]
    return found


def _others(repository_id: int, shas: Collection[str]):
    """The repository's mergesets other than these (few: the ones a delivery brought)."""
    condition = Mergeset.repository_id == repository_id
    return condition & Mergeset.sha.not_in(list(shas)) if shas else condition


def any_unplaced(session: Session, repository_id: int, shas: Collection[str] = ()) -> bool:
    """Whether a mergeset of the repository (other than these) has no position yet."""
    query = select(Mergeset.id).where(_others(repository_id, shas), Mergeset.position.is_(None))
    return session.scalar(query.limit(1)) is not None


def newest_other(session: Session, repository_id: int, shas: Collection[str]) -> ChainRow | None:
    """The mergeset, other than these, that sorts last by (merge time, sha)."""
    query = (
        select(*_COLUMNS)
        .where(Mergeset.repository_id == repository_id)
        .order_by(Mergeset.merged_at.desc(), Mergeset.sha.desc())
        .limit(len(shas) + 1)  # through the (repository, merged_at) index, then skip these
    )
    return next((ChainRow(*row) for row in session.execute(query) if row.sha not in shas), None)


def last_position(session: Session, repository_id: int, shas: Collection[str]) -> int | None:
    """The highest position among the repository's mergesets other than these."""
    query = select(func.max(Mergeset.position)).where(_others(repository_id, shas))
    return session.scalar(query)


def first_counted(session: Session, repository_id: int) -> ChainRow | None:
    """The first mergeset in order that is not context: the adoption point's."""
    query = (
        select(*_COLUMNS)
        .where(Mergeset.repository_id == repository_id, Mergeset.context.is_(False))
        .where(Mergeset.position.is_not(None))
        .order_by(Mergeset.position)
        .limit(1)
    )
    row = session.execute(query).first()
    return ChainRow(*row) if row else None


def has_children_outside(session: Session, repository_id: int, shas: Collection[str]) -> bool:
    """Whether a mergeset other than these names one of them as its first parent."""
    for chunk in chunks(shas):
        query = select(Mergeset.id).where(
            _others(repository_id, shas), Mergeset.parent_sha.in_(chunk)
        )
        if session.scalar(query.limit(1)) is not None:
            return True
    return False


def reverts_any(session: Session, repository_id: int, mergeset_ids: Collection[int]) -> bool:
    """Whether a mergeset of the repository is linked as the revert of one of these."""
    for chunk in chunks(mergeset_ids):
        query = select(Mergeset.id).where(
            Mergeset.repository_id == repository_id, Mergeset.reverts_id.in_(chunk)
        )
        if session.scalar(query.limit(1)) is not None:
            return True
    return False


def titled(
    session: Session, repository_id: int, prefixes: Collection[str], numbers: Collection[int]
) -> list[ChainRow]:
    """Placed mergesets whose subject or pull request title starts with one of `prefixes`, or
    whose pull request is one of `numbers`: what a revert may name."""
    conditions: list[ColumnElement[bool]] = []
    if numbers:
        conditions.append(Mergeset.pr_number.in_(list(numbers)))
    for prefix in prefixes:
        conditions += [
            Mergeset.title.startswith(prefix, autoescape=True),
            Mergeset.pr_title.startswith(prefix, autoescape=True),
        ]
    if not conditions:
        return []
    query = select(*_COLUMNS).where(
        Mergeset.repository_id == repository_id,
        Mergeset.position.is_not(None),
        or_(*conditions),
    )
    return [ChainRow(*row) for row in session.execute(query)]


def update_changed(
    session: Session, model: type[Base], stored: Iterable[NamedTuple], changes: Iterable[dict]
) -> None:
    """Write, each row by its `id`, the `changes` whose values differ from the `stored` rows
    (plain rows read before), in one executemany; objects of those rows already in the session
    are expired, so they read what was written."""
    held = {row.id: row._asdict() for row in stored}  # type: ignore[attr-defined]
    rows = [
        change
        for change in changes
        if any(held[change["id"]][name] != value for name, value in change.items())
    ]
    if not rows:
        return
    session.flush()
    session.execute(update(model).execution_options(synchronize_session=False), rows)
    for row in rows:
        instance = session.identity_map.get(identity_key(model, row["id"]))
        if instance is not None:
            session.expire(instance)
