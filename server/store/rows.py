"""Inserts that skip rows whose keys exist already, in the database's own dialect: the base of
every idempotent upsert (`ON CONFLICT DO NOTHING`, not check-then-insert)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import CursorResult, Result, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from leadtime.server.models import Base


def table_of(model: type[Base]) -> Table:
    """A model's Core table: executemany with cached SQL, no per-row ORM work."""
    return cast(Table, model.__table__)


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched (the conditional ones decide a race)."""
    return cast(CursorResult[Any], result).rowcount


def dialect_insert(session: Session, model: type[Base]) -> Any:
    """An INSERT into the model's table in the database's own dialect (ON CONFLICT clauses)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    return (postgresql.insert if postgres else sqlite.insert)(table_of(model))


def _insert_ignoring(session: Session, model: type[Base], keys: Sequence[str]) -> Any:
    """INSERT ... ON CONFLICT (keys) DO NOTHING, in the database's own dialect."""
    return dialect_insert(session, model).on_conflict_do_nothing(index_elements=list(keys))


def insert_ignoring_duplicates(
    session: Session, model: type[Base], rows: list[dict], keys: Sequence[str]
) -> None:
    """Insert the rows that are new; rows whose keys exist already are left alone."""
    if rows:
        session.execute(_insert_ignoring(session, model, keys), rows)


def insert_if_new(session: Session, model: type[Base], row: dict, keys: Sequence[str]) -> bool:
    """Insert one row unless its keys exist; True when it was inserted."""
    key_column = next(iter(table_of(model).primary_key.columns))
    statement = _insert_ignoring(session, model, keys).returning(key_column)
    return session.execute(statement, row).first() is not None
