"""Alembic, driven from code: upgrade, and how far the database is from the code's schema."""

from __future__ import annotations

import enum
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaState(enum.StrEnum):
    EMPTY = "empty"
    CURRENT = "current"
    BEHIND = "behind"
    # Tables but no revision we know: another application's database, or a newer enrolbot's.
    UNKNOWN = "unknown"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _state(connection: Connection) -> tuple[SchemaState, str | None]:
    current = MigrationContext.configure(connection).get_current_revision()
    if current is None:
        tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
        return (SchemaState.EMPTY if not tables else SchemaState.UNKNOWN), None
    if current == head_revision():
        return SchemaState.CURRENT, current
    script = ScriptDirectory.from_config(alembic_config())
    try:
        script.get_revision(current)
    except Exception:
        return SchemaState.UNKNOWN, current
    return SchemaState.BEHIND, current


async def schema_state(engine: AsyncEngine) -> tuple[SchemaState, str | None]:
    """The database's schema against this code's, and the revision it is at."""
    async with engine.connect() as conn:
        return await conn.run_sync(_state)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    def run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)
