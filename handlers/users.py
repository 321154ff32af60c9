"""Portal users: the people who can be enrolled, matched to platform accounts by email."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import User

# Syntax only: the platforms vouch for their addresses, and internal domains (.local, .corp)
# must match too, so no list of "real" domains applies.
_EMAIL = re.compile(r"^[^@\s<>\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")


def normalise_email(value: str) -> str | None:
    """The address in the form it is compared in (emails compare without case), or None if it is
    not an email address."""
    value = value.strip()
    return value.lower() if len(value) <= 320 and _EMAIL.match(value) else None


async def find_by_email(session: AsyncSession, organisation_id: int, email: str) -> User | None:
    return (
        await session.execute(
            select(User).where(
                User.organisation_id == organisation_id, func.lower(User.email) == email.lower()
            )
        )
    ).scalar_one_or_none()
