"""Engines and sessions for SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from store import sqlite_driver


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web workers read while the scheduler writes; foreign keys are off by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Statements run on the event loop (store.sqlite_driver), so the commit that happened to
    # fill the log must not also copy it into the file and sync it: a service checkpoints from
    # a thread instead (checkpoint below), and SQLite checkpoints when the last connection closes.
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for `url`, with the back end's settings that the product relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        url = parsed.set(drivername=sqlite_driver.NAME).render_as_string(hide_password=False)
        # One connection: SQLite lets one writer in at a time anyway, and a queue in the pool is
        # fairer and cheaper than connections spinning on the file lock.
        if ":memory:" not in url:
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)
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
