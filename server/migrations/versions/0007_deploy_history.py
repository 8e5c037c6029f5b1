"""deploy history

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:50:00

Whether a deploy's reported history was cut short (a shallow clone, the history limit, none),
and whether leadtime could still establish what it shipped. Deploys stored before are not
known to be cut: both stay null until reported again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deploys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("history_cut", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("history_complete", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deploys", schema=None) as batch_op:
        batch_op.drop_column("history_complete")
        batch_op.drop_column("history_cut")
