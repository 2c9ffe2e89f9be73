"""The SQLAlchemy Table of a SQLModel table class, typed."""

from __future__ import annotations

from sqlalchemy import Table, inspect
from sqlmodel import SQLModel


def table_of(model: type[SQLModel]) -> Table:
    """`model.__table__`, which SQLModel's class type does not declare (so mypy does not know it): for
    Core statements (insert … on conflict, update … returning) that name columns as `table.c.<name>`."""
    table = inspect(model).local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model (table=True)")
    return table
