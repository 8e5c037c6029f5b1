"""people, their identities, teams, and the feedback outbox; who merged a pull request

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 23:00:00
"""

import sqlalchemy as sa
from alembic import op

from leadtime.server.model_base import UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("email", sa.String(300)),
        sa.Column("slack_user_id", sa.String(50)),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "person_identities",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "person_id",
            sa.Integer(),
            sa.ForeignKey("people.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("value", sa.String(300), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.UniqueConstraint("kind", "value", name="uq_person_identities_value"),
    )
    op.create_index("ix_person_identities_person_id", "person_identities", ["person_id"])
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("repositories", sa.JSON(), nullable=False),
        sa.Column("services", sa.JSON(), nullable=False),
        sa.Column("slack_channel", sa.String(100)),
        sa.Column("slack_webhook_url", sa.String(1000)),
        sa.Column("email", sa.String(300)),
        sa.Column("working_hours", sa.String(20), nullable=False),
        sa.Column("working_days", sa.String(40), nullable=False),
        sa.Column("time_zone", sa.String(60), nullable=False),
        sa.Column("digest_day", sa.String(3), nullable=False),
        sa.Column("feedback", sa.JSON(), nullable=False),
    )
    op.create_table(
        "feedback_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(500), nullable=False, unique=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("team", sa.String(200)),
        sa.Column("person_id", sa.Integer()),
        sa.Column("address", sa.String(1000)),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500)),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_until", UTCDateTime()),
        sa.Column("sent_at", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_feedback_due", "feedback_messages", ["status", "next_attempt_at"])
    with op.batch_alter_table("mergesets") as batch:
        batch.add_column(sa.Column("pr_merged_by", sa.String(300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mergesets") as batch:
        batch.drop_column("pr_merged_by")
    op.drop_table("feedback_messages")
    op.drop_table("teams")
    op.drop_table("person_identities")
    op.drop_table("people")
