"""adoption point

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:20:00

Each repository's adoption point and each mergeset's `context` flag (history from before the
adoption point, never counted). For a database that already holds deploys, the flags are set
here by merge time, and the containment links of context mergesets are dropped (they were only
ever in the first deploys, which claimed the whole history they carried); the next merge or
deploy of a repository works its containment out again by first-parent order.
"""

import sqlalchemy as sa
from alembic import op

import leadtime.server.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The first mergeset leadtime knew of directly (a merge event, a main-branch pipeline, an API
# client), or a deploy's own mergeset, whichever merged first.
ADOPTED_AT = """
UPDATE repositories SET adopted_at = (
    SELECT min(m.merged_at) FROM mergesets m
    WHERE m.repository_id = repositories.id
      AND (m.source <> 'history' OR EXISTS (
          SELECT 1 FROM deploys d
          WHERE d.repository_id = m.repository_id AND d.sha = m.sha AND d.status = 'succeeded'))
)
"""
CONTEXT = """
UPDATE mergesets SET context = TRUE
WHERE source = 'history' AND merged_at < (
    SELECT r.adopted_at FROM repositories r WHERE r.id = mergesets.repository_id)
"""
UNLINK = """
DELETE FROM deploy_mergesets
WHERE mergeset_id IN (SELECT id FROM mergesets WHERE context = TRUE)
"""


def upgrade() -> None:
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("adopted_at", leadtime.server.models.UTCDateTime(), nullable=True)
        )
    with op.batch_alter_table("mergesets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("context", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    for statement in (ADOPTED_AT, CONTEXT, UNLINK):
        op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table("mergesets", schema=None) as batch_op:
        batch_op.drop_column("context")
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.drop_column("adopted_at")
