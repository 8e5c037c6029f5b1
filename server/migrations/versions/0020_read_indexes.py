"""indexes the reports' plans asked for

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 03:20:00

- `pipeline_runs (repository_id, started_at)`: a window's runs of one repository as a range,
  not every run of the repository filtered;
- `steps (trace_id) WHERE cache_hit IS NOT NULL` and `steps (trace_id) WHERE role = 'test'`:
  the caches and tests reports look up only the steps that said a cache hit or miss, and the
  test cases, instead of reading every step of every run in the window (30 days of 10,000
  mergesets on SQLite: 124 ms -> 4.5 ms for the caches' query).
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

CACHE_SAID = "cache_hit IS NOT NULL"
TEST_CASE = "role = 'test'"


def upgrade() -> None:
    op.create_index(
        "ix_pipeline_runs_repository_started", "pipeline_runs", ["repository_id", "started_at"]
    )
    op.create_index(
        "ix_steps_cache_hit",
        "steps",
        ["trace_id"],
        sqlite_where=sa.text(CACHE_SAID),
        postgresql_where=sa.text(CACHE_SAID),
    )
    op.create_index(
        "ix_steps_test_cases",
        "steps",
        ["trace_id"],
        sqlite_where=sa.text(TEST_CASE),
        postgresql_where=sa.text(TEST_CASE),
    )


def downgrade() -> None:
    op.drop_index("ix_steps_test_cases", table_name="steps")
    op.drop_index("ix_steps_cache_hit", table_name="steps")
    op.drop_index("ix_pipeline_runs_repository_started", table_name="pipeline_runs")
