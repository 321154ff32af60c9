"""Which completions to read from Moodle next, and the connector's figures for `enrolbot moodle
status`.

The poll reads open enrolments in mapped items of organisations with a site, a bounded number
per run, those never read first, then the longest unread: so every enrolment is read in turn,
however many there are, and a run's cost stays fixed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.moodle.site import KIND, UNENROL
from store.models import (
    CatalogItem,
    Enrolment,
    EnrolmentStatus,
    MoodleCheck,
    MoodleSite,
    OutboxMessage,
    OutboxStatus,
    User,
    UserStatus,
)


@dataclass(frozen=True)
class Due:
    enrolment_id: int
    organisation_id: int
    user_id: int
    email: str
    item_id: int
    course_id: int


async def due(session: AsyncSession, limit: int, now: datetime) -> list[Due]:
    """Up to `limit` open enrolments to read, the never-read and longest-unread first."""
    rows = await session.execute(
        select(
            Enrolment.id,
            CatalogItem.organisation_id,
            Enrolment.user_id,
            User.email,
            Enrolment.item_id,
            CatalogItem.moodle_course_id,
        )
        .join(CatalogItem, CatalogItem.id == Enrolment.item_id)
        .join(MoodleSite, MoodleSite.organisation_id == CatalogItem.organisation_id)
        .join(User, User.id == Enrolment.user_id)
        .outerjoin(MoodleCheck, MoodleCheck.enrolment_id == Enrolment.id)
        .where(
            Enrolment.status == EnrolmentStatus.ENROLLED,
            CatalogItem.moodle_course_id.is_not(None),
            User.status == UserStatus.ACTIVE,
            or_(Enrolment.visible_from.is_(None), Enrolment.visible_from <= now),
        )
        .order_by(MoodleCheck.checked_at.is_not(None), MoodleCheck.checked_at, Enrolment.id)
        .limit(limit)
    )
    return [Due(*row) for row in rows]


async def mark(session: AsyncSession, enrolment_ids: Sequence[int], now: datetime) -> None:
    """Record that these enrolments were read now (set-based; the poll's lease keeps it to
    one writer)."""
    ids = sorted(set(enrolment_ids))
    if not ids:
        return
    await session.execute(delete(MoodleCheck).where(MoodleCheck.enrolment_id.in_(ids)))
    await session.execute(
        insert(MoodleCheck), [{"enrolment_id": i, "checked_at": now} for i in ids]
    )


@dataclass(frozen=True)
class Status:
    site: str | None
    mapped_items: int
    mapped_courses: int
    pending: int
    failed: int
    sent: int
    # (email, course id with "(unenrol)" after a withdrawal's, last error) of pending pushes
    problems: list[tuple[str, str, str]]


async def status(session: AsyncSession, organisation_id: int) -> Status:
    site = await session.get(MoodleSite, organisation_id)
    mapped = (
        await session.execute(
            select(
                func.count(CatalogItem.id), func.count(func.distinct(CatalogItem.moodle_course_id))
            ).where(
                CatalogItem.organisation_id == organisation_id,
                CatalogItem.moodle_course_id.is_not(None),
            )
        )
    ).one()
    counts = dict(
        (
            await session.execute(
                select(OutboxMessage.status, func.count())
                .where(OutboxMessage.organisation_id == organisation_id, OutboxMessage.kind == KIND)
                .group_by(OutboxMessage.status)
            )
        ).all()
    )
    stuck = await session.execute(
        select(OutboxMessage.payload, OutboxMessage.last_error)
        .where(
            OutboxMessage.organisation_id == organisation_id,
            OutboxMessage.kind == KIND,
            OutboxMessage.status != OutboxStatus.SENT,
            OutboxMessage.last_error.is_not(None),
        )
        .order_by(OutboxMessage.id)
        .limit(20)
    )
    return Status(
        site=site.url if site else None,
        mapped_items=mapped[0],
        mapped_courses=mapped[1],
        pending=counts.get(OutboxStatus.PENDING, 0),
        failed=counts.get(OutboxStatus.FAILED, 0),
        sent=counts.get(OutboxStatus.SENT, 0),
        problems=[(str(p.get("email", "")), _course(p), error or "") for p, error in stuck],
    )


def _course(payload: dict) -> str:
    course = str(payload.get("course_id", ""))
    return f"{course} (unenrol)" if payload.get("action") == UNENROL else course
