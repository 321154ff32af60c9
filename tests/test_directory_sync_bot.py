"""bot.directory_sync: `group sync` from chat starts the sources' sync after the answer and
sends its outcome to the caller privately."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot import directory_sync
from bot.runtime import Runtime
from bot.settings import Settings
from handlers.directory import (
    DirectorySource,
    DirectorySources,
    PersonRecord,
    Snapshot,
    SourceKey,
)
from store.models import GroupSource, OutboxMessage, User


async def test_a_sync_started_from_chat_reports_to_the_caller(db_url):
    settings = Settings(
        _env_file=None,
        DATABASE_URL=db_url,
        ENROLBOT_SECRET_KEY="directory-sync-test-key-0123456789abcdef",
    )
    runtime = Runtime.start(settings)
    try:
        sources = DirectorySources()

        async def scim(run) -> None:
            people = [PersonRecord("e1", "ann@example.com")]
            await run.apply(Snapshot(GroupSource.SCIM, SourceKey("scim", "1"), True, people))

        sources.add(DirectorySource("scim", scim))
        runtime.directory_sources = sources
        start = directory_sync.chat_sync(runtime, "slack:T1:U0BOSS")
        assert start is not None
        assert await start("nowhere") == [
            "There is no directory source called nowhere; there are: scim."
        ]
        assert await start(None) == ["Started syncing scim; I'll tell you here how it went."]
        await asyncio.gather(*directory_sync._RUNNING)
        async with runtime.sessions() as session:
            (notice,) = (await session.execute(select(OutboxMessage))).scalars()
            assert notice.destination == "slack:T1:U0BOSS"
            assert notice.payload["text"] == (
                "Directory sync: scim: 1 person added, 0 deactivated, 0 joined and 0 left groups."
            )
            assert (await session.execute(select(User.email))).scalars().all() == [
                "ann@example.com"
            ]
    finally:
        await runtime.close()
