"""What a running enrolbot holds once: settings, the database engine, the link signer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.settings import Settings
from handlers.signing import LinkSigner
from store.db import make_engine, make_sessionmaker


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    signer: LinkSigner
    extras: dict[str, object] = field(default_factory=dict)

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        settings.require_secret_key()
        engine = make_engine(settings.database_url)
        max_age = settings.link_max_age_days * 86400 or None
        return cls(
            settings, engine, make_sessionmaker(engine), LinkSigner(settings.secret_keys, max_age)
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work is committed on success and rolled back on any error."""
        async with self.sessions() as session, session.begin():
            yield session

    async def close(self) -> None:
        await self.engine.dispose()
