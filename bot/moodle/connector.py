"""What the Moodle channel and the completion poll share: the client, the site's key, people's
Moodle ids looked up once (handlers.moodle.accounts), and Moodle's problems told to the admins
once (handlers.moodle.problems)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.moodle.client import MoodleClient
from handlers.moodle import accounts, problems
from handlers.moodle.site import site_key
from store.models import utcnow


@dataclass
class Connector:
    sessions: async_sessionmaker[AsyncSession]
    client: MoodleClient
    role_id: int = 5
    bootstrap_admins: frozenset[str] = frozenset()
    clock: Callable[[], datetime] = field(default=utcnow)

    @property
    def site(self) -> str:
        return site_key(self.client.url)

    async def account(self, user_id: int, email: str) -> int | None:
        """The person's Moodle user id: kept from before, else looked up by email (and kept);
        None when Moodle has no account with that email. Raises the client's errors."""
        async with self.sessions() as session:
            found = await accounts.known(session, self.site, [user_id])
        if user_id in found:
            return found[user_id]
        moodle_id = await self.client.user_by_email(email)
        if moodle_id is not None:
            async with self.sessions() as session, session.begin():
                await accounts.remember(session, self.site, user_id, moodle_id, email)
        return moodle_id

    async def report(self, organisation_id: int, found: problems.Problem) -> None:
        async with self.sessions() as session, session.begin():
            await problems.tell_once(
                session,
                organisation_id,
                found,
                self.clock(),
                bootstrap_admins=self.bootstrap_admins,
            )

    async def worked(self, organisation_id: int, keys: Iterable[str]) -> None:
        async with self.sessions() as session, session.begin():
            await problems.worked(session, organisation_id, keys)
