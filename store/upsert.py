"""INSERT ... ON CONFLICT DO NOTHING on either back end: the database decides races, not luck."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from store.models import Base


@cache
def _statement(dialect: str, table: Table) -> Insert:
    # Built once and given the values as parameters: it is on every click's path, and a built
    # statement keeps its compiled form. The table, not the mapped class, skips the ORM's bulk
    # machinery for a single row.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    key = next(iter(table.primary_key.columns))
    return insert(table).on_conflict_do_nothing().returning(key)


async def insert_ignoring_conflict(
    session: AsyncSession, model: type[Base], values: dict[str, Any]
) -> Any:
    """Insert a row unless a unique constraint already holds one: the new row's primary key,
    or None when the row was already there."""
    statement = _statement(session.get_bind().dialect.name, model.__table__)
    return (await session.execute(statement, values)).scalar_one_or_none()
