"""Completions: `complete`, the one place a completion is recorded, whatever reports it (the
API, a completions import, a connector reading a learning platform).

A completion marks the person's enrolment in the item completed, with its time and score. Someone
not enrolled (they started on the platform itself) is enrolled first through
`handlers.enrol.enrol`, the one way in, then completed. A second report of a completed
enrolment changes nothing, so a retried report never completes twice.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import audit, events
from handlers.enrol import current_enrolment, enrol
from store.models import (
    CatalogItem,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    Organisation,
    User,
    utcnow,
)


class CompletionOutcome(enum.StrEnum):
    COMPLETED = "completed"
    ALREADY_COMPLETED = "already_completed"


@dataclass(frozen=True)
class Completion:
    outcome: CompletionOutcome
    enrolment_id: int


async def complete(
    session: AsyncSession,
    *,
    organisation: Organisation,
    user: User,
    item: CatalogItem,
    completed_at: datetime,
    source: EnrolmentSource,
    by: str,
    score: float | None = None,
) -> Completion:
    """Mark `user`'s enrolment in `item` completed at `completed_at` (enrolling them first with
    `source` if they were not); `by` names who reported it, for the audit. The caller commits."""
    now = utcnow()
    statement = (
        update(Enrolment)
        .where(
            # The current period's enrolment (handlers.enrol.current_enrolment).
            Enrolment.id == current_enrolment(user.id, item.id).scalar_subquery(),
            Enrolment.status != EnrolmentStatus.COMPLETED,
        )
        .values(
            status=EnrolmentStatus.COMPLETED,
            completed_at=completed_at,
            score=score,
            updated_at=now,
        )
        .returning(Enrolment.id)
        .execution_options(synchronize_session=False)
    )
    enrolment_id = (await session.execute(statement)).scalar_one_or_none()
    if enrolment_id is None:
        existing = await _enrolment_id(session, user, item)
        if existing is not None:
            return Completion(CompletionOutcome.ALREADY_COMPLETED, existing)
        await enrol(session, organisation=organisation, user=user, item=item, source=source, by=by)
        enrolment_id = (await session.execute(statement)).scalar_one()
    await events.enrolments(session, events.ENROLMENT_COMPLETED, [enrolment_id], now=now)
    await audit.record(
        session,
        organisation_id=organisation.id,
        action="complete.completed",
        actor=by,
        actor_user_id=user.id,
        item_id=item.id,
        completed_at=completed_at.isoformat(),
        **({"score": score} if score is not None else {}),
    )
    return Completion(CompletionOutcome.COMPLETED, enrolment_id)


async def _enrolment_id(session: AsyncSession, user: User, item: CatalogItem) -> int | None:
    return (await session.execute(current_enrolment(user.id, item.id))).scalar_one_or_none()
