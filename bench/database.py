"""Seeding a benchmark's database with people and items (tests/support/seed.py), reading one
value back, and running administrative statements on PostgreSQL."""

from __future__ import annotations

import os

from bench.workspace import SECRET_KEY, TEAM
from tests.support.seed import many as seed_many


async def seed(
    db_url: str, *, users: int, items: int, warm: bool, first_user: int = 0
) -> list[str]:
    """Bench items and people (tests/support/seed.py), signed with the bench key, in TEAM."""
    return await seed_many(
        db_url,
        key=SECRET_KEY,
        team=TEAM,
        users=users,
        items=items,
        warm=warm,
        first_user=first_user,
    )


async def db_scalar(db_url: str, statement) -> object:
    from store.db import make_engine, make_sessionmaker

    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            return await session.scalar(statement)
    finally:
        await engine.dispose()


def pg_admin_url() -> str:
    return os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


async def pg_execute(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(pg_admin_url())
    try:
        await conn.execute(statement)
    finally:
        await conn.close()
