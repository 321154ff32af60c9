"""Pushes to Moodle written set-based: one INSERT ... SELECT of outbox rows from enrolment rows,
whatever their number. Two writers use it, each in the transaction of its change:

- `withdrawn` (called by handlers.events for `enrolment.withdrawn`): an unenrol for each
  withdrawal in a mapped item. Pushes still waiting in the same lane (an enrol not sent yet, or
  one being retried) are dropped first, unless a worker is sending them right now; the unenrol
  goes last in the lane either way, so it never overtakes an enrol that may reach Moodle.
- `backfill` (called where an item gets its Moodle course): an enrol for each open enrolment the
  item already had, of people still active, starting when the enrolment does (the day a hidden
  one shows), as `site.fan_out` does for new ones.

Rows go in the lane of their person and item (`moodle:ORG:u7-i3`, `site.lane`), which the outbox
sends one row at a time, in order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, String, cast, delete, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.moodle.site import ENROL, KIND, UNENROL
from store.expressions import epoch_seconds, json_object
from store.models import (
    CatalogItem,
    DeliveryLane,
    Enrolment,
    EnrolmentStatus,
    MoodleSite,
    OutboxMessage,
    OutboxStatus,
    User,
    UserStatus,
)
from store.models.base import UTCDateTime
from store.upsert import insert_from_select

CHUNK = 500  # enrolment ids per statement

_e, _item, _person = Enrolment.__table__, CatalogItem.__table__, User.__table__


def lane_of(organisation_id: ColumnElement, user_id: ColumnElement, item_id: ColumnElement):
    """`site.lane` in SQL: moodle:ORG:u7-i3."""
    return (
        literal(f"{KIND}:")
        + cast(organisation_id, String)
        + literal(":u")
        + cast(user_id, String)
        + literal("-i")
        + cast(item_id, String)
    )


def _lanes(ids: Sequence[int]):
    """The lanes of these enrolments, as a subquery."""
    return (
        select(lane_of(_item.c.organisation_id, _e.c.user_id, _e.c.item_id))
        .select_from(_e.join(_item, _item.c.id == _e.c.item_id))
        .where(_e.c.id.in_(list(ids)))
    )


async def _sites(session: AsyncSession) -> bool:
    return (await session.scalar(select(MoodleSite.organisation_id).limit(1))) is not None


async def withdrawn(session: AsyncSession, enrolment_ids: Sequence[int], now: datetime) -> int:
    """An unenrol for each of these withdrawn enrolments whose item has a Moodle course, while
    a site is set, after dropping what waits in their lanes; the number of unenrols written."""
    ids = sorted(set(enrolment_ids))
    if not ids or not await _sites(session):
        return 0
    written = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        await _drop_waiting(session, chunk, now)
        written += await _write(
            session,
            UNENROL,
            [_e.c.id.in_(chunk), _e.c.status == EnrolmentStatus.WITHDRAWN.value],
            now,
        )
    return written


async def _drop_waiting(session: AsyncSession, ids: list[int], now: datetime) -> None:
    """Pushes still pending in these lanes are moot once the person is withdrawn: dropped,
    and their lanes free to send at once (a retried push may have set them hours ahead). A lane
    a worker holds keeps its rows: what it sends may reach Moodle, and the unenrol follows."""
    lanes = _lanes(ids)
    busy = select(DeliveryLane.destination).where(
        DeliveryLane.destination.in_(lanes),
        DeliveryLane.lease_until.is_not(None),
        DeliveryLane.lease_until >= now,
    )
    await session.execute(
        delete(OutboxMessage)
        .where(
            OutboxMessage.kind == KIND,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.destination.in_(lanes),
            OutboxMessage.destination.not_in(busy),
        )
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(DeliveryLane)
        .where(
            DeliveryLane.destination.in_(lanes),
            DeliveryLane.not_before > now,
            (DeliveryLane.lease_until.is_(None)) | (DeliveryLane.lease_until < now),
        )
        .values(not_before=now)
        .execution_options(synchronize_session=False)
    )


# Who a course should hold: enrolments still open, of people still active.
_OPEN = (
    _e.c.status == EnrolmentStatus.ENROLLED.value,
    _person.c.status == UserStatus.ACTIVE.value,
)


async def backfill(session: AsyncSession, item_ids: Sequence[int], now: datetime) -> int:
    """An enrol for every open enrolment of an active person in these items (just mapped to a
    Moodle course), while a site is set; the number written."""
    items = sorted(set(item_ids))
    if not items or not await _sites(session):
        return 0
    return await _write(session, ENROL, [_e.c.item_id.in_(items), *_OPEN], now)


async def backfill_site(session: AsyncSession, organisation_id: int, now: datetime) -> int:
    """An enrol for every open enrolment of an active person in every mapped item of the
    organisation, whose site (MOODLE_URL) was just set: what it missed while none was. Enrolling
    someone Moodle already holds changes nothing there, so what went before is not sent twice
    to any harm."""
    return await _write(session, ENROL, [_item.c.organisation_id == organisation_id, *_OPEN], now)


async def _write(session: AsyncSession, action: str, conditions: list, now: datetime) -> int:
    """One insert-select of `action` rows from the enrolments `conditions` pick, in items
    mapped to a course of an organisation with a site."""
    dialect = session.get_bind().dialect.name
    at = literal(now, UTCDateTime())
    fields: dict[str, ColumnElement] = {
        "action": literal(action),
        "enrolment_id": _e.c.id,
        "user_id": _e.c.user_id,
        "email": _person.c.email,
        "course_id": _item.c.moodle_course_id,
    }
    if action == ENROL:
        starts = func.coalesce(_e.c.visible_from, _e.c.enrolled_at, at)
        fields["timestart"] = epoch_seconds(dialect, starts)
    site = MoodleSite.__table__
    rows = (
        select(
            _item.c.organisation_id.label("organisation_id"),
            literal(KIND).label("kind"),
            lane_of(_item.c.organisation_id, _e.c.user_id, _e.c.item_id).label("destination"),
            json_object(dialect, **fields).label("payload"),
            literal(OutboxStatus.PENDING.value).label("status"),
            literal(0).label("attempts"),
            at.label("not_before"),
            at.label("created_at"),
        )
        .select_from(
            _e.join(_item, _item.c.id == _e.c.item_id)
            .join(_person, _person.c.id == _e.c.user_id)
            .join(site, site.c.organisation_id == _item.c.organisation_id)
        )
        .where(_item.c.moodle_course_id.is_not(None), *conditions)
        .order_by(_e.c.id)
    )
    columns = [c.name for c in rows.selected_columns]
    made = await insert_from_select(
        session, OutboxMessage.__table__, columns, rows, returning=("id",)
    )
    return len(made)
