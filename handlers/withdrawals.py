"""Withdrawing an enrolment: the one place it happens, whoever asks (the API, an admin, a rule).

A withdrawn enrolment keeps its row, its history and any progress (one made ahead and
withdrawn before its day stays hidden: nobody is told of it); enrolling the person again
(`handlers.enrol.enrol`) makes it current again. A completed enrolment is not withdrawn: the
person did the learning, and the record says so.
"""

from __future__ import annotations

import enum

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import audit, events
from handlers.rules import messages
from store.models import Enrolment, EnrolmentStatus, utcnow


class WithdrawOutcome(enum.StrEnum):
    WITHDRAWN = "withdrawn"
    ALREADY_WITHDRAWN = "already_withdrawn"
    COMPLETED = "completed"  # refused: a completion stands


async def withdraw(
    session: AsyncSession,
    *,
    organisation_id: int,
    enrolment: Enrolment,
    by: str,
    by_user_id: int | None = None,
    reason: str | None = None,
) -> WithdrawOutcome:
    """Withdraw `enrolment` (read in this session); the caller commits."""
    if enrolment.status == EnrolmentStatus.COMPLETED:
        return WithdrawOutcome.COMPLETED
    now = utcnow()
    hidden = enrolment.visible_from is not None and enrolment.visible_from > now
    changed = (
        await session.execute(
            update(Enrolment)
            .where(Enrolment.id == enrolment.id, Enrolment.status == EnrolmentStatus.ENROLLED)
            .values(status=EnrolmentStatus.WITHDRAWN, withdrawn_at=now, updated_at=now)
            .returning(Enrolment.id)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()
    if changed is None:
        await session.refresh(enrolment)
        if enrolment.status == EnrolmentStatus.COMPLETED:
            return WithdrawOutcome.COMPLETED
        return WithdrawOutcome.ALREADY_WITHDRAWN
    await events.enrolments(session, events.ENROLMENT_WITHDRAWN, [changed], now=now)
    if hidden:  # made ahead and never shown: the learner is not told of it on its day either
        await messages.unsay(session, [changed])
    await audit.record(
        session,
        organisation_id=organisation_id,
        action="enrol.withdrawn",
        actor=by,
        actor_user_id=by_user_id,
        item_id=enrolment.item_id,
        user_id=enrolment.user_id,
        **({"reason": reason} if reason else {}),
    )
    await session.refresh(enrolment)
    return WithdrawOutcome.WITHDRAWN
