"""Database reads and writes from synchronous end-to-end tests, on a loop of their own."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.db import make_engine, make_sessionmaker
from store.models import AuditEvent, Enrolment

T = TypeVar("T")


class SyncDB:
    def __init__(self, url: str) -> None:
        self.url = url

    def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async def main() -> T:
            engine = make_engine(self.url)
            try:
                async with make_sessionmaker(engine)() as session, session.begin():
                    return await work(session)
            finally:
                await engine.dispose()

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, main()).result()

    def scalar(self, statement: Any) -> Any:
        async def work(session: AsyncSession) -> Any:
            return await session.scalar(statement)

        return self.run(work)

    def count(self, model: type, *where: Any) -> int:
        return self.scalar(select(func.count()).select_from(model).where(*where))

    def enrolments(self) -> list[tuple[str, str, str]]:
        """(email, item slug, status) of every enrolment, sorted."""
        from store.models import CatalogItem, User

        async def work(session: AsyncSession) -> list[tuple[str, str, str]]:
            rows = await session.execute(
                select(User.email, CatalogItem.slug, Enrolment.status)
                .join(User, User.id == Enrolment.user_id)
                .join(CatalogItem, CatalogItem.id == Enrolment.item_id)
                .order_by(User.email, CatalogItem.slug)
            )
            return [(e, s, st.value) for e, s, st in rows]

        return self.run(work)

    def audit_actions(self) -> list[str]:
        async def work(session: AsyncSession) -> list[str]:
            return list(
                (await session.execute(select(AuditEvent.action).order_by(AuditEvent.id))).scalars()
            )

        return self.run(work)
