"""Alembic migrations (a package so that an installed bot can migrate)."""
