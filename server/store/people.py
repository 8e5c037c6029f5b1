"""People, their identities and teams, as stored (models_people.py)."""

from __future__ import annotations

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from leadtime.server.models import Mergeset, Person, PersonIdentity, Team
from leadtime.server.store.rows import insert_if_new

AUTO = "auto"
MAPPING = "mapping"


def people(session: Session) -> list[Person]:
    return list(session.scalars(select(Person).order_by(func.lower(Person.name))))


def person_named(session: Session, name: str) -> Person | None:
    return session.scalars(select(Person).where(Person.name == name)).first()


def identities(session: Session) -> list[PersonIdentity]:
    return list(session.scalars(select(PersonIdentity).order_by(PersonIdentity.id)))


def holder(session: Session, kind: str, value: str) -> Person | None:
    """Who a source's name for a person belongs to."""
    query = (
        select(Person)
        .join(PersonIdentity, PersonIdentity.person_id == Person.id)
        .where(PersonIdentity.kind == kind, PersonIdentity.value == value.lower())
    )
    return session.scalars(query).first()


def holders(session: Session, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], Person]:
    """Who each (kind, value) belongs to, for those that belong to anyone."""
    values = {value.lower() for _, value in pairs}
    if not values:
        return {}
    query = (
        select(PersonIdentity.kind, PersonIdentity.value, Person)
        .join(Person, Person.id == PersonIdentity.person_id)
        .where(PersonIdentity.value.in_(values))
    )
    return {(kind, value): person for kind, value, person in session.execute(query)}


def add_identity(session: Session, person_id: int, kind: str, value: str, source: str) -> bool:
    """Give a person a name a source knows them by, unless someone holds it; True if given."""
    row = {"person_id": person_id, "kind": kind, "value": value.lower(), "source": source}
    return insert_if_new(session, PersonIdentity, row, ["kind", "value"])


def drop_identities(session: Session, pairs: list[tuple[str, str]]) -> None:
    for kind, value in pairs:
        session.execute(
            delete(PersonIdentity).where(
                PersonIdentity.kind == kind, PersonIdentity.value == value.lower()
            )
        )


def drop_identities_of(session: Session, person_id: int) -> None:
    session.execute(delete(PersonIdentity).where(PersonIdentity.person_id == person_id))


def create_person(session: Session, name: str, email: str | None, source: str) -> Person:
    """A person by name, made unless one of that name exists (two requests at once agree)."""
    insert_if_new(session, Person, {"name": name, "email": email, "source": source}, ["name"])
    found = person_named(session, name)
    assert found is not None
    return found


def delete_people(session: Session, ids: list[int]) -> None:
    if ids:
        session.execute(delete(PersonIdentity).where(PersonIdentity.person_id.in_(ids)))
        session.execute(delete(Person).where(Person.id.in_(ids)))


def people_without_identities(session: Session, source: str) -> list[int]:
    held = select(PersonIdentity.person_id)
    query = select(Person.id).where(Person.source == source, Person.id.not_in(held))
    return list(session.scalars(query))


def teams(session: Session) -> list[Team]:
    return list(session.scalars(select(Team).order_by(func.lower(Team.name))))


def team_named(session: Session, name: str) -> Team | None:
    return session.scalars(select(Team).where(Team.name == name)).first()


def replace_teams(session: Session, rows: list[dict]) -> None:
    session.execute(delete(Team))
    session.add_all(Team(**row) for row in rows)


def authors(session: Session) -> list[tuple[str, str | None, int, int]]:
    """(author, pr_author, mergesets, repository id) for every author named on a counted
    mergeset."""
    query = (
        select(Mergeset.author, Mergeset.pr_author, func.count(), Mergeset.repository_id)
        .where(Mergeset.context.is_(False), Mergeset.author.is_not(None))
        .group_by(Mergeset.author, Mergeset.pr_author, Mergeset.repository_id)
    )
    return [(a or "", pr, int(n), repository) for a, pr, n, repository in session.execute(query)]


def linkable_mergesets(
    session: Session, repository_id: int, shas: set[str]
) -> list[tuple[str, str, str | None]]:
    """(author email, forge login, PR URL) of the mergesets among `shas` that know both."""
    query = select(Mergeset.author, Mergeset.pr_author, Mergeset.pr_url).where(
        Mergeset.repository_id == repository_id,
        Mergeset.sha.in_(sorted(shas)),
        Mergeset.pr_author.is_not(None),
        Mergeset.author.contains("@"),
        # merged by someone else, a merge commit's author is the merger: no tie
        or_(Mergeset.pr_merged_by.is_(None), Mergeset.pr_merged_by == Mergeset.pr_author),
    )
    return [(a or "", pr or "", url) for a, pr, url in session.execute(query)]
