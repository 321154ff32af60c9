"""person show: what the directory knows of someone, and where each piece came from."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.commands.context import CommandContext
from handlers.commands.groups import source_words
from handlers.commands.persons import person_named
from handlers.commands.registry import Args, Role, command, noun
from handlers.replies import Notice, echo
from store.models import ChangeKind, DirectoryChange, Group, Identity, Membership, User

SHOWN_GROUPS = 20
_SHOWN = ("company", "department", "team", "function", "language", "hire_date", "employee_number")

noun(
    "person",
    aliases=("people",),
    missing="`person` needs {verbs}: {help} shows how.",
    unknown="I don't know `person {word}`; use {verbs}.",
)


@command(
    "person show",
    "EMAIL|@person",
    "someone's attributes and groups, and where each came from",
    role=Role.ADMIN,
    doing="look people up",
    examples=("person show ann@example.com", "person show @ann"),
    least=1,
    needs="who",
    most=1,
)
async def show(ctx: CommandContext, args: Args) -> Notice:
    user = await person_named(ctx, args.words[0], cannot="isn't known")
    await ctx.session.refresh(user)  # the directory writes rows with SQL, past loaded objects
    origins = await _origins(ctx.session, user.id)
    lines = [f"Status: {user.status.value}" + _from(origins.get("status"))]
    for field in _SHOWN:
        value = getattr(user, field)
        if value is not None:
            label = field.replace("_", " ").capitalize()
            lines.append(f"{label}: {echo(str(value))}{_from(origins.get(field))}")
    if user.manager_id is not None:
        manager = await ctx.session.get(User, user.manager_id)
        if manager is not None:
            lines.append(f"Manager: {manager.email}{_from(origins.get('manager_id'))}")
    if user.first_known_at is not None:
        lines.append(f"Known since: {user.first_known_at.date().isoformat()}")
    lines += await _identities(ctx.session, user.id)
    lines += await _groups(ctx.session, user.id)
    return Notice(
        f"{echo(user.full_name)} ({user.email}):", lines=tuple(lines), heading=echo(user.full_name)
    )


def _from(origin: tuple[str, object] | None) -> str:
    if origin is None:
        return ""
    source, at = origin
    return f" · from {echo(str(source))}, since {at.date().isoformat()}"  # type: ignore[attr-defined]


async def _origins(session: AsyncSession, user_id: int) -> dict[str, tuple[str, object]]:
    """Each attribute's latest change: its source and time."""
    latest = (
        select(DirectoryChange.field, func.max(DirectoryChange.id).label("id"))
        .where(
            DirectoryChange.user_id == user_id,
            DirectoryChange.kind.in_(
                [ChangeKind.ATTRIBUTE, ChangeKind.DEACTIVATED, ChangeKind.REACTIVATED]
            ),
        )
        .group_by(DirectoryChange.field)
        .subquery()
    )
    rows = await session.execute(
        select(DirectoryChange.field, DirectoryChange.source, DirectoryChange.at).join(
            latest, latest.c.id == DirectoryChange.id
        )
    )
    return {field: (source, at) for field, source, at in rows if field}


async def _identities(session: AsyncSession, user_id: int) -> list[str]:
    rows = await session.execute(
        select(Identity.provider)
        .where(Identity.user_id == user_id)
        .distinct()
        .order_by(Identity.provider)
    )
    providers = list(rows.scalars())
    return [f"Known to: {', '.join(providers)}"] if providers else []


async def _groups(session: AsyncSession, user_id: int) -> list[str]:
    rows = await session.execute(
        select(Group, Membership.started_at, Membership.source)
        .join(Membership, Membership.group_id == Group.id)
        .where(
            Membership.user_id == user_id, Membership.ended_at.is_(None), Group.deleted_at.is_(None)
        )
        .order_by(Group.kind, Group.name)
    )
    found = list(rows)
    if not found:
        return ["Groups: none"]
    lines = [
        f"In {echo(g.name)} ({g.kind.value}, {source_words(g.source)}) since "
        f"{started.date().isoformat()}, added by {echo(source)}"
        for g, started, source in found[:SHOWN_GROUPS]
    ]
    if len(found) > SHOWN_GROUPS:
        lines.append(f"… and {len(found) - SHOWN_GROUPS} more groups")
    return lines
