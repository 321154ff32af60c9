"""The reminders' scan: which enrolments are owed a reminder now, queued through the outbox.

An enrolment (enrolled, visible, with a due date, of an active person, not muted) is owed the
reminder of offset d (days before its due date; 0 is the due day, negative after it) from the
person's own date `due - d` until the next smaller offset's day (the smallest: CATCH_UP_DAYS),
so a scan that did not run for a day still sends it, and an older reminder that a newer one
superseded is not sent late. One query reads the window of due dates the offsets can reach
(indexed by due date), with the smallest offset already queued for each enrolment and each
person's latest reminder day; the rest is arithmetic per row.

Each (enrolment, offset) is recorded in `reminder_sent` (unique) in the same transaction as its
outbox row, batch by batch: a scan run twice, or killed between batches, neither duplicates nor
skips. A person gets at most one day's reminders: people already reminded on their date today
wait for tomorrow. Rows of one person carry the same `not_before` (after quiet hours), so the
outbox sends them as one message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.reminders.quiet_hours import local_day, next_allowed, zone
from handlers.reminders.words import REMINDER, when
from handlers.rules.messages import destination_of
from store.models import (
    CatalogItem,
    Enrolment,
    EnrolmentStatus,
    Organisation,
    OutboxMessage,
    OutboxStatus,
    ReminderMute,
    ReminderSent,
    User,
    UserStatus,
)

DEFAULT_DAYS = (7, 1, 0)
CATCH_UP_DAYS = 3  # the last reminder is still sent this many days late, after an outage
BATCH = 5000  # reminders per transaction


class BadDays(ValueError):
    """Reminder days that are not a list of whole numbers."""


def parse_days(text: str | None) -> tuple[int, ...]:
    """ "7,1,0" as (7, 1, 0), largest first; "" turns reminders off."""
    if text is None:
        return DEFAULT_DAYS
    try:
        days = {int(part) for part in text.replace(" ", "").split(",") if part}
    except ValueError:
        raise BadDays(
            f"reminder days must be whole numbers separated by commas, not {text!r}"
        ) from None
    if any(abs(d) > 365 for d in days):
        raise BadDays("reminder days must be within a year of the due date")
    return tuple(sorted(days, reverse=True))


def owed_offset(days: tuple[int, ...], due: date, today: date) -> int | None:
    """The offset whose reminder is owed on `today` for something due on `due`, or None."""
    for i, d in enumerate(days):
        start = due - timedelta(days=d)
        end = (
            due - timedelta(days=days[i + 1])
            if i + 1 < len(days)
            else start + timedelta(days=CATCH_UP_DAYS)
        )
        if start <= today < end:
            return d
    return None


@dataclass(frozen=True)
class Queued:
    user_id: int
    email: str
    item_id: int
    title: str
    offset: int  # days before the due date on the person's date when it arrives
    due: date
    not_before: datetime


@dataclass
class ScanResult:
    sent_now: list[Queued] = field(default_factory=list)
    held: list[Queued] = field(default_factory=list)  # quiet hours or a weekend

    @property
    def queued(self) -> int:
        return len(self.sent_now) + len(self.held)

    def describe(self) -> list[str]:
        """What `enrolbot reminders run` prints: a line per reminder, then the counts."""
        lines = [_line("queued", q) for q in self.sent_now]
        lines += [_line("held", q) for q in self.held]
        lines.append(
            f"Reminders: {self.queued} queued, {len(self.sent_now)} to send now, "
            f"{len(self.held)} held back for quiet hours or the weekend."
        )
        return lines


def _line(what: str, q: Queued) -> str:
    until = "" if what == "queued" else f" until {q.not_before:%Y-%m-%d %H:%M} UTC"
    return f"{what}: {q.email} · {q.title} · {when(q.due, offset=q.offset)}{until}"


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _candidates(org: Organisation, days: tuple[int, ...], now: datetime):
    e, item, person = Enrolment.__table__, CatalogItem.__table__, User.__table__
    today = now.date()
    # Any zone's date is within a day of UTC's; the window reaches every owed offset.
    low = _midnight(today - timedelta(days=1) + timedelta(days=min(days) - CATCH_UP_DAYS))
    high = _midnight(today + timedelta(days=2) + timedelta(days=max(days)))
    sent = ReminderSent.__table__
    muted = (
        select(ReminderMute.id)
        .where(
            ReminderMute.user_id == e.c.user_id,
            or_(ReminderMute.item_id.is_(None), ReminderMute.item_id == e.c.item_id),
        )
        .exists()
    )
    return (
        select(
            e.c.id,
            e.c.user_id,
            e.c.item_id,
            e.c.due_at,
            e.c.required,
            item.c.title,
            item.c.url,
            person.c.email,
            person.c.time_zone,
            destination_of(person.c.id, person.c.email).label("destination"),
            select(func.min(sent.c.offset_days))
            .where(sent.c.enrolment_id == e.c.id)
            .scalar_subquery()
            .label("least_sent"),
            select(func.max(sent.c.day))
            .where(sent.c.user_id == e.c.user_id)
            .scalar_subquery()
            .label("last_day"),
        )
        .select_from(
            e.join(item, item.c.id == e.c.item_id).join(person, person.c.id == e.c.user_id)
        )
        .where(
            e.c.due_at >= low,
            e.c.due_at < high,
            e.c.status == EnrolmentStatus.ENROLLED.value,
            or_(e.c.visible_from.is_(None), e.c.visible_from <= now),
            person.c.organisation_id == org.id,
            person.c.status == UserStatus.ACTIVE.value,
            ~muted,
        )
        .order_by(e.c.user_id, e.c.id)
    )


async def plan(
    session: AsyncSession, org: Organisation, now: datetime
) -> list[tuple[Queued, dict]]:
    """What this scan would queue, with each outbox row's values; nothing is written."""
    days = parse_days(org.reminder_days)
    if not days:
        return []
    rows = (await session.execute(_candidates(org, days, now))).all()
    planned: list[tuple[Queued, dict]] = []
    # Per zone: its date now, the next allowed moment, and the date there at that moment (a
    # reminder held overnight is worded for the day it arrives).
    moments: dict[str | None, tuple[date, datetime, date]] = {}
    for row in rows:
        moment = moments.get(row.time_zone)
        if moment is None:
            where = zone(row.time_zone, org.time_zone)
            at = next_allowed(now, where)
            moment = moments[row.time_zone] = (local_day(now, where), at, local_day(at, where))
        today, at, arrives = moment
        due = row.due_at.astimezone(UTC).date()
        offset = owed_offset(days, due, today)
        if offset is None or (row.least_sent is not None and row.least_sent <= offset):
            continue
        if row.last_day is not None and _as_date(row.last_day) >= today:
            continue  # reminded today already: the rest waits for tomorrow
        left = (due - arrives).days  # days before the due date when it arrives
        queued = Queued(row.user_id, row.email, row.item_id, row.title, left, due, at)
        payload = {
            "enrolment_id": row.id,
            "item_id": row.item_id,
            "title": row.title,
            "url": row.url,
            "required": bool(row.required),
            "due_at": due.isoformat(),
            "offset": left,
        }
        outbox = {
            "organisation_id": org.id,
            "kind": REMINDER,
            "destination": row.destination,
            "payload": payload,
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
            "not_before": at,
            "created_at": now,
        }
        sent = {
            "enrolment_id": row.id,
            "offset_days": offset,
            "user_id": row.user_id,
            "day": today,
            "not_before": at,
            "queued_at": now,
        }
        planned.append((queued, {"outbox": outbox, "sent": sent}))
    return planned


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


