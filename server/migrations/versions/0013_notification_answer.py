"""what a notifier target answered

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 17:45:00

The start of a failed delivery's answer (what the target said), kept for admins only
(`GET /api/notifiers` with an `admin` token): `last_error` holds the HTTP status alone, since
the alerts and /readyz are readable by more people and the target may be an internal service.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_answer", sa.String(500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("last_answer")
