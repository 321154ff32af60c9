"""The audit trail: who did what, when, and through which link."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from store.models import AuditEvent


def record(
    session: AsyncSession,
    *,
    organisation_id: int,
    action: str,
    actor: str,
    actor_user_id: int | None = None,
    item_id: int | None = None,
    link_id: int | None = None,
    **detail: Any,
) -> None:
    """Add an audit row to the session's transaction, so it stands or falls with the change."""
    session.add(
        AuditEvent(
            organisation_id=organisation_id,
            action=action,
            actor=actor,
            actor_user_id=actor_user_id,
            item_id=item_id,
            link_id=link_id,
            detail=detail or None,
        )
    )
