"""A linked group (a Slack user group or channel, a Teams team) stops following its source, and
is taken back when the same source is linked again.

Unlinking keeps the members. Ending their memberships would read to automatic enrolment as
everyone leaving, and a rule with --withdraw-on-leave would withdraw them all: an admin who
only meant to stop following a channel would lose everyone's required training. So the group
becomes one kept by hand (files and chat commands change it from then on), remembering where it
came from; linking that source again makes it the source's group once more, and the link's
first sync reconciles its members with the source's, as for a new link.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.directory.groups import NAME_MAX, clean_name, source_group
from handlers.directory.memberships import current_members
from store.models import Group, GroupSource

# A name a group kept by hand already has gets this mark, then a number.
UNLINKED_MARK = "unlinked"


@dataclass(frozen=True)
class Unlinked:
    """A group that stopped following its source: its name now, and the members it kept."""

    group_id: int
    name: str
    source: GroupSource
    members: int


async def unlink_group(session: AsyncSession, group: Group) -> Unlinked | None:
    """Stop following `group`'s source and keep its members; None if it was not linked (any
    more: another event unlinked it first), so that only one caller tells anyone."""
    if group.source_id is None or group.deleted_at is not None:
        return None
    source, source_id = group.source, group.source_id
    name = await _free_name(session, group)
    result = await session.execute(
        update(Group)
        .where(
            Group.id == group.id,
            Group.source == source,
            Group.source_id == source_id,
            Group.deleted_at.is_(None),
        )
        .values(
            source=GroupSource.MANUAL,
            source_id=None,
            unlinked_source=source.value,
            unlinked_source_id=source_id,
            name=name,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    group.source, group.source_id, group.name = GroupSource.MANUAL, None, name
    group.unlinked_source, group.unlinked_source_id = source.value, source_id
    members = len(await current_members(session, group.id))
    return Unlinked(group.id, name, source, members)


async def link_group(
    session: AsyncSession,
    organisation_id: int,
    source: GroupSource,
    source_id: str,
    name: str,
) -> tuple[Group, bool]:
    """The source's group, for a link: the live one, else the group once unlinked from the same
    source (taken back, renamed as the source names it), else a new one. True when taken back."""
    live = await session.scalar(
        select(Group.id).where(
            Group.organisation_id == organisation_id,
            Group.source == source,
            Group.source_id == source_id,
            Group.deleted_at.is_(None),
        )
    )
    former = None
    if live is None:
        former = await session.scalar(
            select(Group)
            .where(
                Group.organisation_id == organisation_id,
                Group.unlinked_source == source.value,
                Group.unlinked_source_id == source_id,
                Group.source_id.is_(None),
                Group.deleted_at.is_(None),
            )
            .order_by(Group.id.desc())
            .limit(1)
        )
    if former is not None:
        former.source, former.source_id = source, source_id
        former.unlinked_source = former.unlinked_source_id = None
        await session.flush()
    group = await source_group(session, organisation_id, source, source_id, name)
    return group, former is not None


async def _free_name(session: AsyncSession, group: Group) -> str:
    """The group's name, unless a group of its kind kept by hand has it already (their names
    are unique): then the name marked as unlinked, numbered if need be."""
    if not await _taken(session, group, group.name):
        return group.name
    for n in range(1, 100):
        suffix = f" ({UNLINKED_MARK})" if n == 1 else f" ({UNLINKED_MARK} {n})"
        candidate = clean_name(group.name[: NAME_MAX - len(suffix)] + suffix)
        if not await _taken(session, group, candidate):
            return candidate
    return clean_name(f"{group.name[: NAME_MAX - 40]} ({UNLINKED_MARK} {group.id})")


async def _taken(session: AsyncSession, group: Group, name: str) -> bool:
    found = await session.scalar(
        select(Group.id).where(
            Group.organisation_id == group.organisation_id,
            Group.kind == group.kind,
            Group.source_id.is_(None),
            Group.deleted_at.is_(None),
            Group.id != group.id,
            func.lower(Group.name) == name.lower(),
        )
    )
    return found is not None
