"""Memberships at the level of rows: open and close them for many people at once, logging each
join and leave. No rules here (see members.py and attributes.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.directory.changes import Origin, record
from handlers.directory.groups import chunks
from store.batches import insert_missing
from store.models import ChangeKind, Membership

_TABLE = Membership.__table__


async def current_members(session: AsyncSession, group_id: int) -> set[int]:
    rows = await session.execute(
        select(Membership.user_id).where(
            Membership.group_id == group_id, Membership.ended_at.is_(None)
        )
    )
    return set(rows.scalars())


async def open_memberships(
    session: AsyncSession,
    organisation_id: int,
    group_id: int,
    user_ids: Iterable[int],
    origin: Origin,
    now: datetime,
    *,
    known_open: set[int] | None = None,
) -> list[int]:
    """Start a membership for each person not already a member; those who joined."""
    wanted = set(user_ids)
    already = known_open if known_open is not None else await _open_among(session, group_id, wanted)
    joining = sorted(wanted - already)
    for part in chunks(joining):
        # A membership that another writer opened meanwhile stays theirs (the open-membership
        # index); its join is logged by them.
        await insert_missing(
            session,
            Membership.__table__,
            ("user_id",),
            [(u,) for u in part],
            {"group_id": group_id, "started_at": now, "source": origin.source},
        )
    await record(
        session,
        organisation_id,
        origin,
        [(u, ChangeKind.JOINED, None, None, None, group_id) for u in joining],
        now,
    )
    return joining


async def open_pairs(
    session: AsyncSession,
    organisation_id: int,
    pairs: list[tuple[int, int]],
    origin: Origin,
    now: datetime,
    *,
    known_open: set[tuple[int, int]] | None = None,
) -> list[tuple[int, int]]:
    """Start a membership for each (group id, user id) not open already, across many groups
    in a few statements (a full sync's first run fills hundreds); those that joined.
    `known_open`, when the caller has just read them, spares reading the open ones again."""
    open_now: set[tuple[int, int]] = set(known_open or ())
    groups = [] if known_open is not None else sorted({g for g, _ in pairs})
    for part in chunks(groups):
        rows = await session.execute(
            select(Membership.group_id, Membership.user_id).where(
                Membership.group_id.in_(part), Membership.ended_at.is_(None)
            )
        )
        open_now.update((g, u) for g, u in rows)
    joining = sorted(set(pairs) - open_now)
    for part in chunks(joining, 5000):
        await insert_missing(
            session,
            _TABLE,
            ("group_id", "user_id"),
            part,
            {"started_at": now, "source": origin.source},
        )
    await record(
        session,
        organisation_id,
        origin,
        [(u, ChangeKind.JOINED, None, None, None, g) for g, u in joining],
        now,
    )
    return joining


async def close_memberships(
    session: AsyncSession,
    organisation_id: int,
    group_id: int,
    user_ids: Iterable[int],
    origin: Origin,
    now: datetime,
) -> list[int]:
    """End the open membership of each of these people; those who left."""
    left: list[int] = []
    for part in chunks(sorted(set(user_ids))):
        result = await session.execute(
            update(_TABLE)
            .where(
                _TABLE.c.group_id == group_id,
                _TABLE.c.ended_at.is_(None),
                _TABLE.c.user_id.in_(part),
            )
            .values(ended_at=now)
            .returning(_TABLE.c.user_id)
        )
        left.extend(result.scalars())
    await record(
        session,
        organisation_id,
        origin,
        [(u, ChangeKind.LEFT, None, None, None, group_id) for u in left],
        now,
    )
    return left


async def _open_among(session: AsyncSession, group_id: int, user_ids: set[int]) -> set[int]:
    found: set[int] = set()
    for part in chunks(sorted(user_ids)):
        rows = await session.execute(
            select(Membership.user_id).where(
                Membership.group_id == group_id,
                Membership.ended_at.is_(None),
                Membership.user_id.in_(part),
            )
        )
        found.update(rows.scalars())
    return found
