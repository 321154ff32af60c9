"""SQLite through Python's own sqlite3 module, run straight on the event loop.

aiosqlite sends every call (execute, fetch, commit) to a thread of its own and waits for the
answer: a dozen statements of a click became ~60 thread round trips, most of a click's cost.
A statement on a local SQLite file takes microseconds, less than one such round trip, so this
dialect runs them where they are asked for. SQLAlchemy's asyncio layer is kept (sessions,
pools and handlers are the same on PostgreSQL); the pool still queues coroutines waiting for
the connection.

Waiting for another process's write lock (a `catalog import`, a backup, sqlite3 at a prompt)
must not stop the event loop, so SQLite's own busy handler, which sleeps in place, is off
(busy_timeout=0, store.db) and the wait happens here, asynchronously: a statement that finds
the file locked waits for the lock (`WriteLock`) and runs again. That is safe only where the
lock refused is the transaction's first: pysqlite begins a transaction at its first write, so
nothing read before it is pinned, and SQLite lets go of everything when that write is refused.
Work that can run again from the start asks instead to have the refusal raised
(`restartable`), so it can give its connection back while it waits (bot.runtime).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import closing, contextmanager, suppress
from contextvars import ContextVar
from typing import Any

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.util.concurrency import await_, in_greenlet

NAME = "sqlite+inloop"

# How long work waits for another process's write lock before it gives up with the error.
WAIT_SECONDS = 30.0

_restartable: ContextVar[bool] = ContextVar("sqlite_restartable", default=False)


@contextmanager
def restartable() -> Iterator[None]:
    """Within this, a write refused because another process holds the lock raises (see
    `is_busy`) rather than waiting with the connection held."""
    token = _restartable.set(True)
    try:
        yield
    finally:
        _restartable.reset(token)


def is_busy(exc: BaseException | None) -> bool:
    """Whether a DBAPI error is SQLite's "database is locked" (SQLITE_BUSY and its variants)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.OperationalError) and code is not None and code & 0xFF == 5


class WriteLock:
    """The database file's write lock as seen from this process. However many statements find
    it taken, one of them at a time looks, every few milliseconds, whether it is free again;
    the others wait for that answer."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._looking: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None

    async def wait(self) -> None:
        """Until the write lock is free."""
        loop = asyncio.get_running_loop()
        looking = self._looking
        if looking is None or looking[0] is not loop or looking[1].done():
            looking = (loop, asyncio.ensure_future(self._until_free()))
            self._looking = looking
        await asyncio.shield(looking[1])

    async def _until_free(self) -> None:
        delay = 0.002
        with closing(sqlite3.connect(self.path, timeout=0, isolation_level=None)) as conn:
            while True:
                await asyncio.sleep(delay)
                try:
                    conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    if not is_busy(exc):
                        raise
                    # At most 10 ms between looks: a wait longer than the holder's (an import's
                    # 20 ms batch) was the larger part of a click's wait for it.
                    delay = min(delay * 2, 0.01)
                    continue
                conn.execute("ROLLBACK")
                return


def at_connect(run: Callable[[], object]) -> None:
    """Run a new connection's first statement that reads the file. Taking its first shared lock
    is refused for as long as another connection is closing (a closing connection asks for the
    file to itself, to checkpoint if it is the last, and holds a pending lock until told no) or
    recovering the log after a crash: moments, not another process's write. So it is tried again
    after a short pause that lets the loop run, rather than after that write lock is free."""
    deadline = time.monotonic() + WAIT_SECONDS
    delay = 0.001
    while True:
        try:
            run()
            return
        except sqlite3.OperationalError as exc:
            if not (is_busy(exc) and in_greenlet()) or time.monotonic() > deadline:
                raise
        await_(asyncio.sleep(delay))
        delay = min(delay * 2, 0.05)


class SQLiteDialect_inloop(SQLiteDialect_pysqlite):
    driver = "inloop"
    is_async = True  # let the asyncio layer accept it: nothing here blocks long
    supports_statement_cache = True
    write_lock: WriteLock | None = None

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        if cls._is_url_file_db(url):
            return pool.AsyncAdaptedQueuePool
        return pool.StaticPool

    def create_connect_args(self, url: URL) -> tuple[list, dict]:
        args, kwargs = super().create_connect_args(url)
        # One event loop thread uses the connection, but the pool may close it from another.
        kwargs["check_same_thread"] = False
        kwargs["factory"] = _Connection
        # No waiting in place for a lock: _patiently waits without stopping the loop.
        kwargs["timeout"] = 0
        if self._is_url_file_db(url) and url.database:
            self.write_lock = WriteLock(url.database)
        return args, kwargs

    # SQLAlchemy's AsyncConnection.execute insists that a statement awaited something; it did
    # not need to, so say so with an await that finishes at once (two greenlet switches).
    def do_execute(self, cursor: Any, statement: Any, parameters: Any, context: Any = None) -> None:
        _awaited()
        run = super().do_execute
        self._patiently(cursor, lambda: run(cursor, statement, parameters, context))

    def do_executemany(
        self, cursor: Any, statement: Any, parameters: Any, context: Any = None
    ) -> None:
        _awaited()
        run = super().do_executemany
        self._patiently(cursor, lambda: run(cursor, statement, parameters, context))

    def do_execute_no_params(self, cursor: Any, statement: Any, context: Any = None) -> None:
        _awaited()
        run = super().do_execute_no_params
        self._patiently(cursor, lambda: run(cursor, statement, context))

    def _patiently(self, cursor: Any, run: Any) -> None:
        """Run a statement; if another process holds the write lock and the statement is the
        transaction's first, wait for the lock without blocking the loop and run it again."""
        first = not cursor.connection.in_transaction
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            try:
                run()
                return
            except sqlite3.OperationalError as exc:
                lock = self.write_lock
                waitable = first and lock is not None and in_greenlet() and is_busy(exc)
                left = deadline - time.monotonic()
                if not waitable or _restartable.get() or left <= 0:
                    raise
            await_(_for_at_most(left, lock.wait()))


class _Cursor(sqlite3.Cursor):
    async def _async_soft_close(self) -> None:
        """What the asyncio layer calls on a result it has fully read: nothing to do."""


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> sqlite3.Cursor:
        return super().cursor(factory)


async def _for_at_most(seconds: float, waiting: Awaitable[None]) -> None:
    """Wait, but no longer than `seconds`: past them, the next refusal is raised."""
    with suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await waiting


async def _done() -> None:
    return None


def _awaited() -> None:
    if in_greenlet():
        await_(_done())


registry.register("sqlite.inloop", __name__, "SQLiteDialect_inloop")
dialect = SQLiteDialect_inloop
