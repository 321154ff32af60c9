"""The reminders' job: learners' reminders, then managers' weekly summaries, both owed `now`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.reminders.scan import run_scan
from handlers.reminders.team import run_summaries


async def run_all(sessions: async_sessionmaker[AsyncSession], now: datetime) -> list[str]:
    """Queue what is owed now; the lines `enrolbot reminders run` prints."""
    reminded = await run_scan(sessions, now)
    summarised = await run_summaries(sessions, now)
    return [*reminded.describe(), *summarised.describe()]
