"""INSERT ... ON CONFLICT DO NOTHING on either back end: the database decides races, not luck."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Select, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from store.models import Base, Enrolment


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


@cache
def _in_current_period(dialect: str, table: Table) -> Insert:
    # The period is the person's latest in the item (0 when none): one statement, as above.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    latest = (
        select(func.coalesce(func.max(table.c.period), 0))
        .where(table.c.user_id == bindparam("of_user"), table.c.item_id == bindparam("of_item"))
        .scalar_subquery()
    )
    return insert(table).values(period=latest).on_conflict_do_nothing().returning(table.c.id)


async def insert_in_current_period(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """An enrolment row in the person's current period for the item, unless one is there:
    its id, or None."""
    statement = _in_current_period(session.get_bind().dialect.name, Enrolment.__table__)
    params = {**values, "of_user": values["user_id"], "of_item": values["item_id"]}
    return (await session.execute(statement, params)).scalar_one_or_none()


async def insert_from_select(
    session: AsyncSession,
    table: Table,
    columns: list[str],
    rows: Select,
    returning: tuple[str, ...] = (),
) -> list[tuple[Any, ...]]:
    """INSERT INTO table (columns) SELECT ... ON CONFLICT DO NOTHING, in one statement: rows
    that a unique constraint already holds are skipped. The `returning` columns of the rows
    inserted. `rows` must have a WHERE clause (SQLite reads an upsert after a bare SELECT as
    part of it)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).from_select(columns, rows).on_conflict_do_nothing()
    if returning:
        statement = statement.returning(*(table.c[name] for name in returning))
        return [tuple(row) for row in await session.execute(statement)]
    await session.execute(statement)
    return []
