"""reverts

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 02:20:00

A mergeset that reverts another points at it (`reverts_id`): worked out from titles with
containment, so the links fill in for a repository at its next merge or deploy.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mergesets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reverts_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mergesets", schema=None) as batch_op:
        batch_op.drop_column("reverts_id")
