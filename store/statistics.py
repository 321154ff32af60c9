"""Table statistics that keep up with a bulk load on PostgreSQL.

A fresh database has no statistics, and PostgreSQL plans every lookup as if its tables held a
row or two: during an identity provider's first provisioning, finding eight people by email
or by id read every row of the organisation instead (10,000 people: PostgreSQL's CPU went
from 16 s to 44 s). Autovacuum analyzes a table only on its next visit to the database, up to
a minute on a stock server, and never where it is turned off; so a writer that may fill
tables from empty calls `Statistics.after_write` after each transaction, and the tables that
changed by more than they held when last analyzed (and by more than a thousand rows) are
analyzed then. Where autovacuum keeps up (a tenth of a table) this never fires.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

CHECK_SECONDS = 2.0  # a look at the counters at most this often per process
MIN_CHANGES = 1000

_STALE = text(
    "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
    "WHERE s.schemaname = current_schema() AND s.relname IN :tables "
    "AND s.n_mod_since_analyze > :least + greatest(c.reltuples, 0)"
).bindparams(bindparam("tables", expanding=True))


class Statistics:
    """Keeps `tables` analyzed while a process writes them in bulk. Nothing on SQLite, which
    plans by its indexes alone."""

    def __init__(self, engine: AsyncEngine, tables: Iterable[str]) -> None:
        self.engine = engine
        self.tables = sorted(tables)
        self._next_check = 0.0

    async def after_write(self) -> None:
        """Analyze the tables that grew past their statistics; call it after a commit (it
        uses a connection of its own)."""
        if self.engine.dialect.name != "postgresql" or time.monotonic() < self._next_check:
            return
        self._next_check = time.monotonic() + CHECK_SECONDS
        async with self.engine.connect() as conn:
            stale = (
                await conn.execute(_STALE, {"tables": self.tables, "least": MIN_CHANGES})
            ).scalars()
            names = ", ".join(conn.dialect.identifier_preparer.quote(t) for t in sorted(stale))
            if names:
                # Another process analyzing the same table now: that one is enough.
                await conn.execute(text(f"ANALYZE (SKIP_LOCKED) {names}"))
            await conn.commit()
