"""Organisations. A single-workspace install serves one, created on first use."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import Organisation

DEFAULT_NAME = "Default organisation"


async def existing_organisation(session: AsyncSession) -> Organisation | None:
    return (await session.execute(select(Organisation).order_by(Organisation.id).limit(1))).scalar()


async def default_organisation(session: AsyncSession) -> Organisation:
    org = await existing_organisation(session)
    if org is None:
        org = Organisation(name=DEFAULT_NAME, sso_auto_provision=False)
        session.add(org)
        await session.flush()
    return org
