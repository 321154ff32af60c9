"""A person's status, changed for many people at once: deactivated (enrolments, memberships
and history stay) and reactivated, each change logged with its source."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.directory.changes import Origin, record
from handlers.directory.groups import chunks
from store.batches import plan_each_statement
from store.models import ChangeKind, DirectoryChange, User, UserStatus, utcnow

_USERS = User.__table__


async def deactivate(
    session: AsyncSession,
    organisation_id: int,
    user_ids: list[int],
    origin: Origin,
    now: datetime | None = None,
) -> list[int]:
    """Deactivate these people; their enrolments, memberships and history stay. Those who
    were active."""
    return await _set_status(
        session,
        organisation_id,
        user_ids,
        UserStatus.DEACTIVATED,
        ChangeKind.DEACTIVATED,
        origin,
        now,
    )


async def deactivated_by(
    session: AsyncSession, user_ids: list[int], sources: tuple[str, ...]
) -> list[int]:
    """Those of these people who are deactivated, and whose last deactivation came from one of
    these sources (the directory log says who)."""
    found: list[int] = []
    for part in chunks(user_ids):
        last = (
            select(DirectoryChange.user_id, func.max(DirectoryChange.id).label("id"))
            .where(
                DirectoryChange.user_id.in_(part),
                DirectoryChange.kind == ChangeKind.DEACTIVATED,
            )
            .group_by(DirectoryChange.user_id)
            .subquery()
        )
        rows = await session.execute(
            select(DirectoryChange.user_id)
            .join(last, DirectoryChange.id == last.c.id)
            .join(User, User.id == DirectoryChange.user_id)
            .where(
                DirectoryChange.source.in_(sources),
                User.status == UserStatus.DEACTIVATED,
            )
        )
        found.extend(rows.scalars())
    return found


async def reactivate(
    session: AsyncSession,
    organisation_id: int,
    user_ids: list[int],
    origin: Origin,
    now: datetime | None = None,
) -> list[int]:
    return await _set_status(
        session, organisation_id, user_ids, UserStatus.ACTIVE, ChangeKind.REACTIVATED, origin, now
    )


async def _set_status(
    session: AsyncSession,
    organisation_id: int,
    user_ids: list[int],
    status: UserStatus,
    kind: ChangeKind,
    origin: Origin,
    now: datetime | None,
) -> list[int]:
    now = now or utcnow()
    await plan_each_statement(session)
    changed: list[int] = []
    for part in chunks(sorted(set(user_ids))):
        result = await session.execute(
            update(_USERS)
            .where(
                _USERS.c.organisation_id == organisation_id,
                _USERS.c.id.in_(part),
                _USERS.c.status != status.value,
            )
            .values(status=status)
            .returning(_USERS.c.id)
        )
        changed.extend(result.scalars())
    await record(
        session,
        organisation_id,
        origin,
        [(u, kind, "status", None, status.value, None) for u in changed],
        now,
    )
    return changed
