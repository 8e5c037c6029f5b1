"""the step summaries of each repository's day, rolled up

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 02:45:00

`step_days`: per repository and UTC day, the merged step summaries of the runs started that day
(domain/step_days.py), so the slowest-steps report over a month reads a row a day rather than
every run. Rows appear as runs arrive; until then (and for days changed since their rollup) the
report reads the runs themselves, so nothing needs filling in here.
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "step_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("built_version", sa.Integer(), nullable=False),
        sa.Column("rollup", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["repository_id"], ["repositories.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("repository_id", "day", name="uq_step_days_day"),
    )


def downgrade() -> None:
    op.drop_table("step_days")
