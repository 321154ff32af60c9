"""Groups over the API, read only: the directory keeps them (SCIM, Slack, Teams, files)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from handlers.api import schemas
from handlers.api.paging import Listing, page
from handlers.api.people import person_out, scim_managed
from handlers.api.problems import not_found
from store.models import Group, Membership, User

_MEMBERS = (
    select(func.count())
    .where(Membership.group_id == Group.id, Membership.ended_at.is_(None))
    .correlate(Group)
    .scalar_subquery()
    .label("members")
)


def group_out(group: Group, members: int) -> schemas.Group:
    return schemas.Group(
        id=group.id,
        name=group.name,
        kind=group.kind,
        source=group.source,
        source_id=group.source_id,
        members=members,
    )


def _live(listing: Listing) -> Any:
    return select(Group, _MEMBERS).where(
        Group.organisation_id == listing.organisation_id, Group.deleted_at.is_(None)
    )


async def list_groups(listing: Listing, query: schemas.GroupQuery) -> schemas.GroupPage:
    statement = _live(listing)
    filters: dict[str, Any] = {}
    if query.kind is not None:
        statement = statement.where(Group.kind == query.kind)
        filters["kind"] = query.kind.value
    if query.source is not None:
        statement = statement.where(Group.source == query.source)
        filters["source"] = query.source.value
    rows, cursor = await page(
        listing,
        "groups",
        statement,
        id_column=Group.id,
        limit=query.limit,
        cursor=query.cursor,
        filters=filters,
    )
    return schemas.GroupPage(data=[group_out(g, n) for g, n in rows], next_cursor=cursor)


async def get_group(listing: Listing, group_id: int) -> schemas.Group:
    row = (await listing.session.execute(_live(listing).where(Group.id == group_id))).first()
    if row is None:
        raise not_found("group", group_id)
    return group_out(*row)


async def group_members(
    listing: Listing, group_id: int, query: schemas.PageQuery
) -> schemas.PersonPage:
    await get_group(listing, group_id)
    statement = (
        select(User, scim_managed)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.group_id == group_id, Membership.ended_at.is_(None))
    )
    rows, cursor = await page(
        listing,
        f"group-members-{group_id}",
        statement,
        id_column=User.id,
        limit=query.limit,
        cursor=query.cursor,
        filters={},
    )
    return schemas.PersonPage(data=[person_out(u, s) for u, s in rows], next_cursor=cursor)
