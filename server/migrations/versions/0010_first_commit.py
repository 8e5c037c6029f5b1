"""first commit of a mergeset's branch

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 02:30:00

When the branch a mergeset merged began (its first commit's author time): DORA's change lead time
(first commit -> production) runs from it. Filled by deploys' history and backfills from now on.
"""

import sqlalchemy as sa
from alembic import op

from leadtime.server.models import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mergesets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_commit_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mergesets", schema=None) as batch_op:
        batch_op.drop_column("first_commit_at")
