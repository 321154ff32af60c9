"""The audit trail: who did what, when, and through which link."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import AuditEvent, utcnow

# Built once, on the table rather than the mapped class: every click writes one row, and the
# unit of work's bookkeeping for an object nobody reads back cost more than the insert itself.
_INSERT = insert(AuditEvent.__table__)


async def record(
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
    """Write an audit row in the session's transaction, so it stands or falls with the change."""
    await session.execute(
        _INSERT,
        {
            "organisation_id": organisation_id,
            "at": utcnow(),
            "action": action,
            "actor": actor,
            "actor_user_id": actor_user_id,
            "item_id": item_id,
            "link_id": link_id,
            "detail": detail or None,
        },
    )
