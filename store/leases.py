"""Job leases: which worker runs a scheduled job now (see store.models.JobLease).

Each function is one short transaction of its own. Taking a lease is a conditional UPDATE that
only one worker can win: PostgreSQL makes a second UPDATE of the row wait for the first to
commit and then re-check its WHERE clause; SQLite lets one writer in at a time.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.models import JobLease
from store.upsert import insert_ignoring_conflict


async def take(
    sessions: async_sessionmaker[AsyncSession],
    name: str,
    owner: str,
    now: datetime,
    until: datetime,
) -> bool:
    """Whether `owner` now holds the job until `until`: nobody held it, or the holder's lease
    ran out (it died, or hung past its lease)."""
    async with sessions() as session, session.begin():
        await insert_ignoring_conflict(session, JobLease, {"name": name})
        taken = await session.execute(
            update(JobLease)
            .where(
                JobLease.name == name,
                JobLease.lease_until.is_(None) | (JobLease.lease_until < now),
            )
            .values(owner=owner, lease_until=until, last_started_at=now)
        )
        return taken.rowcount == 1


async def renew(
    sessions: async_sessionmaker[AsyncSession], name: str, owner: str, until: datetime
) -> bool:
    """Extend a lease still held; False when another worker has taken the job over."""
    async with sessions() as session, session.begin():
        renewed = await session.execute(
            update(JobLease)
            .where(JobLease.name == name, JobLease.owner == owner)
            .values(lease_until=until)
        )
        return renewed.rowcount == 1


async def release(
    sessions: async_sessionmaker[AsyncSession], name: str, owner: str, now: datetime
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            update(JobLease)
            .where(JobLease.name == name, JobLease.owner == owner)
            .values(owner=None, lease_until=None, last_finished_at=now)
        )
