"""Alembic environment: runs on the connection db.upgrade hands it (online only)."""

from alembic import context

from leadtime.server.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
