"""What a running enrolbot holds once: settings, the database engine, the link signer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clicks import Clicks
from bot.directory_sync import chat_sync
from bot.foreground import Foreground
from bot.settings import Settings
from handlers.commands import CommandContext
from handlers.directory import DirectorySources
from handlers.enrol import EnrolResult, enrol_with_token
from handlers.identity import Account, Profile, ProfileLookup, identify
from handlers.organisations import default_organisation, existing_organisation
from handlers.signing import LinkSigner
from store import sqlite_driver
from store.db import (
    is_busy,
    make_engine,
    make_sessionmaker,
    restartable_begun,
    wait_writable,
)
from store.models import Organisation

ORGANISATION_SECONDS = 10

T = TypeVar("T")


class _LookupNeeded(Exception):
    """A first run of some work met someone the directory must be asked about."""


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    signer: LinkSigner
    _organisation: tuple[Organisation, float] | None = None
    # The directory sources (bot.directory_sync), once the app has built them.
    directory_sources: DirectorySources | None = None
    # Clicks acknowledged before they were committed, until answered (bot.clicks).
    clicks: Clicks = field(init=False)
    # Requests in flight, which the background work waits for (bot.foreground).
    foreground: Foreground = field(default_factory=Foreground)

    def __post_init__(self) -> None:
        self.clicks = Clicks(self)

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

    async def transact(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """`work` in a transaction, run again from the start while another process holds
        SQLite's write lock (or a PostgreSQL lock it needs). Between tries no connection is held,
        so health checks and other work go on while it waits (store.sqlite_driver)."""
        deadline = time.monotonic() + sqlite_driver.WAIT_SECONDS
        tries = 0
        while True:
            try:
                with sqlite_driver.restartable():
                    async with self.transaction() as session:
                        await restartable_begun(session)
                        return await work(session)
            except DBAPIError as exc:
                left = deadline - time.monotonic()
                if not is_busy(exc) or left <= 0:
                    raise
            with suppress(TimeoutError):  # past the deadline: one last try, its refusal raised
                async with asyncio.timeout(left):
                    await wait_writable(self.engine, tries)
            tries += 1

    async def organisation(self, session: AsyncSession) -> Organisation:
        """The organisation, read at most every ORGANISATION_SECONDS: it is on every click's
        path and changes only through `enrolbot org set`. Handed out detached from any session,
        so a rolled-back transaction cannot expire it under the next one."""
        cached = self._organisation
        if cached is None or time.monotonic() - cached[1] > ORGANISATION_SECONDS:
            org = await existing_organisation(session)
            if org is None:  # the first use ever: created in this transaction, cached once it held
                return await default_organisation(session)
            session.expunge(org)
            self._organisation = cached = (org, time.monotonic())
        return cached[0]

    async def with_directory(
        self, lookup: ProfileLookup, work: Callable[[ProfileLookup], Awaitable[T]]
    ) -> T:
        """Run `work`, which identifies someone in a transaction of its own, so that the
        platform's directory is never asked with a database connection held: someone never seen
        before stops the first run before it writes anything, the directory is asked, and
        `work` runs again with the answer. Known people cost nothing extra."""

        async def not_yet() -> Profile:
            raise _LookupNeeded

        try:
            return await work(not_yet)
        except _LookupNeeded:
            pass
        profile = await lookup()

        async def answered() -> Profile:
            return profile

        return await work(answered)

    async def enrol(
        self, account: Account, token: str, lookup: ProfileLookup, *, channel: str | None = None
    ) -> EnrolResult:
        """A click on an Enrol button: the platform's directory asked only about someone new,
        the enrolment decided in one transaction."""

        async def attempt(asked: ProfileLookup) -> EnrolResult:
            async def work(session: AsyncSession) -> EnrolResult:
                return await enrol_with_token(
                    session,
                    signer=self.signer,
                    organisation=await self.organisation(session),
                    token=token,
                    account=account,
                    lookup=asked,
                    bootstrap_admins=self.settings.admin_emails,
                    channel=channel,
                )

            return await self.transact(work)

        return await self.with_directory(lookup, attempt)

    async def sign_in(self, account: Account, lookup: ProfileLookup) -> int:
        """A browser sign-in: the account identified as a click would identify it (the
        directory asked only about someone new), and its identity's id for the session."""

        async def attempt(asked: ProfileLookup) -> int:
            async def work(session: AsyncSession) -> int:
                person = await identify(
                    session,
                    await self.organisation(session),
                    account,
                    asked,
                    bootstrap_admins=self.settings.admin_emails,
                )
                return person.identity.id

            return await self.transact(work)

        return await self.with_directory(lookup, attempt)

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
            directory_sync=chat_sync(self, platform.get("admin_destination")),
            can_email=bool(settings.smtp_url),
            **platform,
        )

    async def close(self) -> None:
        await self.engine.dispose()
