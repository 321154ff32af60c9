"""Clicks acknowledged before their enrolment was committed: written down before the
acknowledgement, crossed out once answered, and taken over when their worker's lease runs out
(it died). Platform-neutral: `reply_to` is wherever the platform sends the answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.identity import Account
from store.models import PendingClick, utcnow


@dataclass(frozen=True)
class Click:
    account: Account
    token: str
    reply_to: str
    channel: str | None = None
    home_tenant: str | None = None
    home_org: str | None = None
    received_at: datetime | None = None


async def record(session: AsyncSession, click: Click, owner: str, lease: timedelta) -> int:
    now = utcnow()
    statement = insert(PendingClick).returning(PendingClick.id)
    values = {
        "provider": click.account.provider,
        "tenant_key": click.account.tenant_key,
        "subject": click.account.subject,
        "home_tenant": click.home_tenant,
        "home_org": click.home_org,
        "token": click.token,
        "channel": click.channel,
        "reply_to": click.reply_to,
        "received_at": now,
        "lease_owner": owner,
        "lease_until": now + lease,
    }
    return (await session.execute(statement, values)).scalar_one()


async def forget(session: AsyncSession, ids: list[int]) -> None:
    await session.execute(delete(PendingClick).where(PendingClick.id.in_(ids)))


async def renew(session: AsyncSession, ids: list[int], owner: str, lease: timedelta) -> None:
    await session.execute(
        update(PendingClick)
        .where(PendingClick.id.in_(ids), PendingClick.lease_owner == owner)
        .values(lease_until=utcnow() + lease)
    )


async def take_over(
    session: AsyncSession, provider: str, owner: str, lease: timedelta, *, all_others: bool
) -> list[tuple[int, Click]]:
    """Claim the provider's clicks whose worker's lease ran out (or, with `all_others`, every
    other owner's: a lone worker starting knows their owners are dead)."""
    now = utcnow()
    gone = PendingClick.lease_until < now
    if all_others:
        gone = or_(gone, PendingClick.lease_owner.is_distinct_from(owner))
    rows = await session.execute(
        update(PendingClick)
        .where(PendingClick.provider == provider, gone)
        .values(lease_owner=owner, lease_until=now + lease)
        .returning(PendingClick)
        .execution_options(synchronize_session=False)
    )
    return [
        (
            row.id,
            Click(
                Account(row.provider, row.tenant_key, row.subject),
                row.token,
                row.reply_to,
                row.channel,
                row.home_tenant,
                row.home_org,
                row.received_at,
            ),
        )
        for row in rows.scalars()
    ]


async def record_unless_there(session: AsyncSession, found: list[Click], at: datetime) -> int:
    """Write down clicks found outside the database (bot.journal) with a lease already run out,
    so that the next claim takes them; a click already written down (the same person, button
    and moment) is not written twice. How many were written."""
    subjects = {c.account.subject for c in found}
    there = await session.execute(
        select(
            PendingClick.provider,
            PendingClick.tenant_key,
            PendingClick.subject,
            PendingClick.token,
            PendingClick.received_at,
        ).where(PendingClick.subject.in_(subjects))
    )
    known = {tuple(row) for row in there}
    values = [
        {
            "provider": c.account.provider,
            "tenant_key": c.account.tenant_key,
            "subject": c.account.subject,
            "home_tenant": c.home_tenant,
            "home_org": c.home_org,
            "token": c.token,
            "channel": c.channel,
            "reply_to": c.reply_to,
            "received_at": c.received_at or at,
            "lease_owner": None,
            "lease_until": at,
        }
        for c in found
        if (*_key(c.account), c.token, c.received_at) not in known
    ]
    if values:
        await session.execute(insert(PendingClick), values)
    return len(values)


def _key(account: Account) -> tuple[str, str, str]:
    return account.provider, account.tenant_key, account.subject
