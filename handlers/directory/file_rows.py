"""The directory's columns in import files (users import, groups import): read from text,
checked, and written through handlers.directory with the source `file`."""

from __future__ import annotations

import difflib
import re
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.csvfile import RowProblem
from handlers.directory.changes import Origin
from handlers.directory.groups import NAME_MAX, chunks, clean_name, named_groups
from handlers.directory.members import add_members
from handlers.directory.truth import where_kept
from handlers.users import normalise_email
from store.models import EXTERNAL_SOURCES, Group, GroupKind, GroupSource

GROUP_SEPARATOR = ";"
KIND_SEPARATOR = ":"
TEXT_COLUMNS = ("company", "department", "team", "function")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
KINDS = ", ".join(k.value for k in GroupKind)

GroupKey = tuple[str, str]  # (kind, name)


def text_value(column: str, value: str) -> str | None:
    value = clean_name(value)
    if len(value) > NAME_MAX:
        raise RowProblem(f"{column} can be at most {NAME_MAX} characters")
    return value or None


def hire_date(value: str) -> date | None:
    """A date as YYYY-MM-DD (a spreadsheet's date cell reads so, with a time after it)."""
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10] if "T" in value else value)
    except ValueError:
        raise RowProblem(f"hire_date '{value}' is not a date as YYYY-MM-DD") from None


def language(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if not _LANGUAGE.match(value):
        raise RowProblem(f"language '{value}' is not a language tag such as en or en-GB")
    return value


def manager_email(value: str, own: str) -> str | None:
    if not value.strip():
        return None
    email = normalise_email(value)
    if email is None:
        raise RowProblem(f"manager_email '{value}' is not a valid email address")
    if email == own:
        raise RowProblem("a person can't be their own manager")
    return email


def kind_of(value: str) -> GroupKind:
    try:
        return GroupKind((value.strip() or "group").lower())
    except ValueError:
        raise RowProblem(f"kind '{value}' is not one of {KINDS}") from None


def group_list(value: str) -> tuple[GroupKey, ...]:
    """`Mentors; qualification:First aid`: groups separated by ;, each NAME (a group) or
    KIND:NAME. What comes before a colon must be a kind, so a mistyped one is not taken for
    part of a name; a name with a colon of its own is written `group:NAME`."""
    found: list[GroupKey] = []
    for part in value.split(GROUP_SEPARATOR):
        if not part.strip():
            continue
        head, sep, rest = part.partition(KIND_SEPARATOR)
        if sep:
            kind, name = _kind_before_colon(head, rest), rest
        else:
            kind, name = GroupKind.GROUP, part
        name = text_value("a group's name", name)
        if name is None:
            raise RowProblem(f"'{part.strip()}' names no group")
        found.append((kind.value, name))
    return tuple(found)


_KIND_WORDS = [k.value for k in GroupKind]


def _kind_before_colon(head: str, rest: str) -> GroupKind:
    word = head.strip().lower()
    if word in _KIND_WORDS:
        return GroupKind(word)
    close = difflib.get_close_matches(word, _KIND_WORDS, n=1, cutoff=0.6)
    entry = f"{head.strip()}{KIND_SEPARATOR}{rest.strip()}"
    if close:
        raise RowProblem(
            f"'{entry[:80]}': '{head.strip()[:40]}' is not a kind of group; did you mean "
            f"{close[0]}:{rest.strip()[:80]}?"
        )
    raise RowProblem(
        f"'{entry[:80]}': '{head.strip()[:40]}' is not a kind of group ({KINDS}); a name with "
        "a colon in it is written group:NAME"
    )


async def owned_elsewhere(
    session: AsyncSession, organisation_id: int, keys: set[GroupKey]
) -> dict[GroupKey, str]:
    """Of these (kind, name)s, those that only another source may change, with the sentence."""
    found: dict[GroupKey, str] = {}
    by_key = {(k, n.lower()): (k, n) for k, n in keys}
    for part in chunks(sorted({n for _, n in by_key})):
        rows = await session.execute(
            select(Group).where(
                Group.organisation_id == organisation_id,
                Group.deleted_at.is_(None),
                Group.source.in_(list(EXTERNAL_SOURCES)),
                func.lower(Group.name).in_(part),
            )
        )
        for group in rows.scalars():
            key = by_key.get((group.kind.value, group.name.lower()))
            if key is not None:
                found[key] = (
                    f"the {group.kind.value} {group.name} is kept by {where_kept(group)}: "
                    "change its members there"
                )
    return found


async def join_groups(
    session: AsyncSession,
    organisation_id: int,
    memberships: list[tuple[GroupKey, int]],
    origin: Origin,
) -> list[int]:
    """Add each (group, user id), making missing groups with the source `file`; the user id of
    each membership that began (once per group joined)."""
    by_group: dict[GroupKey, list[int]] = {}
    shown: dict[GroupKey, str] = {}
    for (kind, name), user_id in memberships:
        by_group.setdefault((kind, name.lower()), []).append(user_id)
        shown.setdefault((kind, name.lower()), name)
    joined: list[int] = []
    for kind in sorted({k for k, _ in by_group}):
        names = [shown[key] for key in by_group if key[0] == kind]
        ids = await named_groups(
            session, organisation_id, GroupKind(kind), names, create=GroupSource.FILE
        )
        for name, group_id in ids.items():
            group = await session.get(Group, group_id)
            assert group is not None
            change = await add_members(session, group, by_group[(kind, name)], origin)
            joined += change.joined
    return joined
