"""when a page's state last changed

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 17:35:00

The event time of a page's latest change of state (trigger, acknowledge, resolve, reopen): a
late or replayed event older than it changes nothing, in either direction (a resolve replayed
after a later reopen no longer resolves the page again). Existing pages take their latest known
time.
"""

import sqlalchemy as sa
from alembic import op

from leadtime.server.models import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("state_at", UTCDateTime(), nullable=True))
    op.execute("UPDATE pages SET state_at = COALESCE(resolved_at, acknowledged_at, triggered_at)")


def downgrade() -> None:
    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.drop_column("state_at")
