"""the run's own attributes, held once

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 02:00:00

`pipeline_runs.attributes`: the run-level keys (cicd.pipeline.*, vcs.repository.*, vcs.ref.*,
the commit's time and author) as the run's first spans gave them. A step stored from then on
keeps only the attributes that are its own or differ from its run's (ingest/run_rows.py), and
is read back with its run's beneath them; steps stored before keep every attribute.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attributes", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.drop_column("attributes")
