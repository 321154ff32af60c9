from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.db import make_engine, make_sessionmaker
from tests.support.databases import Databases, backends
from tests.support.processes import PRODUCT_SETTINGS

# The command tests' `acme` fixture and the Moodle tests' stand-in site, each defined once
# beside the world it builds.
pytest_plugins = ["tests.support.command_world", "tests.support.moodle_world"]

ROOT = Path(__file__).resolve().parent.parent
# Copies of the published schemas, kept in the repository (see tests/schemas/README.md).
SCHEMAS = ROOT / "tests" / "schemas"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # PostgreSQL joins only when a server is given: no skipped twin hides anything.
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", backends())


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    dbs = Databases(tmp_path_factory.mktemp("databases"))
    yield dbs
    dbs.close()


@pytest.fixture
def db_url(databases: Databases, backend: str) -> Iterator[str]:
    url = databases.fresh(backend)
    yield url
    databases.drop(url)


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    # Tests hold a session while checking with another; the product's one-connection SQLite
    # pool would make them wait on themselves.
    engine = make_engine(db_url, pool_size=5, max_overflow=5)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessions() as s:
        yield s


@pytest.fixture
def schemas() -> Path:
    if not SCHEMAS.is_dir():
        pytest.fail(f"the published schemas are missing: expected them at {SCHEMAS}")
    return SCHEMAS


@pytest.fixture(autouse=True)
def _no_stray_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests set what they need; a developer's own environment must not leak in."""
    for name in list(os.environ):
        if name.startswith(PRODUCT_SETTINGS) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
