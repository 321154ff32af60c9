"""A group's members, changed by user ids in bulk: add, remove, or replace the whole list (the
primitive of every full sync). A group of an attribute's kind (a department kept by name)
changes through the attribute, so person and group agree both ways."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.directory.attributes import apply_attributes
from handlers.directory.changes import Origin
from handlers.directory.groups import chunks, mark_deleted
from handlers.directory.memberships import close_memberships, current_members, open_memberships
from handlers.directory.truth import check_changeable
from store.batches import plan_each_statement
from store.models import ATTRIBUTE_KINDS, Group, User, utcnow


@dataclass
class MemberChange:
    """Who joined and who left, by user id."""

    joined: list[int] = field(default_factory=list)
    left: list[int] = field(default_factory=list)


def _by_attribute(group: Group) -> bool:
    return group.kind in ATTRIBUTE_KINDS and group.source_id is None


async def add_members(
    session: AsyncSession,
    group: Group,
    user_ids: list[int],
    origin: Origin,
    now: datetime | None = None,
) -> MemberChange:
    """Make these people (of the group's organisation) members. OwnedElsewhere when the group
    is kept by another source than `origin`'s."""
    check_changeable(group, origin.source)
    now = now or utcnow()
    await plan_each_statement(session)
    people = await _of_organisation(session, group.organisation_id, user_ids)
    before = before_all = await current_members(session, group.id)
    if _by_attribute(group):
        values = {u: {group.kind.value: group.name} for u in people}
        await apply_attributes(session, group.organisation_id, values, origin, now)
        before = await current_members(session, group.id)  # joined through the attribute
    joined = await open_memberships(
        session, group.organisation_id, group.id, people, origin, now, known_open=before & people
    )
    return MemberChange(joined=sorted(set(joined) | (people - before_all)))


async def remove_members(
    session: AsyncSession,
    group: Group,
    user_ids: list[int],
    origin: Origin,
    now: datetime | None = None,
) -> MemberChange:
    """End these people's membership; a department (company, team, function) kept by name
    also clears the attribute of those whose attribute names it."""
    check_changeable(group, origin.source)
    now = now or utcnow()
    await plan_each_statement(session)
    leaving = set(user_ids) & await current_members(session, group.id)
    if _by_attribute(group):
        clearing = await _with_value(session, group, leaving)
        await apply_attributes(
            session,
            group.organisation_id,
            {u: {group.kind.value: None} for u in clearing},
            origin,
            now,
        )
    await close_memberships(session, group.organisation_id, group.id, leaving, origin, now)
    return MemberChange(left=sorted(leaving))


async def replace_members(
    session: AsyncSession,
    group: Group,
    user_ids: list[int],
    origin: Origin,
    now: datetime | None = None,
) -> MemberChange:
    """Make `user_ids` the group's whole membership: who is missing joins, who is not listed
    leaves, computed as sets in one read of the current members."""
    check_changeable(group, origin.source)
    now = now or utcnow()
    await plan_each_statement(session)
    before = await current_members(session, group.id)
    wanted = await _of_organisation(session, group.organisation_id, user_ids)
    change = MemberChange()
    if wanted - before:
        change.joined = (
            await add_members(session, group, sorted(wanted - before), origin, now)
        ).joined
    if before - wanted:
        change.left = (
            await remove_members(session, group, sorted(before - wanted), origin, now)
        ).left
    return change


async def delete_group(
    session: AsyncSession, group: Group, origin: Origin, now: datetime | None = None
) -> int:
    """End every membership (clearing the attribute of a department kept by name), then mark
    the group deleted; history stays. The number of members it had."""
    check_changeable(group, origin.source)
    now = now or utcnow()
    members = sorted(await current_members(session, group.id))
    await remove_members(session, group, members, origin, now)
    await mark_deleted(session, group, now)
    return len(members)


async def _of_organisation(
    session: AsyncSession, organisation_id: int, user_ids: list[int]
) -> set[int]:
    found: set[int] = set()
    for part in chunks(sorted(set(user_ids))):
        rows = await session.execute(
            select(User.id).where(User.organisation_id == organisation_id, User.id.in_(part))
        )
        found.update(rows.scalars())
    return found


async def _with_value(session: AsyncSession, group: Group, user_ids: set[int]) -> set[int]:
    column = getattr(User, group.kind.value)
    found: set[int] = set()
    for part in chunks(sorted(user_ids)):
        rows = await session.execute(
            select(User.id).where(User.id.in_(part), func.lower(column) == group.name.lower())
        )
        found.update(rows.scalars())
    return found
