"""The schema revision this code needs, known without loading Alembic.

`enrolbot serve` checks the database's revision at every start; Alembic with its templates
costs ~0.15 s of imports that a current database does not need. tests/test_migrations.py keeps
HEAD equal to the newest migration.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

HEAD = "0026"


async def is_current(engine: AsyncEngine) -> bool:
    """Whether the database is at HEAD; False when it cannot tell (no table, no revision)."""
    async with engine.connect() as conn:
        try:
            revisions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        except DBAPIError:  # no alembic_version table: empty, or not ours
            return False
    return [tuple(row) for row in revisions] == [(HEAD,)]
