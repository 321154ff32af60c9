"""The audit trail: who did what, when, and through which link."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.batches import insert_missing
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


async def record_many(
    session: AsyncSession,
    *,
    organisation_id: int,
    action: str,
    actor: str,
    actor_user_ids: list[int],
    item_id: int | None = None,
    **detail: Any,
) -> None:
    """One audit row per person in `actor_user_ids` (the same action, actor and detail), in one
    set-based insert: a rule that enrols 100,000 people audits each of them."""
    if not actor_user_ids:
        return
    await insert_missing(
        session,
        AuditEvent.__table__,
        ("actor_user_id",),
        [(user_id,) for user_id in actor_user_ids],
        {
            "organisation_id": organisation_id,
            "at": utcnow(),
            "action": action,
            "actor": actor,
            "item_id": item_id,
            "detail": detail or None,
        },
    )
