"""each mergeset's place in its repository's order

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 15:30:00

`mergesets.position`: the mergeset's place in its repository's first-parent order
(domain/chain.py), so containment is worked out from the deploys a report affects instead of
from the whole history. Null until placed: the next merge or deploy of a repository places all
of its mergesets once. Indexed with the repository, as is `parent_sha` (a new mergeset is
placed last only when no known mergeset names it as its first parent), and deploys by their
finish time within an environment (the deploys before a point, and after it).
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mergesets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=True))
    op.create_index("ix_mergesets_repo_position", "mergesets", ["repository_id", "position"])
    op.create_index("ix_mergesets_repo_parent", "mergesets", ["repository_id", "parent_sha"])
    op.create_index(
        "ix_deploys_repo_env_done", "deploys", ["repository_id", "environment", "finished_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_deploys_repo_env_done", table_name="deploys")
    op.drop_index("ix_mergesets_repo_parent", table_name="mergesets")
    op.drop_index("ix_mergesets_repo_position", table_name="mergesets")
    with op.batch_alter_table("mergesets", schema=None) as batch_op:
        batch_op.drop_column("position")
