"""a step's cache hit or miss

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 08:00:00

`steps.cache_hit`: whether the step's cache was hit (`leadtime.cache.hit`, from
`leadtime step --cache-hit`); None when the step did not say. A column, not only an attribute,
so the cache report reads the few steps that say without reading every step's attributes.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cache_hit", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("steps", schema=None) as batch_op:
        batch_op.drop_column("cache_hit")
