"""Engines and sessions for SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from store import sqlite_driver
from store.private_files import create_private

SQLITE_CONNECTIONS = 4


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()

    def pragma(statement: str) -> None:
        # A new connection's first look at the file (reading the schema, or its journal mode)
        # is refused for an instant while any other connection closes (the checkpoint's, every
        # two seconds): with no busy handler that was "database is locked" at connect, so each
        # pragma waits such a moment out without stopping the loop (store.sqlite_driver).
        sqlite_driver.at_connect(lambda: cursor.execute(statement))

    # WAL lets the web workers read while the scheduler writes; foreign keys are off by default.
    pragma("PRAGMA journal_mode=WAL")
    pragma("PRAGMA foreign_keys=ON")
    # No waiting in place for another process's write lock: statements run on the event loop,
    # and store.sqlite_driver waits for the lock without stopping it.
    pragma("PRAGMA busy_timeout=0")
    pragma("PRAGMA synchronous=NORMAL")
    # Statements run on the event loop (store.sqlite_driver), so the commit that happened to
    # fill the log must not also copy it into the file and sync it: a service checkpoints from
    # a thread instead (checkpoint below), and SQLite checkpoints when the last connection closes.
    pragma("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for `url`, with the back end's settings that the product relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            create_private(database)  # it holds people's data: not readable by everyone
        url = parsed.set(drivername=sqlite_driver.NAME).render_as_string(hide_password=False)
        # A few connections, the last one used first: statements run on the loop one at a
        # time, so one warm connection does the work, and the others are there for whoever
        # needs one while work waits for another process's write lock (a health check, a
        # read) rather than queueing behind it.
        if ":memory:" not in url:
            kwargs.setdefault("pool_size", SQLITE_CONNECTIONS)
            kwargs.setdefault("max_overflow", 0)
            kwargs.setdefault("pool_use_lifo", True)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # A steady set of connections, and clicks beyond it wait their turn: with overflow
    # connections, a busy worker opened and closed PostgreSQL connections (a process each on
    # the server) all the time.
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 0)
    return create_async_engine(url, **kwargs)


# Restartable work on PostgreSQL gives up a lock it cannot have at once (another session's
# LOCK TABLE, a long migration), so that it waits with no connection held, as on SQLite.
_LOCK_TIMEOUT = text("SET LOCAL lock_timeout = '100ms'")
_LOCK_NOT_AVAILABLE = "55P03"


async def restartable_begun(session: AsyncSession) -> None:
    """Set up a transaction that `is_busy` may refuse and that is then tried again."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(_LOCK_TIMEOUT)


def is_busy(exc: BaseException) -> bool:
    """Whether an error says another process holds a lock we need: SQLite's "database is
    locked" (raised inside sqlite_driver.restartable()), or PostgreSQL's lock timeout (after
    `restartable_begun`)."""
    orig = getattr(exc, "orig", None)
    return sqlite_driver.is_busy(orig) or getattr(orig, "sqlstate", None) == _LOCK_NOT_AVAILABLE


async def wait_writable(engine: AsyncEngine, tries: int) -> None:
    """Until no other process holds an SQLite database's write lock; on PostgreSQL, a pause
    that grows with the number of `tries`."""
    lock = getattr(engine.dialect, "write_lock", None)
    if lock is not None:
        await lock.wait()
    else:
        await asyncio.sleep(min(0.05 * 2**tries, 0.5))


def sqlite_path(engine: AsyncEngine) -> str | None:
    """The file of an SQLite database, None for PostgreSQL or memory."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return url.database


def checkpoint(path: str) -> None:
    """Copy what the write-ahead log holds into the database file, waiting for no one (PASSIVE).
    Blocking: run it in a thread."""
    with closing(sqlite3.connect(path, timeout=5)) as conn:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
