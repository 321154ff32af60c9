"""Writing many rows at once: set-based statements, and SQLite transactions that take the write
lock when they begin.

Imports write in short batches while the service answers clicks on the same database. On
SQLite a batch that reads first and writes next would fail halfway (SQLITE_BUSY, with no wait)
whenever the service wrote in between; taking the lock at BEGIN makes the batch wait its turn
instead (busy_timeout) and hold the lock only for the batch.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, event, text, update
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


@dataclass
class Pace:
    """How many rows a writer's next batch takes, and its rest after each batch.

    On SQLite a batch holds the one write lock from its BEGIN IMMEDIATE (bulk_writer) to its
    commit, and a running service's writes (its clicks) wait for it. A fixed number of rows is
    no bound on that: 250 enrolments held the lock 15 ms on a quiet machine and 35-180 ms on a
    busy one. So while resting (`rest` > 0, the SQLite case) each batch is sized from the last
    one's time held towards HOLD seconds, between `least` and `most` rows, and the writer then
    rests `rest` times as long as it held the lock, which is when the others write. Much of a
    batch's time does not grow with its rows (its statements' building and planning: 50
    enrolments took 20 ms where 250 took 34 on a busy machine), so batches stop shrinking at
    `least`, where fewer rows would only mean more batches. Without a rest they keep `rows`."""

    rows: int
    rest: float = 0.0
    least: int = 100
    most: int = 1000

    HOLD = 0.02

    async def held(self, seconds: float) -> None:
        """After a batch that held the database `seconds`: size the next one, then rest."""
        if not self.rest:
            return
        if seconds > 0:
            aimed = int(self.rows * self.HOLD / seconds)
            self.rows = max(self.least, min(self.most, aimed, self.rows * 2))
        await asyncio.sleep(seconds * self.rest)


async def insert_missing(
    session: AsyncSession,
    table: Table,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
    constants: dict[str, Any],
    *,
    returning: tuple[str, ...] = (),
) -> list[tuple[Any, ...]] | None:
    """INSERT `rows` (values of `columns`, then `constants`, the same for every row), skipping
    any that a unique constraint already holds: another writer got there first.

    With `returning`, on PostgreSQL, those columns of the rows it inserted (not of those it
    skipped), which spares the caller reading them back; None on SQLite, where the caller
    reads them (a statement run for each row returns nothing).

    The rows go to the driver as plain tuples in one executemany: SQLAlchemy's processing of
    each row's parameters cost more than the insert itself. So each value in `rows` must be
    what the driver takes as it is (str, int, bool, None; an enum's value); `constants` go
    through their column's type once."""
    if not rows:
        return [] if returning else None
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
        back = f" RETURNING {', '.join(quote(n) for n in returning)}" if returning else ""
        result = await connection.exec_driver_sql(
            f"{into} SELECT *{extra} FROM unnest({arrays}) ON CONFLICT DO NOTHING{back}",
            (*[list(values) for values in zip(*rows, strict=True)], *fixed),
        )
        return [tuple(row) for row in result] if returning else None
    marks = ", ".join("?" for _ in range(len(columns) + len(constants)))
    await connection.exec_driver_sql(
        f"{into} VALUES ({marks}) ON CONFLICT DO NOTHING", [row + fixed for row in rows]
    )
    return None


def _bound(processor: Any, value: Any) -> Any:
    return processor(value) if processor is not None else value


async def update_by_id(session: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> None:
    """One UPDATE executed for every row: each dict has the row's `id` and the new values."""
    if not rows:
        return
    statement = update(table).where(table.c.id == bindparam("row_id"))
    params = [{"row_id": r["id"], **{k: v for k, v in r.items() if k != "id"}} for r in rows]
    await session.execute(statement, params)


async def update_rows(
    session: AsyncSession, table: Table, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """UPDATE `table` SET `columns` to each row's values WHERE id is the row's first value:
    `rows` are (id, *values). On PostgreSQL one statement joins the rows as arrays (run as
    many statements, ten thousand rows took seconds); SQLite runs it for each row, in
    process. The values go to the driver as they are (see insert_missing)."""
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    name = quote(table.name)
    if dialect.name == "postgresql":
        casts = [table.c["id"].type.compile(dialect=dialect)] + [
            table.c[c].type.compile(dialect=dialect) for c in columns
        ]
        arrays = ", ".join(f"${n}::{cast}[]" for n, cast in enumerate(casts, 1))
        names = ", ".join(quote(c) for c in ("id", *columns))
        sets = ", ".join(f"{quote(c)} = v.{quote(c)}" for c in columns)
        await connection.exec_driver_sql(
            f"UPDATE {name} SET {sets} FROM unnest({arrays}) AS v({names}) WHERE {name}.id = v.id",
            tuple(list(values) for values in zip(*rows, strict=True)),
        )
        return
    sets = ", ".join(f"{quote(c)} = ?" for c in columns)
    await connection.exec_driver_sql(
        f"UPDATE {name} SET {sets} WHERE id = ?", [(*row[1:], row[0]) for row in rows]
    )


async def plan_each_statement(session: AsyncSession) -> None:
    """For the rest of this transaction, PostgreSQL plans each statement for its own values
    (see bulk_writer): the directory's lookups of a thousand keys, prepared once per
    connection, otherwise kept a generic plan made while the tables were small and took
    0.6 s each instead of 6 ms. Nothing on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        return
    # Once a transaction: a SCIM batch called this five times, a round trip each.
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_PLANNED) is transaction:
        return
    await session.execute(_CUSTOM_PLANS)
    session.info[_PLANNED] = session.get_transaction()


_PLANNED = "enrolbot.custom_plans"
_CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")
