"""The migrations build the schema the models describe, on SQLite and PostgreSQL alike: a column
added to a model without its migration (or the other way round) fails here."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from leadtime.server.models import Base

# Kept on purpose: 0006 adds repositories.key as nullable, since making it NOT NULL would rebuild
# the table on SQLite; every row has one (the store sets it on insert, 0006 fills the old ones).
DELIBERATE = {("modify_nullable", "repositories", "key")}


def _differences(engine) -> list:
    with engine.connect() as connection:
        found = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    kept = []
    for difference in found:
        item = difference[0] if isinstance(difference, list) else difference
        if (item[0], item[2], item[3]) not in DELIBERATE:
            kept.append(difference)
    return kept


def test_the_migrated_schema_is_the_models_schema(engine):
    assert _differences(engine) == []
