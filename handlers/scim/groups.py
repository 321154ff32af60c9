"""Groups provisioned by SCIM: directory groups of source "scim" and kind group, changed only
by SCIM (handlers.directory.truth). The SCIM `id` is the group's id; its `source_id` is the
identity provider's externalId ("~" and a random id when none is sent)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import directory
from handlers.directory.groups import clean_name
from handlers.scim import query
from handlers.scim.errors import Conflict, InvalidValue, NotFound
from handlers.scim.people import NO_EXTERNAL_ID, ORIGIN, scim_users
from store.models import Group, GroupSource, Membership, User


@dataclass
class GroupView:
    id: int
    display_name: str
    external_id: str | None
    created: datetime
    members: list[tuple[int, str]] | None = None  # (user id, display name); None: not asked


def _as_int(text: str) -> int | None:
    return int(text) if text.isdecimal() and len(text) < 19 else None


ATTRIBUTES = {
    "id": query.Attribute(Group.id, value=_as_int),
    "displayName": query.Attribute(Group.name, case_exact=False),
    "externalId": query.Attribute(Group.source_id),
}


def _live(organisation_id: int):
    return select(Group).where(
        Group.organisation_id == organisation_id,
        Group.source == GroupSource.SCIM,
        Group.deleted_at.is_(None),
    )


async def scim_group(session: AsyncSession, organisation_id: int, group_id: int) -> Group:
    group = (
        await session.execute(_live(organisation_id).where(Group.id == group_id))
    ).scalar_one_or_none()
    if group is None:
        raise NotFound(f"No group has the id {group_id}.")
    return group


async def view(session: AsyncSession, groups: list[Group], members: bool) -> list[GroupView]:
    listed: dict[int, list[tuple[int, str]]] = {g.id: [] for g in groups}
    if members and groups:
        name = func.trim(User.first_name + " " + User.last_name)
        rows = await session.execute(
            select(Membership.group_id, User.id, name, User.email)
            .join(User, User.id == Membership.user_id)
            .where(Membership.group_id.in_(list(listed)), Membership.ended_at.is_(None))
            .order_by(Membership.group_id, User.id)
        )
        for group_id, user_id, full, email in rows:
            listed[group_id].append((user_id, full or email))
    return [
        GroupView(
            id=g.id,
            display_name=g.name,
            external_id=None if (g.source_id or "").startswith(NO_EXTERNAL_ID) else g.source_id,
            created=g.created_at,
            members=listed[g.id] if members else None,
        )
        for g in groups
    ]


async def find_groups(
    session: AsyncSession,
    organisation_id: int,
    filter_text: str | None,
    start: int,
    count: int,
    members: bool,
) -> tuple[int, list[GroupView]]:
    statement = _live(organisation_id)
    if filter_text:
        statement = statement.where(query.condition(filter_text, ATTRIBUTES))
    total = await session.scalar(select(func.count()).select_from(statement.subquery()))
    if count <= 0:
        return total or 0, []
    page = await session.execute(statement.order_by(Group.id).offset(start - 1).limit(count))
    return total or 0, await view(session, list(page.scalars()), members)


async def create_group(
    session: AsyncSession,
    organisation_id: int,
    name: str,
    external_id: str | None,
    member_ids: list[int],
) -> GroupView:
    await _unique(session, organisation_id, name, external_id, None)
    source_id = external_id or f"{NO_EXTERNAL_ID}{uuid.uuid4().hex}"
    group = await directory.source_group(
        session, organisation_id, GroupSource.SCIM, source_id, name
    )
    if member_ids:
        await directory.add_members(
            session, group, await _members(session, group, member_ids), ORIGIN
        )
    return (await view(session, [group], True))[0]


async def rename(
    session: AsyncSession, group: Group, name: str | None, external_id: str | None
) -> None:
    """A new displayName and externalId (None: unchanged)."""
    await _unique(session, group.organisation_id, name, external_id, group.id)
    values = {}
    if name is not None and clean_name(name) != group.name:
        values["name"] = clean_name(name)
    if external_id and external_id != group.source_id:
        values["source_id"] = external_id[:200]
    if values:
        await session.execute(update(Group).where(Group.id == group.id).values(**values))
        for key, value in values.items():
            setattr(group, key, value)


async def change_members(
    session: AsyncSession,
    group: Group,
    *,
    add: list[int] = (),  # type: ignore[assignment]
    remove: list[int] = (),  # type: ignore[assignment]
    replace: list[int] | None = None,
) -> None:
    """Set-based member changes, in this order: the whole list, removals, additions."""
    if replace is not None:
        await directory.replace_members(
            session, group, await _members(session, group, replace), ORIGIN
        )
    if remove:
        await directory.remove_members(session, group, list(remove), ORIGIN)
    if add:
        await directory.add_members(
            session, group, await _members(session, group, list(add)), ORIGIN
        )


async def _members(session: AsyncSession, group: Group, ids: list[int]) -> list[int]:
    """The members, all SCIM users of the organisation; InvalidValue naming any that is not."""
    known = await scim_users(session, group.organisation_id, ids)
    unknown = sorted(set(ids) - known)
    if unknown:
        shown = ", ".join(str(u) for u in unknown[:10])
        raise InvalidValue(f"These members are not users provisioned here: {shown}.")
    return sorted(known)


async def _unique(
    session: AsyncSession,
    organisation_id: int,
    name: str | None,
    external_id: str | None,
    group_id: int | None,
) -> None:
    checks = []
    if name is not None:
        if not clean_name(name):
            raise InvalidValue("A group needs a displayName.")
        checks.append(
            (func.lower(Group.name) == clean_name(name).lower(), f"A group {name} already exists.")
        )
    if external_id:
        checks.append(
            (
                Group.source_id == external_id,
                f"The externalId {external_id} is already provisioned.",
            )
        )
    for condition, sentence in checks:
        statement = _live(organisation_id).where(condition)
        if group_id is not None:
            statement = statement.where(Group.id != group_id)
        if (await session.execute(statement.limit(1))).first() is not None:
            raise Conflict(sentence)
