"""Groups: found by kind and name (made by hand, from a file, from attributes) or by their
source's stable id (SCIM, Slack, Teams)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.batches import insert_missing
from store.models import Group, GroupKind, GroupSource, Membership, utcnow

NAME_MAX = 200
CHUNK = 1000  # keys per IN (...): well inside both back ends' limits on parameters


def chunks(values: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def clean_name(name: str) -> str:
    """A group's name as kept: spaces trimmed and collapsed."""
    return " ".join(name.split())[:NAME_MAX]


def _live():
    return Group.deleted_at.is_(None)


async def named_groups(
    session: AsyncSession,
    organisation_id: int,
    kind: GroupKind,
    names: Iterable[str],
    *,
    create: GroupSource | None = None,
) -> dict[str, int]:
    """The ids of the groups of `kind` with these names (not kept by a source), by lower-cased
    name; with `create`, the missing ones are made with that source."""
    found = await named_groups_of_kinds(session, organisation_id, {kind: names}, create=create)
    return found[kind]


async def named_groups_of_kinds(
    session: AsyncSession,
    organisation_id: int,
    names: dict[GroupKind, Iterable[str]],
    *,
    create: GroupSource | None = None,
) -> dict[GroupKind, dict[str, int]]:
    """named_groups for several kinds at once, in one lookup (and one more for those made)."""
    wanted = {
        kind: {clean_name(n).lower(): clean_name(n) for n in kind_names if clean_name(n)}
        for kind, kind_names in names.items()
    }
    found = await _named(session, organisation_id, {k: list(w) for k, w in wanted.items()})
    missing = {
        kind: [w[key] for key in w if key not in found[kind]]
        for kind, w in wanted.items()
        if not set(w) <= set(found[kind])
    }
    if not missing or create is None:
        return found
    for kind, kind_names in missing.items():
        await insert_missing(
            session,
            Group.__table__,
            ("name",),
            [(name,) for name in kind_names],
            {
                "organisation_id": organisation_id,
                "kind": kind,
                "source": create,
                "created_at": utcnow(),
            },
        )
    made = await _named(
        session, organisation_id, {k: [n.lower() for n in m] for k, m in missing.items()}
    )
    for kind, ids in made.items():
        found[kind].update(ids)
    return found


async def _named(
    session: AsyncSession, organisation_id: int, keys: dict[GroupKind, list[str]]
) -> dict[GroupKind, dict[str, int]]:
    """Groups kept by name, by kind and lower-cased name: one lookup for all the kinds."""
    found: dict[GroupKind, dict[str, int]] = {kind: {} for kind in keys}
    of_kind = {kind: set(kind_keys) for kind, kind_keys in keys.items()}
    everything = sorted(set().union(*of_kind.values()))
    key = func.lower(Group.name)
    for part in chunks(everything):
        rows = await session.execute(
            select(Group.kind, key, Group.id).where(
                Group.organisation_id == organisation_id,
                Group.kind.in_(list(keys)),
                Group.source_id.is_(None),
                _live(),
                key.in_(part),
            )
        )
        for kind, name, id_ in rows:
            kind = GroupKind(kind)
            if name in of_kind[kind]:
                found[kind][name] = id_
    return found


async def find_group(
    session: AsyncSession, organisation_id: int, name: str, kind: GroupKind | None = None
) -> list[Group]:
    """Live groups called `name` (any case), of `kind` if given: more than one when kinds or
    sources share a name."""
    query = select(Group).where(
        Group.organisation_id == organisation_id,
        func.lower(Group.name) == clean_name(name).lower(),
        _live(),
    )
    if kind is not None:
        query = query.where(Group.kind == kind)
    return list((await session.execute(query.order_by(Group.id))).scalars())


async def source_group(
    session: AsyncSession,
    organisation_id: int,
    source: GroupSource,
    source_id: str,
    name: str,
    kind: GroupKind = GroupKind.GROUP,
) -> Group:
    """The group a source keeps under `source_id`, made if new; renamed when the source's name
    for it changed (the stable id, not the name, says which group it is)."""
    query = select(Group).where(
        Group.organisation_id == organisation_id,
        Group.source == source,
        Group.source_id == source_id,
        _live(),
    )
    group = (await session.execute(query)).scalar_one_or_none()
    if group is None:
        await insert_missing(
            session,
            Group.__table__,
            ("name", "source_id"),
            [(clean_name(name) or source_id, source_id)],
            {
                "organisation_id": organisation_id,
                "kind": kind,
                "source": source,
                "created_at": utcnow(),
            },
        )
        group = (await session.execute(query)).scalar_one()
    elif clean_name(name) and group.name != clean_name(name):
        group.name = clean_name(name)
    return group


async def source_groups(
    session: AsyncSession, organisation_id: int, source: GroupSource
) -> list[Group]:
    """Every live group a source keeps."""
    rows = await session.execute(
        select(Group)
        .where(Group.organisation_id == organisation_id, Group.source == source, _live())
        .order_by(Group.id)
    )
    return list(rows.scalars())


async def listed(
    session: AsyncSession, organisation_id: int, kind: GroupKind | None = None
) -> list[tuple[Group, int]]:
    """Live groups with their count of current members, by kind and name."""
    members = (
        select(Membership.group_id, func.count().label("n"))
        .where(Membership.ended_at.is_(None))
        .group_by(Membership.group_id)
        .subquery()
    )
    query = (
        select(Group, func.coalesce(members.c.n, 0))
        .outerjoin(members, members.c.group_id == Group.id)
        .where(Group.organisation_id == organisation_id, _live())
        .order_by(Group.kind, func.lower(Group.name), Group.id)
    )
    if kind is not None:
        query = query.where(Group.kind == kind)
    return [(g, n) for g, n in await session.execute(query)]


async def mark_deleted(session: AsyncSession, group: Group, now: datetime) -> None:
    await session.execute(update(Group).where(Group.id == group.id).values(deleted_at=now))
    group.deleted_at = now
