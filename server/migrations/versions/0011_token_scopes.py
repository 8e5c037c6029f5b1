"""token scopes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 16:40:00

Each token says what it may do: `ingest` (spans, merges, deploys, pages, webhooks), `read` (the
API and the dashboard), `admin` (alert rules and notifier targets, budgets and targets, service
mappings). Tokens made before scopes existed keep `ingest,read`: a CI token no longer changes
where alerts go; an admin makes an `admin` token with `leadtime token create NAME --scope admin`.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scopes", sa.String(100), nullable=False, server_default="ingest,read")
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("scopes")
