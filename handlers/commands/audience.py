"""Whom a command's caller may act on: an admin anyone in the organisation, a manager only
their own direct reports (seed 002's "My Team": portal_user.manager_id), and, where a command
says so, anyone themselves. Commands open to managers are declared with Role.MANAGER
(registry.py); this module is the one place that narrows what they reach."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.commands.context import CommandContext
from store.models import User, UserStatus


async def manages_anyone(session: AsyncSession, user: User | None) -> bool:
    """Whether an active person has an active direct report in the directory."""
    if user is None or user.status is not UserStatus.ACTIVE:
        return False
    reports = exists().where(User.manager_id == user.id, User.status == UserStatus.ACTIVE)
    return bool(await session.scalar(select(reports)))


def is_admin(ctx: CommandContext) -> bool:
    return ctx.role is not None


def reach(ctx: CommandContext) -> ColumnElement[bool]:
    """A condition on portal_user: the people this caller may act on."""
    if is_admin(ctx):
        return true()
    caller = ctx.caller.user
    # coalesced: someone with no manager is no one's report (NOT NULL would be unknown)
    return func.coalesce(User.manager_id, 0) == (caller.id if caller else -1)


def may_act_on(ctx: CommandContext, user: User, *, themselves: bool = False) -> bool:
    """Whether the caller may act on `user` (and on themselves, when `themselves`)."""
    caller = ctx.caller.user
    if is_admin(ctx):
        return True
    if caller is None:
        return False
    if themselves and user.id == caller.id:
        return True
    return ctx.manager and user.manager_id == caller.id
