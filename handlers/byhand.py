"""Enrolling others by hand (`enrol add`, `enrol withdraw`): who the caller named, sorted into
who can be enrolled and who cannot (and why), enrolled through the one way in for many
(`handlers.enrol.enrol_many`, source MANUAL), and each person enrolled told once, naming who
did it, through the learners' outbox rows the rules use (handlers.rules.messages).

Set-based whatever the size of the groups named: the categories are counted and sampled by a
few aggregate queries, and each item is one insert-select.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.enrol import Placement, enrol_many
from handlers.rules.messages import ENROLLED, WITHDRAWN, tell_by_hand
from handlers.withdrawals import WithdrawOutcome, withdraw
from store.models import (
    CatalogItem,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    Membership,
    User,
    UserStatus,
    UserType,
    utcnow,
)

NAMES = 10  # names a summary shows per category; the rest are counted


@dataclass(frozen=True)
class Named:
    """Some people: how many, and the first few names."""

    total: int = 0
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemResult:
    item: CatalogItem
    enrolled: Named
    already: Named
    completed: Named


@dataclass
class Added:
    """What `enrol add` did, for the caller's summary."""

    items: list[ItemResult] = field(default_factory=list)
    people: int = 0  # distinct people enrolled in something (each told once)
    deactivated: Named = Named()
    prospects: Named = Named()
    not_reports: Named = Named()


@dataclass(frozen=True)
class Request:
    """Who and what the caller named, and how the enrolments are placed."""

    organisation_id: int
    user_ids: tuple[int, ...]  # people named by mention or email
    group_ids: tuple[int, ...]
    items: tuple[CatalogItem, ...]
    placement: Placement
    by: str  # the caller's account, for the audit
    by_name: str  # the caller's name, for the learners' messages
    reach: ColumnElement[bool] = field(default_factory=true)  # whom the caller may enrol


def _named(request: Request) -> Select:
    """Every portal user the request names, by itself or through a group."""
    members = select(Membership.user_id).where(
        Membership.group_id.in_(request.group_ids), Membership.ended_at.is_(None)
    )
    return select(User.id).where(
        User.organisation_id == request.organisation_id,
        or_(User.id.in_(request.user_ids), User.id.in_(members)),
    )


async def sample(session: AsyncSession, condition: ColumnElement[bool]) -> Named:
    """How many people match, and the first NAMES names, alphabetically."""
    total = await session.scalar(select(func.count()).select_from(User).where(condition)) or 0
    if not total:
        return Named()
    rows = await session.execute(
        select(User)
        .where(condition)
        .order_by(User.last_name, User.first_name, User.id)
        .limit(NAMES)
    )
    return Named(total, tuple(u.full_name for u in rows.scalars()))


def _latest_status(item_id: int) -> ColumnElement:
    """The status of a person's current (latest) enrolment in the item, NULL when none."""
    return (
        select(Enrolment.status)
        .where(Enrolment.user_id == User.id, Enrolment.item_id == item_id)
        .order_by(Enrolment.period.desc())
        .limit(1)
        .scalar_subquery()
    )


def _open(item_id: int) -> ColumnElement[bool]:
    return (
        select(Enrolment.id)
        .where(
            Enrolment.user_id == User.id,
            Enrolment.item_id == item_id,
            Enrolment.status == EnrolmentStatus.ENROLLED,
        )
        .exists()
    )


async def add(session: AsyncSession, request: Request, now: datetime | None = None) -> Added:
    """Enrol everyone the request names and may be enrolled in each item; the caller commits."""
    now = now or utcnow()
    named = User.id.in_(_named(request))
    active = User.status == UserStatus.ACTIVE
    prospect = User.type == UserType.PROSPECT
    allowed = and_(named, active, ~prospect, request.reach)
    result = Added(
        deactivated=await sample(session, and_(named, ~active)),
        prospects=await sample(session, and_(named, active, prospect)),
        not_reports=await sample(session, and_(named, active, ~prospect, ~request.reach)),
    )
    made: list[int] = []
    told: set[int] = set()
    for item in request.items:
        latest = func.coalesce(_latest_status(item.id), "")
        completed = and_(allowed, latest == EnrolmentStatus.COMPLETED.value)
        already = await sample(session, and_(allowed, _open(item.id)))
        done = await sample(session, and_(completed, ~_open(item.id)))
        pairs = await enrol_many(
            session,
            organisation_id=request.organisation_id,
            item_id=item.id,
            people=select(User.id).where(allowed, ~completed),
            source=EnrolmentSource.MANUAL,
            by=request.by,
            placement=request.placement,
            now=now,
        )
        enrolled_ids = [u for _, u in pairs]
        enrolled = await sample(session, User.id.in_(enrolled_ids[:NAMES])) if pairs else Named()
        result.items.append(ItemResult(item, Named(len(pairs), enrolled.names), already, done))
        made += [e for e, _ in pairs]
        told.update(enrolled_ids)
    result.people = len(told)
    await tell_by_hand(
        session,
        organisation_id=request.organisation_id,
        enrolment_ids=made,
        action=ENROLLED,
        at=now,
        by=request.by_name,
    )
    return result


async def current(session: AsyncSession, user_id: int, item_id: int) -> Enrolment | None:
    """The person's enrolment in the item's current (latest) period."""
    return (
        await session.execute(
            select(Enrolment)
            .where(Enrolment.user_id == user_id, Enrolment.item_id == item_id)
            .order_by(Enrolment.period.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def take_out(
    session: AsyncSession,
    *,
    organisation_id: int,
    enrolment: Enrolment,
    by: str,
    by_user_id: int | None,
    by_name: str,
    reason: str | None,
) -> WithdrawOutcome:
    """Withdraw an enrolment by hand (handlers.withdrawals, which keeps the row, its progress
    and history, audits and emits the event) and tell the learner, naming who did it."""
    outcome = await withdraw(
        session,
        organisation_id=organisation_id,
        enrolment=enrolment,
        by=by,
        by_user_id=by_user_id,
        reason=reason,
    )
    if outcome is WithdrawOutcome.WITHDRAWN and enrolment.withdrawn_at is not None:
        await tell_by_hand(
            session,
            organisation_id=organisation_id,
            enrolment_ids=[enrolment.id],
            action=WITHDRAWN,
            at=enrolment.withdrawn_at,
            by=by_name,
            reason=reason or "",
        )
    return outcome