async def record(session: AsyncSession, planned: list[tuple[Queued, dict]]) -> list[Queued]:
    """Record and queue one batch in the caller's transaction, set-based: the reminders whose
    (enrolment, offset) key was free, each with its outbox row; the rest were queued already."""
    if not planned:
        return []
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = ReminderSent.__table__
    claimed = await session.execute(
        dialect.insert(table)
        .on_conflict_do_nothing()
        .returning(table.c.enrolment_id, table.c.offset_days, sort_by_parameter_order=True),
        [values["sent"] for _, values in planned],
    )
    free = {(r.enrolment_id, r.offset_days) for r in claimed}
    done = [
        (queued, values)
        for queued, values in planned
        if (values["sent"]["enrolment_id"], values["sent"]["offset_days"]) in free
    ]
    if done:
        await session.execute(
            insert(OutboxMessage.__table__), [values["outbox"] for _, values in done]
        )
    return [queued for queued, _ in done]


def _batches(planned: list[tuple[Queued, dict]], size: int):
    """Batches of about `size` that never split one person's reminders: a scan killed between
    two batches must not leave a person half reminded (the rest would wait a day)."""
    start = 0
    while start < len(planned):
        end = min(start + size, len(planned))
        while end < len(planned) and planned[end][0].user_id == planned[end - 1][0].user_id:
            end += 1
        yield planned[start:end]
        start = end


async def run_scan(
    sessions: async_sessionmaker[AsyncSession], now: datetime, *, batch: int = BATCH
) -> ScanResult:
    """The whole scan for every organisation: planned in one read, written batch by batch, each
    batch its own transaction."""
    result = ScanResult()
    async with sessions() as session:
        orgs = list((await session.execute(select(Organisation))).scalars())
        planned = [p for org in orgs for p in await plan(session, org, now)]
    for part in _batches(planned, batch):
        async with sessions() as session, session.begin():
            for queued in await record(session, part):
                (result.sent_now if queued.not_before <= now else result.held).append(queued)
    return result


__all__ = ["BadDays", "Queued", "ScanResult", "owed_offset", "parse_days", "plan", "run_scan"]
