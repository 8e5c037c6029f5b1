"""Inserts that skip rows whose keys exist already, in the database's own dialect: the base of
every idempotent upsert (`ON CONFLICT DO NOTHING`, not check-then-insert). Many rows at once
go to PostgreSQL by COPY (bulk_insert_ignoring_duplicates)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, cast

from sqlalchemy import Column, Connection, CursorResult, Result, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
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
    return _built_insert_ignoring(session.get_bind().dialect.name, model, tuple(keys))


@cache
def _built_insert_ignoring(dialect: str, model: type[Base], keys: tuple[str, ...]) -> Any:
    """Built once: every delivery inserts its steps with it."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table_of(model)).on_conflict_do_nothing(index_elements=list(keys))


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


COPY_ROWS = 64  # from this many rows on, PostgreSQL takes them by COPY (see below)


def bulk_insert_ignoring_duplicates(
    session: Session, model: type[Base], rows: list[dict], keys: Sequence[str]
) -> None:
    """insert_ignoring_duplicates for many rows of the same columns. On PostgreSQL they are
    copied (COPY) straight into the table, in their order: half the CPU of one INSERT per
    row, here and in the database. Should any of them be there already (a delivery sent again,
    a span twice), the copy is undone (to a savepoint) and they are inserted one by one as
    insert_ignoring_duplicates does, the first of each key kept. A few rows cost less as
    INSERTs."""
    if session.get_bind().dialect.name != "postgresql" or len(rows) < COPY_ROWS:
        insert_ignoring_duplicates(session, model, rows, keys)
        return
    table = table_of(model)
    columns = [column for column in table.columns if column.name in rows[0]]
    statement = f"COPY {table.name} ({', '.join(column.name for column in columns)}) FROM STDIN"
    try:
        with session.begin_nested():
            _copy(session.connection(), statement, columns, rows)
    except IntegrityError:
        insert_ignoring_duplicates(session, model, rows, keys)


def _copy(connection: Connection, statement: str, columns: list[Column], rows: list[dict]) -> None:
    """The rows through psycopg's COPY, each value as SQLAlchemy would bind it (a UTC time made
    naive, a dict made JSON); the driver's errors raised as SQLAlchemy's, as every other
    statement's are (a key there already is an IntegrityError, a database gone a 503)."""
    dialect = connection.dialect
    processors = [
        (column.name, column.type.dialect_impl(dialect).bind_processor(dialect))
        for column in columns
    ]
    driver = cast(Any, connection.connection.driver_connection)  # psycopg's, on PostgreSQL
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(
                    [
                        row[name] if to_driver is None else to_driver(row[name])
                        for name, to_driver in processors
                    ]
                )
    except dialect.loaded_dbapi.Error as error:
        gone = dialect.is_disconnect(error, driver, None)
        if gone:  # as SQLAlchemy does: the pool makes a new connection
            connection.invalidate(error)
        raise DBAPIError.instance(
            statement,
            None,
            error,
            dialect.loaded_dbapi.Error,
            connection_invalidated=gone,
            dialect=dialect,
        ) from error
