"""Alembic's entry point: migrations run on the connection harness.store.engine hands over."""

from __future__ import annotations

from alembic import context

from harness.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
