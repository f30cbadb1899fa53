"""Alembic migrations of the results store; run by harness.store.engine, never by hand."""
