"""Who may manage links, notifications and admins.

Super admins come from ENROLBOT_ADMINS (by email) or from `admin add`; standard admins from
`admin add --standard`. Standard admins manage links and alerts; only super admins manage admins.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import AdminGrant, AdminRole, User, UserStatus


async def role_of(
    session: AsyncSession, user: User | None, bootstrap_admins: frozenset[str]
) -> AdminRole | None:
    # Deactivation ends every right at once, ENROLBOT_ADMINS included: the portal is the
    # source of truth for who still works here.
    if user is None or user.status is not UserStatus.ACTIVE:
        return None
    if user.email.lower() in bootstrap_admins:
        return AdminRole.SUPER
    return (
        await session.execute(
            select(AdminGrant.role).where(
                AdminGrant.organisation_id == user.organisation_id, AdminGrant.user_id == user.id
            )
        )
    ).scalar_one_or_none()


async def grant(
    session: AsyncSession, user: User, role: AdminRole, *, granted_by: User | None
) -> AdminRole | None:
    """Give `user` the role; the role they had before, if any."""
    existing = (
        await session.execute(
            select(AdminGrant).where(
                AdminGrant.organisation_id == user.organisation_id, AdminGrant.user_id == user.id
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        before = existing.role
        existing.role = role
        existing.granted_by_user_id = granted_by.id if granted_by else None
        return before
    session.add(
        AdminGrant(
            organisation_id=user.organisation_id,
            user_id=user.id,
            role=role,
            granted_by_user_id=granted_by.id if granted_by else None,
        )
    )
    await session.flush()
    return None


async def revoke(session: AsyncSession, user: User) -> bool:
    result = await session.execute(
        delete(AdminGrant).where(
            AdminGrant.organisation_id == user.organisation_id, AdminGrant.user_id == user.id
        )
    )
    return bool(result.rowcount)


async def listed(session: AsyncSession, organisation_id: int) -> list[tuple[User, AdminRole]]:
    rows = await session.execute(
        select(User, AdminGrant.role)
        .join(AdminGrant, AdminGrant.user_id == User.id)
        .where(AdminGrant.organisation_id == organisation_id)
        .order_by(User.email)
    )
    return [(user, role) for user, role in rows]
