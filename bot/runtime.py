"""What a running enrolbot holds once: settings, the database engine, the link signer."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.settings import Settings
from handlers.commands import CommandContext
from handlers.identity import Account, Profile, ProfileLookup, identify, is_known
from handlers.organisations import default_organisation
from handlers.signing import LinkSigner
from store.db import make_engine, make_sessionmaker
from store.models import Organisation

ORGANISATION_SECONDS = 10


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    signer: LinkSigner
    _organisation: tuple[Organisation, float] | None = None
    _known: set[Account] = field(default_factory=set)

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

    async def organisation(self, session: AsyncSession) -> Organisation:
        """The organisation, read at most every ORGANISATION_SECONDS: it is on every click's
        path and changes only through `enrolbot org set`."""
        cached = self._organisation
        if cached is None or time.monotonic() - cached[1] > ORGANISATION_SECONDS:
            self._organisation = cached = (await default_organisation(session), time.monotonic())
        return cached[0]

    async def lookup_first(self, account: Account, lookup: ProfileLookup) -> ProfileLookup:
        """Ask the platform's directory about someone never seen before with no database
        connection held, so a slow answer holds up no one else; then hand the handler the
        answer. Known accounts cost nothing here."""
        if account in self._known:
            return lookup
        async with self.sessions() as session:
            known = await is_known(session, account)
        if known:
            self._known.add(account)
            return lookup
        profile = await lookup()

        async def answered() -> Profile:
            return profile

        return answered

    async def command_context(
        self,
        session: AsyncSession,
        account: Account,
        lookup: ProfileLookup,
        **platform: Any,
    ) -> CommandContext:
        """Identify who typed a command or pressed an admin button, for handlers.commands;
        `platform` holds what only the adapter knows (prefix, channel, how to look people up)."""
        settings = self.settings
        org = await default_organisation(session)  # fresh: an admin may just have changed it
        person = await identify(
            session, org, account, lookup, bootstrap_admins=settings.admin_emails
        )
        return CommandContext(
            session=session,
            organisation=org,
            account=account,
            caller=person,
            signer=self.signer,
            public_url=settings.public_url,
            bootstrap_admins=settings.admin_emails,
            **platform,
        )

    async def close(self) -> None:
        await self.engine.dispose()
