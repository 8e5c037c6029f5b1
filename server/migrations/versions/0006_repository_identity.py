"""repository identity

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:40:00

One key per repository (store.repository_key: host and path, folded as the forge folds them;
`name:owner/name` for one known only by name), unique. Repositories an older version made twice
(another letter case, an ssh URL with a port, `owner/name` before the URL, two first sights at
once) are merged here: the oldest one known by URL keeps everything. A mergeset both had is kept
once; containment is worked out again by the next merge or deploy of the repository.
"""

import sqlalchemy as sa
from alembic import op

from leadtime.server.store.repositories import name_key, repository_key

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TWICE = (
    "SELECT id FROM mergesets WHERE repository_id = :loser AND sha IN "
    "(SELECT sha FROM mergesets WHERE repository_id = :survivor)"
)
# What moves from a repository merged away to the one that stays, in this order.
MOVES = (
    "DELETE FROM deploy_mergesets WHERE mergeset_id IN (" + TWICE + ")",
    "DELETE FROM mergesets WHERE id IN (" + TWICE + ")",
    "UPDATE mergesets SET repository_id = :survivor WHERE repository_id = :loser",
    "UPDATE deploys SET repository_id = :survivor WHERE repository_id = :loser",
    "UPDATE pipeline_runs SET repository_id = :survivor WHERE repository_id = :loser",
    "UPDATE pages SET repository_id = :survivor WHERE repository_id = :loser",
    # An open alert's key names its repository: the next evaluation opens it again.
    "UPDATE alerts SET repository_id = :survivor, open_key = NULL, status = 'resolved' "
    "WHERE repository_id = :loser",
    "DELETE FROM repositories WHERE id = :loser",
)


def _keys(connection) -> dict[int, str]:
    rows = connection.execute(sa.text("SELECT id, name, url FROM repositories ORDER BY id"))
    return {id_: repository_key(url) if url else name_key(name) for id_, name, url in rows}


def _survivors(keys: dict[int, str], urls: dict[int, str | None]) -> dict[int, int]:
    """loser id -> survivor id: the same key twice, or a name-only key naming a URL one."""
    first: dict[str, int] = {}
    merged: dict[int, int] = {}
    for id_ in sorted(keys, key=lambda i: (urls[i] is None, i)):
        key = keys[id_]
        if key in first:
            merged[id_] = first[key]
        else:
            first[key] = id_
    for key, id_ in list(first.items()):
        if not key.startswith("name:"):
            continue
        wanted = key.removeprefix("name:")
        owners = [
            other
            for other_key, other in first.items()
            if not other_key.startswith("name:")
            and ("/" + other_key.split("/", 1)[-1].lower()).endswith("/" + wanted)
        ]
        if len(owners) == 1:
            merged[id_] = owners[0]
    return merged


def _merge(connection, loser: int, survivor: int) -> None:
    for statement in MOVES:
        connection.execute(sa.text(statement), {"loser": loser, "survivor": survivor})


def upgrade() -> None:
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sa.String(length=600), nullable=True))
    connection = op.get_bind()
    keys = _keys(connection)
    rows = connection.execute(sa.text("SELECT id, url FROM repositories"))
    urls: dict[int, str | None] = {id_: url for id_, url in rows}
    for loser, survivor in _survivors(keys, urls).items():
        _merge(connection, loser, survivor)
        del keys[loser]
    for id_, key in keys.items():
        connection.execute(
            sa.text("UPDATE repositories SET key = :key WHERE id = :id"), {"key": key, "id": id_}
        )
    op.create_index("ix_repositories_key", "repositories", ["key"], unique=True)
    if connection.dialect.name == "postgresql":  # SQLite would rebuild the table for it
        op.alter_column("repositories", "key", nullable=False)


def downgrade() -> None:
    op.drop_index("ix_repositories_key", table_name="repositories")
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.drop_column("key")
