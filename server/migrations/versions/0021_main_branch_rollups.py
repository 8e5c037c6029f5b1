"""each day's rollup of the main branches' runs too

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 06:30:00

`step_days.main_rollup`: the day's rollup of its main-branch runs only, which the regression rule
reads; `step_days.main_branches`: the branch names it was built for. Rows built before have
neither: the housekeeping builds them again (a rollup built for other branch names is built
again too), and until then the rule reads those days run by run.
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("step_days") as batch:
        batch.add_column(sa.Column("main_rollup", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("main_branches", sa.String(1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("step_days") as batch:
        batch.drop_column("main_branches")
        batch.drop_column("main_rollup")
