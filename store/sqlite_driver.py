"""SQLite through Python's own sqlite3 module, run straight on the event loop.

aiosqlite sends every call (execute, fetch, commit) to a thread of its own and waits for the
answer: a dozen statements of a click became ~60 thread round trips, most of a click's cost.
A statement on a local SQLite file takes microseconds, less than one such round trip, so this
dialect runs them where they are asked for. SQLAlchemy's asyncio layer is kept (sessions,
pools and handlers are the same on PostgreSQL); the pool still queues coroutines waiting for
the connection, and a wait for another process's write lock is bounded by busy_timeout.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.util.concurrency import await_, in_greenlet

NAME = "sqlite+inloop"


class SQLiteDialect_inloop(SQLiteDialect_pysqlite):
    driver = "inloop"
    is_async = True  # let the asyncio layer accept it: nothing here awaits, nothing blocks long
    supports_statement_cache = True

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
        return args, kwargs

    # SQLAlchemy's AsyncConnection.execute insists that a statement awaited something; it did
    # not need to, so say so with an await that finishes at once (two greenlet switches).
    def do_execute(self, cursor: Any, statement: Any, parameters: Any, context: Any = None) -> None:
        _awaited()
        super().do_execute(cursor, statement, parameters, context)

    def do_executemany(
        self, cursor: Any, statement: Any, parameters: Any, context: Any = None
    ) -> None:
        _awaited()
        super().do_executemany(cursor, statement, parameters, context)

    def do_execute_no_params(self, cursor: Any, statement: Any, context: Any = None) -> None:
        _awaited()
        super().do_execute_no_params(cursor, statement, context)


class _Cursor(sqlite3.Cursor):
    async def _async_soft_close(self) -> None:
        """What the asyncio layer calls on a result it has fully read: nothing to do."""


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> sqlite3.Cursor:
        return super().cursor(factory)


async def _done() -> None:
    return None


def _awaited() -> None:
    if in_greenlet():
        await_(_done())


registry.register("sqlite.inloop", __name__, "SQLiteDialect_inloop")
dialect = SQLiteDialect_inloop
