"""A person's attributes, changed for many people at once: each change logged, and company,
department, team and function kept equal to the person's membership of the group of that kind
(setting department to Sales ends their previous department membership and starts Sales)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.directory.changes import Origin, record
from handlers.directory.groups import chunks, clean_name, named_groups_of_kinds
from handlers.directory.memberships import close_memberships, open_pairs
from store.batches import plan_each_statement, update_rows
from store.models import (
    ATTRIBUTE_KINDS,
    ChangeKind,
    Group,
    GroupKind,
    GroupSource,
    Membership,
    User,
)

# The attributes a source may set, as portal_user columns.
FIELDS = (
    "first_name",
    "last_name",
    "company",
    "department",
    "team",
    "function",
    "language",
    "manager_id",
    "hire_date",
    "employee_number",
)
_LIMITS = {"first_name": 100, "last_name": 100, "language": 35, "employee_number": 64}
_NOT_NULL = {"first_name", "last_name"}
_TABLE = User.__table__


def normalised(field: str, value: Any) -> Any:
    """A value as the column keeps it: text trimmed and cut to size, "" as none."""
    if field not in FIELDS:
        raise ValueError(f"{field} is not a person's attribute")
    if field == "hire_date":
        return _date(value)
    if field == "manager_id":
        if value is not None and not isinstance(value, int):
            raise ValueError(f"manager_id must be a user id, not {value!r}")
        return value
    text = clean_name(str(value)) if value is not None else ""
    text = text[: _LIMITS.get(field, 200)]
    return text if text or field in _NOT_NULL else None


def _date(value: Any) -> date | None:
    """A date, from a date, a datetime or ISO text (`2024-03-01`, `2024-03-01T00:00:00Z`);
    empty text is none. ValueError for anything else."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    text = str(value).strip()
    return date.fromisoformat(text[:10]) if text else None


async def apply_attributes(
    session: AsyncSession,
    organisation_id: int,
    values: dict[int, dict[str, Any]],
    origin: Origin,
    now: datetime,
    *,
    made: dict[int, dict[str, Any]] | None = None,
    changed: set[int] | None = None,
) -> int:
    """Set each person's (by user id) given attributes; only what differs is written and
    logged. The number of attribute changes. `made`: people this transaction has just made,
    with all their FIELDS as made, so neither read again nor looked for in groups. `changed`,
    when given, gets the ids of the people whose attributes changed."""
    await plan_each_statement(session)
    fields = sorted({f for attrs in values for f in values[attrs]})
    if not values or not fields:
        return 0
    made = made or {}
    wanted = {u: {f: normalised(f, v) for f, v in a.items()} for u, a in values.items()}
    rest = [u for u in wanted if u not in made]
    before = {u: made[u] for u in wanted if u in made}
    before |= await _current(session, organisation_id, rest, fields)
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    log = []
    moved: dict[str, dict[int, str | None]] = defaultdict(dict)
    for user_id, attrs in wanted.items():
        now_values = before.get(user_id)
        if now_values is None:
            continue  # not a person of this organisation
        diff = {f: v for f, v in attrs.items() if now_values[f] != v}
        if not diff:
            continue
        by_columns[tuple(sorted(diff))].append({"id": user_id, **diff})
        if changed is not None:
            changed.add(user_id)
        for f, v in diff.items():
            log.append((user_id, ChangeKind.ATTRIBUTE, f, now_values[f], v, None))
            if f in ATTRIBUTE_KINDS:
                moved[f][user_id] = v
    for rows in by_columns.values():
        await _update(session, rows)
    await record(session, organisation_id, origin, log, now)
    kinds = {GroupKind(field): people for field, people in moved.items()}
    await follow_attributes(session, organisation_id, kinds, origin, now, new=set(made))
    return len(log)


async def _current(
    session: AsyncSession, organisation_id: int, user_ids: list[int], fields: list[str]
) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    columns = [_TABLE.c[f] for f in fields]
    for part in chunks(user_ids):
        rows = await session.execute(
            select(_TABLE.c.id, *columns).where(
                _TABLE.c.organisation_id == organisation_id, _TABLE.c.id.in_(part)
            )
        )
        for row in rows:
            found[row[0]] = dict(zip(fields, row[1:], strict=True))
    return found


async def _update(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """One set-based UPDATE for rows that all change the same columns."""
    names = tuple(k for k in rows[0] if k != "id")
    await update_rows(session, _TABLE, names, [(r["id"], *(r[n] for n in names)) for r in rows])


async def follow_attributes(
    session: AsyncSession,
    organisation_id: int,
    kinds: dict[GroupKind, dict[int, str | None]],
    origin: Origin,
    now: datetime,
    *,
    new: set[int] | None = None,
) -> None:
    """For each kind, make each person a member of the group of that kind named as their new
    value (made if new), and of no other group of that kind kept by name. All the kinds in a
    few statements: a batch of new people sets company, department and function at once.
    `new`: people made in this transaction, who are in no group yet."""
    kinds = {kind: people for kind, people in kinds.items() if people}
    if not kinds:
        return
    groups = await named_groups_of_kinds(
        session,
        organisation_id,
        {kind: {v for v in people.values() if v} for kind, people in kinds.items()},
        create=GroupSource.ATTRIBUTE,
    )
    target = {
        (kind, u): groups[kind].get(v.lower()) if v else None
        for kind, people in kinds.items()
        for u, v in people.items()
    }
    current = await _kept_by_name(
        session,
        organisation_id,
        {
            k: {u: v for u, v in people.items() if u not in (new or ())}
            for k, people in kinds.items()
        },
    )
    for (kind, group_id), members in current.items():
        leaving = {u for u in members if target[kind, u] != group_id}
        await close_memberships(session, organisation_id, group_id, leaving, origin, now)
    # All the joins in one insert and one log write, whatever the number of groups and kinds
    # (a batch of new people lands in as many department groups as it has departments).
    pairs = [(g, u) for (_, u), g in target.items() if g is not None]
    known = {(g, u) for (_, g), members in current.items() for u in members}
    await open_pairs(session, organisation_id, pairs, origin, now, known_open=known)


async def _kept_by_name(
    session: AsyncSession, organisation_id: int, kinds: dict[GroupKind, dict[int, str | None]]
) -> dict[tuple[GroupKind, int], set[int]]:
    """The open memberships of these people in groups of each kind kept by name: the members
    among that kind's people, by (kind, group id)."""
    current: dict[tuple[GroupKind, int], set[int]] = defaultdict(set)
    everyone = sorted({u for people in kinds.values() for u in people})
    for part in chunks(everyone):
        rows = await session.execute(
            select(Group.kind, Membership.group_id, Membership.user_id)
            .join(Group, Group.id == Membership.group_id)
            .where(
                Group.organisation_id == organisation_id,
                Group.kind.in_(list(kinds)),
                Group.source_id.is_(None),
                Membership.ended_at.is_(None),
                Membership.user_id.in_(part),
            )
        )
        for kind, group_id, user_id in rows:
            if user_id in kinds[GroupKind(kind)]:
                current[GroupKind(kind), group_id].add(user_id)
    return current
