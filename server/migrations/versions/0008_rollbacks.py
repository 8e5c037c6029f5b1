"""rollbacks

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 00:00:00

Each successful deploy's kind (deploy, redeploy, rollback) and, for a deploy rolled back, the
rollback that undid it: worked out with containment, so both fill in for a repository at its
next merge or deploy.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deploys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("rolled_back_by_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deploys", schema=None) as batch_op:
        batch_op.drop_column("rolled_back_by_id")
        batch_op.drop_column("kind")
