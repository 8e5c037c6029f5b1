"""step spans kept for a while, run summaries for good

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 02:30:00

`pipeline_runs.steps_pruned_at`: when the run's raw step spans were removed under the retention
(LEADTIME_STEP_RETENTION_DAYS, domain/retention.py); its step summary stays. An index on
`pipeline_runs.started_at` finds the runs past the retention without reading every run.
"""

import sqlalchemy as sa
from alembic import op

from leadtime.server.models import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("steps_pruned_at", UTCDateTime(), nullable=True))
        batch_op.create_index("ix_pipeline_runs_started_at", ["started_at"])


def downgrade() -> None:
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_pipeline_runs_started_at")
        batch_op.drop_column("steps_pruned_at")
