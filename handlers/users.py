"""Portal users: the people who can be enrolled, matched to platform accounts by email."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import csvfile
from store.models import User, UserStatus, UserType

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


async def import_csv(
    session: AsyncSession, organisation_id: int, text: str
) -> csvfile.ImportSummary:
    """Create or update users from rows email,first_name,last_name[,type]; all or nothing."""
    existing = {
        user.email.lower(): user
        for user in (
            await session.execute(select(User).where(User.organisation_id == organisation_id))
        ).scalars()
    }
    summary = csvfile.ImportSummary()
    seen: dict[str, int] = {}
    for line, row in csvfile.rows(text, ["email", "first_name", "last_name"], ["type"]):
        email = normalise_email(row["email"])
        if email is None:
            raise csvfile.FileProblem(line, f"'{row['email']}' is not a valid email address")
        if email in seen:
            raise csvfile.FileProblem(line, f"{email} is already on line {seen[email]}")
        seen[email] = line
        try:
            type_ = UserType((row.get("type") or "staff").lower())
        except ValueError:
            allowed = ", ".join(t.value for t in UserType)
            raise csvfile.FileProblem(
                line, f"type '{row['type']}' is not one of {allowed}"
            ) from None
        first, last = row["first_name"], row["last_name"]
        if len(first) > 100 or len(last) > 100:
            raise csvfile.FileProblem(line, "names can be at most 100 characters")
        user = existing.get(email)
        if user is None:
            session.add(
                User(
                    organisation_id=organisation_id,
                    email=email,
                    first_name=first,
                    last_name=last,
                    type=type_,
                    status=UserStatus.ACTIVE,
                )
            )
            summary.created += 1
        elif (user.first_name, user.last_name, user.type) == (first, last, type_):
            summary.unchanged += 1
        else:
            user.first_name, user.last_name, user.type = first, last, type_
            summary.updated += 1
    if not seen:
        raise csvfile.FileProblem(None, "the file has no rows to import")
    await session.flush()
    return summary
