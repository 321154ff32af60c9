"""INSERT ... ON CONFLICT DO NOTHING on either back end: the database decides races, not luck."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Base


async def insert_ignoring_conflict(
    session: AsyncSession, model: type[Base], values: dict[str, Any]
) -> Any:
    """Insert a row unless a unique constraint already holds one: the new row's primary key,
    or None when the row was already there."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    key = next(iter(model.__table__.primary_key.columns))
    statement = insert(model).values(**values).on_conflict_do_nothing().returning(key)
    return (await session.execute(statement)).scalar_one_or_none()
