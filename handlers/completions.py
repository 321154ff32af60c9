"""Completions: `complete` and `complete_many`, the one place a completion is recorded,
whatever reports it (the API, a completions import, a connector reading a learning platform).

A completion marks the person's enrolment in the item's current period completed, with its time
and score: the latest period they can see. A later one made ahead and still hidden
(--enrol-days-before) is not theirs yet: a report while it is hidden counts for the period
they see (already completed, it changes nothing), so a completion never finishes next year's
period before it shows. Only when the hidden period is the person's only one (enrolled ahead of
their first, and done before it showed) does the completion count for it: it shows at once,
completed, and the learning platform hears of it as created, then completed.

Someone not enrolled (they started on the platform itself) is enrolled first through
`handlers.enrol.enrol`, the one way in, then completed. A second report of a completed
enrolment changes nothing, so a retried report never completes twice. Many completions are
written set-based: one read of the enrolments there are (locked on PostgreSQL, so two reports
of the same completion at once cannot both count), one UPDATE and one audit INSERT for all.

Completing the current period of an item that a recurring rule requires opens the rule's next
period (handlers.rules.periods.open_next) in the same transaction, with its due date, hidden
until its day under --enrol-days-before; the Completion names it (`next_period`). A report of a
completion made before the current period was opened (a retry, a file imported twice) belongs
to the period before, already completed: it changes nothing. A withdrawn enrolment reported
completed is completed: the work was done.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import events
from handlers.enrol import enrol
from handlers.rules.periods import open_next, reveal_early
from store.models import (
    AuditEvent,
    CatalogItem,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    Organisation,
    User,
    utcnow,
)

_CHUNK = 500  # (user, item) pairs per IN list
# A reporter's clock may run a little ahead of ours: a completion reported as it happens is
# not "in the future" for that.
CLOCK_LEEWAY = timedelta(minutes=5)


def in_the_future(completed_at: datetime, now: datetime | None = None) -> bool:
    """Whether a reported completion is in the future (a wrong year, a wrong clock): the
    imports and the API refuse it, so nothing is completed ahead of the work."""
    return completed_at > (now or utcnow()) + CLOCK_LEEWAY


class CompletionOutcome(enum.StrEnum):
    COMPLETED = "completed"
    ALREADY_COMPLETED = "already_completed"


@dataclass(frozen=True)
class Completion:
    outcome: CompletionOutcome
    enrolment_id: int
    next_period: int | None = None  # the recurring rule's period this completion opened


@dataclass(frozen=True)
class Reported:
    """One completion as reported: who, what, when, and the score if any."""

    user: User
    item: CatalogItem
    completed_at: datetime
    score: float | None = None


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
    now: datetime | None = None,
) -> Completion:
    """Mark `user`'s enrolment in `item` completed at `completed_at` (enrolling them first with
    `source` if they were not); `by` names who reported it, for the audit. The caller commits."""
    reported = [Reported(user, item, completed_at, score)]
    done = await complete_many(session, organisation, reported, source=source, by=by, now=now)
    return done[0]


async def complete_many(
    session: AsyncSession,
    organisation: Organisation,
    reported: Sequence[Reported],
    *,
    source: EnrolmentSource,
    by: str,
    now: datetime | None = None,
) -> list[Completion]:
    """`complete` for each of `reported`, set-based; one Completion per report, in order. A
    pair reported twice in one call is completed by the first. The caller commits."""
    now = now or utcnow()
    existing = await _enrolments(session, reported, now)
    for r in reported:
        if (r.user.id, r.item.id) not in existing:
            await enrol(
                session, organisation=organisation, user=r.user, item=r.item, source=source, by=by
            )
    if len(existing) < len({(r.user.id, r.item.id) for r in reported}):
        existing = await _enrolments(session, reported, now)
    results: list[Completion] = []
    changes: list[dict] = []
    audits: list[dict] = []
    done: set[int] = set()
    hidden: list[int] = []  # made ahead and not revealed: shown before they are completed
    for r in reported:
        enrolment_id, status, enrolled_at, earlier, ahead = existing[(r.user.id, r.item.id)]
        if status == EnrolmentStatus.COMPLETED or enrolment_id in done:
            results.append(Completion(CompletionOutcome.ALREADY_COMPLETED, enrolment_id))
            continue
        if earlier is not None and enrolled_at >= r.completed_at:
            # Done before this period was opened: the report of the period before, again.
            results.append(Completion(CompletionOutcome.ALREADY_COMPLETED, earlier))
            continue
        done.add(enrolment_id)
        if ahead:
            hidden.append(enrolment_id)
        results.append(Completion(CompletionOutcome.COMPLETED, enrolment_id))
        changes.append({"eid": enrolment_id, "at": r.completed_at, "score": r.score})
        audits.append(_audit_row(organisation, r, by, now))
    if hidden:
        await reveal_early(session, hidden, now)
    if changes:
        await session.execute(_COMPLETE.values(updated_at=now), changes)
        await session.execute(insert(AuditEvent.__table__), audits)
        completed = [c["eid"] for c in changes]
        await events.enrolments(session, events.ENROLMENT_COMPLETED, completed, now=now)
        results = await _open_next_periods(session, organisation, reported, results, now)
    return results


def _audit_row(organisation: Organisation, r: Reported, by: str, now: datetime) -> dict:
    detail: dict = {"completed_at": r.completed_at.isoformat()}
    if r.score is not None:
        detail["score"] = r.score
    return {
        "organisation_id": organisation.id,
        "at": now,
        "action": "complete.completed",
        "actor": by,
        "actor_user_id": r.user.id,
        "item_id": r.item.id,
        "link_id": None,
        "detail": detail,
    }


async def _open_next_periods(
    session: AsyncSession,
    organisation: Organisation,
    reported: Sequence[Reported],
    results: list[Completion],
    now: datetime,
) -> list[Completion]:
    """Open recurring rules' next periods for the people who completed, item by item; each
    Completion that opened one names it."""
    by_item: dict[int, set[int]] = {}
    for r, result in zip(reported, results, strict=True):
        if result.outcome is CompletionOutcome.COMPLETED:
            by_item.setdefault(r.item.id, set()).add(r.user.id)
    opened: dict[tuple[int, int], int] = {}
    for item_id, user_ids in by_item.items():
        for made in await open_next(
            session,
            organisation_id=organisation.id,
            item_id=item_id,
            user_ids=sorted(user_ids),
            now=now,
        ):
            for _, user_id in made.enrolled:
                opened[(user_id, item_id)] = made.period
    return [
        replace(result, next_period=opened.get((r.user.id, r.item.id)))
        if result.outcome is CompletionOutcome.COMPLETED
        else result
        for r, result in zip(reported, results, strict=True)
    ]


class Current(NamedTuple):
    id: int
    status: EnrolmentStatus
    enrolled_at: datetime
    earlier: int | None  # the latest earlier period completed
    ahead: bool  # made ahead and not revealed yet (visible_from set)


_TABLE = Enrolment.__table__
# Executed with many parameter sets: the ORM's bulk UPDATE by primary key wants the
# primary key's own name, so the table's statement is used, with a guard against a second
# writer (the row was read locked on PostgreSQL; SQLite has one writer at a time).
_COMPLETE = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("eid"), _TABLE.c.status != EnrolmentStatus.COMPLETED.value)
    .values(
        status=EnrolmentStatus.COMPLETED.value,
        completed_at=bindparam("at"),
        score=bindparam("score"),
    )
)


async def _enrolments(
    session: AsyncSession, reported: Sequence[Reported], now: datetime
) -> dict[tuple[int, int], Current]:
    """(user, item) -> the current period's enrolment of those there are: the latest the
    person can see at `now` (a later one still hidden is not theirs yet), else their only one,
    hidden; locked for update, with the id of the latest earlier period completed."""
    pairs = sorted({(r.user.id, r.item.id) for r in reported})
    found: dict[tuple[int, int], Current] = {}
    for start in range(0, len(pairs), _CHUNK):
        chunk = pairs[start : start + _CHUNK]
        rows = await session.execute(
            select(
                Enrolment.user_id,
                Enrolment.item_id,
                Enrolment.id,
                Enrolment.status,
                Enrolment.enrolled_at,
                Enrolment.visible_from,
            )
            .where(tuple_(Enrolment.user_id, Enrolment.item_id).in_(chunk))
            .order_by(Enrolment.period)  # the latest period comes last and stays
            .with_for_update()
        )
        for user_id, item_id, enrolment_id, status, enrolled_at, visible_from in rows:
            before = found.get((user_id, item_id))
            if before is not None and visible_from is not None and visible_from > now:
                continue  # hidden until its day: the period they see stays current
            earlier = before.earlier if before else None
            if before and before.status == EnrolmentStatus.COMPLETED:
                earlier = before.id
            ahead = visible_from is not None
            found[(user_id, item_id)] = Current(enrolment_id, status, enrolled_at, earlier, ahead)
    return found
