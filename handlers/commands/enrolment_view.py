"""Reading enrolments for people to see: one person's (`enrol list`) and a manager's team's
(`team`), each current enrolment (the latest period of each item) as one line, overdue first,
then due soon (handlers.my_learning.DUE_SOON, as My learning), then the rest. The words are
enrol_words'."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.commands import enrol_words
from handlers.my_learning import DUE_SOON, latest_period
from handlers.replies import echo
from store.models import (
    CatalogItem,
    Enrolment,
    EnrolmentLink,
    EnrolmentStatus,
    User,
    UserStatus,
    utcnow,
)

SHOWN = 50  # lines one answer shows; the rest are counted
_FAR = datetime.max.replace(tzinfo=None)


@dataclass(frozen=True)
class Line:
    bucket: int  # 0 overdue, 1 due soon, 2 the rest
    due: datetime | None
    name: str
    title: str
    text: str

    def key(self) -> tuple:
        due = self.due.replace(tzinfo=None) if self.due else _FAR
        return (self.bucket, due, self.name.lower(), self.title.lower())


def bucket(row: Enrolment, now: datetime) -> int:
    if row.status is not EnrolmentStatus.ENROLLED or row.due_at is None:
        return 2
    if row.due_at < now:
        return 0
    return 1 if row.due_at <= now + DUE_SOON else 2


async def _current(
    session: AsyncSession,
    user_ids: list[int],
    item_ids: list[int] | None,
    shown_at: datetime | None = None,
) -> list[Row]:
    """Each person's latest enrolment in each item (handlers.my_learning.latest_period, the one
    owner of "current"; with `shown_at`, the latest they see then), with the item and the
    link's label."""
    query = (
        select(Enrolment, CatalogItem, EnrolmentLink.label)
        .join(CatalogItem, CatalogItem.id == Enrolment.item_id)
        .outerjoin(EnrolmentLink, EnrolmentLink.id == Enrolment.link_id)
        .where(Enrolment.user_id.in_(user_ids), latest_period(Enrolment, shown_at))
        .order_by(Enrolment.user_id, Enrolment.item_id)
    )
    if item_ids is not None:
        query = query.where(Enrolment.item_id.in_(item_ids))
    return list(await session.execute(query))


async def current_enrolments(
    session: AsyncSession, user_ids: list[int], item_ids: list[int] | None = None
) -> list[Row]:
    """Each person's latest enrolment in each item (with the item): what `team` reads, and
    the managers' weekly summary (handlers.reminders.team) too, so both show the same."""
    return await _current(session, user_ids, item_ids)


async def _enrollers(session: AsyncSession, rows: list[Row]) -> dict[int, str]:
    ids = {r[0].enrolled_by_user_id for r in rows if r[0].enrolled_by_user_id}
    if not ids:
        return {}
    found = await session.execute(
        select(User.id, User.first_name, User.last_name, User.email).where(User.id.in_(ids))
    )
    return {i: f"{f} {la}".strip() or e for i, f, la, e in found}


def _source(row: Row, enrollers: dict[int, str]) -> str:
    enrolment, _, label = row
    kind = enrolment.source.value
    ref = None
    if kind == "registration" and enrolment.registration_token_id:
        ref = f"t{enrolment.registration_token_id}"
    elif kind == "rule" and enrolment.rule_id:
        ref = str(enrolment.rule_id)
    elif kind == "manual" and enrolment.enrolled_by_user_id:
        ref = enrollers.get(enrolment.enrolled_by_user_id)
    return enrol_words.source(kind, label=label, ref=ref)


def _describe(row: Row, enrollers: dict[int, str], now: datetime) -> str:
    enrolment = row[0]
    parts = [enrol_words.status(enrolment.status, enrolment.completed_at, enrolment.withdrawn_at)]
    if enrolment.required is not None:
        parts.append("required" if enrolment.required else "recommended")
    is_open = enrolment.status is EnrolmentStatus.ENROLLED
    if enrolment.due_at is not None:
        parts.append(enrol_words.due(enrolment.due_at, is_open, now))
    if enrolment.visible_from is not None and enrolment.visible_from > now:
        parts.append(f"shown from {enrolment.visible_from.date().isoformat()}")
    parts.append(_source(row, enrollers))
    return " · ".join(parts)


async def enrolments_of(
    session: AsyncSession, user: User, *, yourself: bool
) -> tuple[list[str], int]:
    """A person's current enrolments as lines (what they cannot see yet left out for
    themselves), and how many there are."""
    now = utcnow()
    rows = await _current(session, [user.id], None, now if yourself else None)
    if yourself:
        rows = [r for r in rows if r[0].visible_from is None or r[0].visible_from <= now]
    enrollers = await _enrollers(session, rows)
    lines = [
        Line(
            bucket(r[0], now),
            r[0].due_at,
            "",
            r[1].title,
            f"{enrol_words.item_name(r[1])}: {_describe(r, enrollers, now)}",
        )
        for r in rows
    ]
    return _shown(lines), len(lines)


def _shown(lines: list[Line]) -> list[str]:
    lines.sort(key=Line.key)
    shown = [line.text for line in lines[:SHOWN]]
    if len(lines) > SHOWN:
        shown.append(enrol_words.more(len(lines) - SHOWN))
    return shown


async def team_of(
    session: AsyncSession, manager: User, items: list[CatalogItem]
) -> tuple[int, list[str]]:
    """A manager's active direct reports and their current enrolments (only `items` when
    given; withdrawn ones left out), and who has none of them."""
    now = utcnow()
    reports = list(
        (
            await session.execute(
                select(User)
                .where(User.manager_id == manager.id, User.status == UserStatus.ACTIVE)
                .order_by(User.last_name, User.first_name, User.id)
            )
        ).scalars()
    )
    if not reports:
        return 0, []
    by_id = {u.id: u for u in reports}
    rows = await _current(session, list(by_id), [i.id for i in items] if items else None)
    rows = [r for r in rows if r[0].status is not EnrolmentStatus.WITHDRAWN]
    enrollers = await _enrollers(session, rows)
    lines = []
    has: dict[int, set[int]] = {}
    for r in rows:
        person = by_id[r[0].user_id]
        has.setdefault(person.id, set()).add(r[1].id)
        what = f"{enrol_words.item_name(r[1])} · {_describe(r, enrollers, now)}"
        text = f"{echo(person.full_name, 80)}: {what}"
        lines.append(Line(bucket(r[0], now), r[0].due_at, person.full_name, r[1].title, text))
    for person in reports:
        missing = [i for i in items if i.id not in has.get(person.id, set())]
        if missing or (not items and person.id not in has):
            what = ", ".join(enrol_words.item_name(i) for i in missing) or "anything"
            text = f"{echo(person.full_name, 80)}: not enrolled in {what}"
            lines.append(Line(3, None, person.full_name, "", text))
    return len(reports), _shown(lines)
