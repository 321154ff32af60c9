"""People's Moodle accounts: the Moodle user id found by email once, kept as an `Identity` of
provider "moodle" for the site (tenant: its host and path), so each person is looked up once
per site."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.moodle.site import PROVIDER
from store.models import Identity
from store.upsert import insert_ignoring_conflict


async def known(session: AsyncSession, site: str, user_ids: list[int]) -> dict[int, int]:
    """portal user id -> Moodle user id, for those already looked up on this site."""
    if not user_ids:
        return {}
    rows = await session.execute(
        select(Identity.user_id, Identity.subject).where(
            Identity.provider == PROVIDER,
            Identity.tenant_key == site,
            Identity.user_id.in_(user_ids),
        )
    )
    return {user_id: int(subject) for user_id, subject in rows if subject.isdigit()}


async def remember(
    session: AsyncSession, site: str, user_id: int, moodle_id: int, email: str
) -> None:
    values = {
        "provider": PROVIDER,
        "tenant_key": site,
        "subject": str(moodle_id),
        "user_id": user_id,
        "email": email.lower(),
    }
    await insert_ignoring_conflict(session, Identity, values)
