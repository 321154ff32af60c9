"""Managers' side of reminders: a weekly summary on Monday morning (08:00-10:00 in the manager's
own zone) of their active direct reports' overdue and due-soon required training, read as
`team` reads it (handlers.commands.enrolment_view), queued once per manager and week under a
unique key with its outbox row; and a Nudge per report and item, once a day (unique key), sent
to the report as a one-line reminder after their quiet hours."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time

from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.commands.enrolment_view import bucket, current_enrolments
from handlers.reminders import words
from handlers.reminders.quiet_hours import local_day, next_allowed, zone
from handlers.replies import Notice, Tone
from handlers.rules.messages import destination_of
from store.models import (
    Enrolment,
    EnrolmentStatus,
    ManagerNudge,
    ManagerSummary,
    Organisation,
    OutboxMessage,
    User,
    UserStatus,
)
from store.upsert import insert_ignoring_conflict

WINDOW = (time(8), time(10))  # Monday morning, the manager's time
MAX_LINES = 40


@dataclass
class SummaryResult:
    queued: list[str] = field(default_factory=list)  # managers' emails

    def describe(self) -> list[str]:
        lines = [f"summary: {email}" for email in self.queued]
        return [*lines, f"Managers' summaries: {len(self.queued)} queued."]


def _in_window(now: datetime, where) -> bool:
    local = now.astimezone(where)
    return local.weekday() == 0 and WINDOW[0] <= local.time() < WINDOW[1]


async def _managers(session: AsyncSession) -> list:
    manager, org = User.__table__.alias("manager"), Organisation.__table__
    report = User.__table__
    has_reports = (
        select(report.c.id)
        .where(report.c.manager_id == manager.c.id, report.c.status == UserStatus.ACTIVE.value)
        .exists()
    )
    query = (
        select(
            manager.c.id,
            manager.c.email,
            manager.c.time_zone,
            org.c.time_zone.label("org_zone"),
            org.c.id.label("org_id"),
            destination_of(manager.c.id, manager.c.email).label("destination"),
        )
        .join(org, org.c.id == manager.c.organisation_id)
        .where(manager.c.status == UserStatus.ACTIVE.value, has_reports)
    )
    return list((await session.execute(query)).all())


async def team_lines(session: AsyncSession, manager_id: int, now: datetime) -> list[dict]:
    """The manager's reports' overdue and due-soon required training, overdue first."""
    reports = {
        u.id: u
        for u in (
            await session.execute(
                select(User).where(User.manager_id == manager_id, User.status == UserStatus.ACTIVE)
            )
        ).scalars()
    }
    rows = await current_enrolments(session, list(reports)) if reports else []
    lines = []
    for enrolment, item, *_ in rows:
        if not enrolment.required or enrolment.status is not EnrolmentStatus.ENROLLED:
            continue
        if enrolment.visible_from is not None and enrolment.visible_from > now:
            continue
        where = bucket(enrolment, now)
        if where > 1:
            continue
        lines.append(
            {
                "user_id": enrolment.user_id,
                "name": reports[enrolment.user_id].full_name,
                "item_id": item.id,
                "title": item.title,
                "due_at": enrolment.due_at.astimezone(UTC).date().isoformat(),
                "overdue": where == 0,
            }
        )
    lines.sort(key=lambda line: (not line["overdue"], line["due_at"], line["name"].lower()))
    return lines


async def run_summaries(sessions: async_sessionmaker[AsyncSession], now: datetime) -> SummaryResult:
    """Queue the weekly summary of every manager whose Monday morning it is, once a week."""
    result = SummaryResult()
    async with sessions() as session:
        managers = await _managers(session)
    for m in managers:
        where = zone(m.time_zone, m.org_zone)
        if not _in_window(now, where):
            continue
        async with sessions() as session, session.begin():
            lines = await team_lines(session, m.id, now)
            if not lines:
                continue
            week = local_day(now, where)
            key = {"manager_id": m.id, "week": week, "queued_at": now}
            if await insert_ignoring_conflict(session, ManagerSummary, key) is None:
                continue
            session.add(
                OutboxMessage(
                    organisation_id=m.org_id,
                    kind=words.SUMMARY,
                    destination=m.destination,
                    payload={"today": week.isoformat(), "lines": lines},
                    not_before=now,
                    created_at=now,
                    attempts=0,
                )
            )
            result.queued.append(m.email)
    return result


def nudge_value(user_id: int, item_id: int) -> str:
    return f"{user_id}:{item_id}"


def _parse(value: str) -> tuple[int, int] | None:
    user, _, item = value.partition(":")
    return (int(user), int(item)) if user.isdigit() and item.isdigit() else None


async def nudge(session: AsyncSession, manager: User | None, value: str, now: datetime) -> Notice:
    """A manager's Nudge: the report reminded of the item once a day, the manager told."""
    parsed = _parse(value)
    if manager is None or parsed is None:
        return Notice(words.nudge_refused(), Tone.ERROR)
    report = await session.get(User, parsed[0])
    if report is None or report.manager_id != manager.id or report.status is not UserStatus.ACTIVE:
        return Notice(words.nudge_refused(), Tone.ERROR)
    rows = await current_enrolments(session, [report.id], [parsed[1]])
    enrolment: Enrolment | None = rows[0][0] if rows else None
    if enrolment is None or enrolment.status is not EnrolmentStatus.ENROLLED:
        return Notice(words.nudge_refused(), Tone.ERROR)
    item = rows[0][1]
    key = {
        "user_id": report.id,
        "item_id": item.id,
        "day": now.date(),
        "by_user_id": manager.id,
        "at": now,
    }
    if await insert_ignoring_conflict(session, ManagerNudge, key) is None:
        return Notice(words.nudge_already(report.full_name, item.title))
    org = await session.get(Organisation, report.organisation_id)
    due = enrolment.due_at.astimezone(UTC).date() if enrolment.due_at else None
    where = await session.scalar(select(destination_of(literal(report.id), literal(report.email))))
    session.add(
        OutboxMessage(
            organisation_id=report.organisation_id,
            kind=words.REMINDER,
            destination=where,
            payload={
                "item_id": item.id,
                "title": item.title,
                "url": item.url,
                "required": bool(enrolment.required),
                "due_at": due.isoformat() if due else None,
                "offset": (due - now.date()).days if due else None,
                "by": manager.full_name,
            },
            not_before=next_allowed(now, zone(report.time_zone, org.time_zone if org else None)),
            created_at=now,
            attempts=0,
        )
    )
    return Notice(words.nudge_sent(report.full_name, item.title), Tone.SUCCESS)
