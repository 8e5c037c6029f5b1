"""span roles, job-name deploy rules, runs found by their CI's run id

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 23:00:00

`steps.role`: what a span is in its run (step, root, queue or group), as the emitter adapters
read it (ingest/emitters); spans stored before keep None and the old rule (a SERVER span is the
root, every other span a step). `deploy_rules`: per repository, a job-name glob whose spans
deploy to an environment, for emitters that mark no deploy. `ix_pipeline_runs_identity`: a run
found by (provider, run id), so spans of one run from two tools join it whatever their trace ids.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role", sa.String(10), nullable=True))
    op.create_table(
        "deploy_rules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("repository_id", sa.Integer(), sa.ForeignKey("repositories.id"), nullable=False),
        sa.Column("job", sa.String(200), nullable=False),
        sa.Column("environment", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("repository_id", "job", name="uq_deploy_rules_job"),
    )
    op.create_index("ix_pipeline_runs_identity", "pipeline_runs", ["provider", "run_id"])


def downgrade() -> None:
    op.drop_index("ix_pipeline_runs_identity", table_name="pipeline_runs")
    op.drop_table("deploy_rules")
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_column("role")
