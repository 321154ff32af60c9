"""Writing many rows at once: set-based statements, and SQLite transactions that take the write
lock when they begin.

Imports write in short batches while the service answers clicks on the same database. On
SQLite a batch that reads first and writes next would fail halfway (SQLITE_BUSY, with no wait)
whenever the service wrote in between; taking the lock at BEGIN makes the batch wait its turn
instead (busy_timeout) and hold the lock only for the batch.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, bindparam, event, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession


def bulk_writer(engine: AsyncEngine) -> AsyncEngine:
    """Set up `engine` for writing batches while others use the database. For engines that
    write, not for readers.

    SQLite: every transaction starts with BEGIN IMMEDIATE (a reader would take the write lock
    too). PostgreSQL: each batch's statements are planned for their own values. A batch's
    lookup (a thousand keys) is a prepared statement; after five runs PostgreSQL may keep one
    generic plan, made while the table was still empty, and scan the whole table for every
    batch after: the import slowed from thousands of rows a second to hundreds."""
    if engine.dialect.name == "postgresql":

        def custom_plans(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("SET plan_cache_mode = force_custom_plan")
            cursor.close()

        event.listen(engine.sync_engine, "connect", custom_plans)
        return engine
    if engine.dialect.name != "sqlite":
        return engine

    def manual_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's recipe: we say BEGIN ourselves

    def begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine.sync_engine, "connect", manual_transactions)
    event.listen(engine.sync_engine, "begin", begin_immediate)
    return engine


async def insert_missing(
    session: AsyncSession,
    table: Table,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    constants: dict[str, Any],
) -> None:
    """INSERT `rows` (values of `columns`, then `constants`, the same for every row), skipping
    any that a unique constraint already holds: another writer got there first.

    The rows go to the driver as plain tuples in one executemany: SQLAlchemy's processing of
    each row's parameters cost more than the insert itself. So each value in `rows` must be
    what the driver takes as it is (str, int, bool, None; an enum's value); `constants` go
    through their column's type once."""
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect
    fixed = tuple(
        _bound(table.c[name].type.dialect_impl(dialect).bind_processor(dialect), value)
        for name, value in constants.items()
    )
    quote = dialect.identifier_preparer.quote
    into = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in [*columns, *constants])})"
    )
    if dialect.name == "postgresql":
        # One statement for the whole batch, the columns as arrays: a row at a time, even
        # pipelined, made PostgreSQL several times slower.
        def cast(name: str) -> str:
            return table.c[name].type.compile(dialect=dialect)

        arrays = ", ".join(f"${n}::{cast(c)}[]" for n, c in enumerate(columns, 1))
        extra = "".join(f", ${n}::{cast(c)}" for n, c in enumerate(constants, len(columns) + 1))
        await connection.exec_driver_sql(
            f"{into} SELECT *{extra} FROM unnest({arrays}) ON CONFLICT DO NOTHING",
            (*[list(values) for values in zip(*rows, strict=True)], *fixed),
        )
        return
    marks = ", ".join("?" for _ in range(len(columns) + len(constants)))
    await connection.exec_driver_sql(
        f"{into} VALUES ({marks}) ON CONFLICT DO NOTHING", [row + fixed for row in rows]
    )


def _bound(processor: Any, value: Any) -> Any:
    return processor(value) if processor is not None else value


async def update_by_id(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """One UPDATE executed for every row: each dict has the row's `id` and the new values."""
    if not rows:
        return
    statement = update(table).where(table.c.id == bindparam("row_id"))
    params = [{"row_id": r["id"], **{k: v for k, v in r.items() if k != "id"}} for r in rows]
    await session.execute(statement, params)
