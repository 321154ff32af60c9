"""A fresh, migrated database per test, on SQLite and (with TEST_DATABASE_URL) PostgreSQL.

Migrating once into a template and copying it keeps each test isolated yet fast: a file copy
for SQLite, CREATE DATABASE ... TEMPLATE for PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy.engine import make_url

from store.db import make_engine
from store.schema import upgrade

PREFIX = "enrolbot_t_"


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]


def _pg_admin_dsn() -> str:
    url = make_url(os.environ["TEST_DATABASE_URL"])
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_url(name: str) -> str:
    url = make_url(os.environ["TEST_DATABASE_URL"]).set(drivername="postgresql+asyncpg")
    return url.set(database=name).render_as_string(hide_password=False)


async def _pg(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_pg_admin_dsn())
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def _run(coro) -> None:
    """Run a coroutine to the end from sync or async test code alike (its own thread, own loop)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, coro).result()


async def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


class Databases:
    """Hands out databases; one per test run holds the migrated template."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._templates: dict[str, str] = {}

    def _template(self, backend: str) -> str:
        if backend not in self._templates:
            if backend == "sqlite":
                path = self.workdir / "template.db"
                _run(_migrate(f"sqlite:///{path}"))
                self._templates[backend] = str(path)
            else:
                name = f"{PREFIX}template_{uuid.uuid4().hex[:8]}"
                _run(_pg(f'CREATE DATABASE "{name}"'))
                _run(_migrate(_pg_url(name)))
                self._templates[backend] = name
        return self._templates[backend]

    def empty(self, backend: str) -> str:
        """A URL of a database with no tables at all."""
        if backend == "sqlite":
            return f"sqlite:///{self.workdir / (uuid.uuid4().hex + '.db')}"
        name = f"{PREFIX}{uuid.uuid4().hex[:12]}"
        _run(_pg(f'CREATE DATABASE "{name}"'))
        return _pg_url(name)

    def fresh(self, backend: str) -> str:
        """A URL of a database migrated to head, shared with no other test."""
        template = self._template(backend)
        if backend == "sqlite":
            path = self.workdir / (uuid.uuid4().hex + ".db")
            shutil.copyfile(template, path)
            return f"sqlite:///{path}"
        name = f"{PREFIX}{uuid.uuid4().hex[:12]}"
        _run(_pg(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        return _pg_url(name)

    def drop(self, url: str) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() == "postgresql":
            _run(_pg(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))

    def close(self) -> None:
        template = self._templates.get("postgresql")
        if template:
            _run(_pg(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
