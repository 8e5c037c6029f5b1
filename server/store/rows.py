"""Inserts that skip rows whose keys exist already, in the database's own dialect: the base of
every idempotent upsert (`ON CONFLICT DO NOTHING`, not check-then-insert)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def _insert_ignoring(session: Session, model, keys: Sequence[str]):
    """INSERT ... ON CONFLICT (keys) DO NOTHING, in the database's own dialect."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Core's table, not the ORM entity: executemany with cached SQL, no per-row compilation.
    return insert(model.__table__).on_conflict_do_nothing(index_elements=list(keys))


def insert_ignoring_duplicates(
    session: Session, model, rows: list[dict], keys: Sequence[str]
) -> None:
    """Insert the rows that are new; rows whose keys exist already are left alone."""
    if rows:
        session.execute(_insert_ignoring(session, model, keys), rows)


def insert_if_new(session: Session, model, row: dict, keys: Sequence[str]) -> bool:
    """Insert one row unless its keys exist; True when it was inserted."""
    key_column = next(iter(model.__table__.primary_key.columns))
    statement = _insert_ignoring(session, model, keys).returning(key_column)
    return session.execute(statement, row).first() is not None
