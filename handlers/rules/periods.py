"""Recurring rules' later periods: completing the current period opens the next one, and the
enrolments made ahead (--enrol-days-before) are revealed on their day. Set-based: one
insert-select per rule and completed period (handlers.enrol.enrol_many), one update to reveal.

A reveal is when the learning platform hears of the enrolment (handlers.events.revealed): not
when it was made hidden, and never for one withdrawn before its day.

Both are idempotent (the unique person-item-period key decides), so `handlers.completions`
calls `open_next` in the completion's own transaction, and the daily "rule-periods" job runs
`open_next` over everyone (repairing anything missed) and `reveal`, as often as it likes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, Table, case, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import events
from handlers.enrol import Placement, enrol_many
from handlers.rules.criteria import matching
from handlers.rules.messages import ENROLLED, tell_learners, unsay
from handlers.rules.saved import Loaded, load
from handlers.rules.schedule import next_period
from store.models import (
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    Recur,
    RuleBaseline,
    User,
    utcnow,
)


@dataclass(frozen=True)
class Opened:
    """Next periods opened for one rule: the period key and (enrolment id, user id) pairs."""

    rule_id: int
    period: int
    enrolled: list[tuple[int, int]]


def current_only(e: Table) -> ColumnElement[bool]:
    """Rows of `e` (the enrolment table) that are their person's current (latest) period."""
    later = e.alias("later_period")
    return ~exists(
        select(later.c.id).where(
            later.c.user_id == e.c.user_id,
            later.c.item_id == e.c.item_id,
            later.c.period > e.c.period,
        )
    )


def completed_current(item_id: int, user_ids: list[int] | None = None) -> Select:
    """Who has completed their current (latest) period of the item, with its key."""
    e = Enrolment.__table__
    query = select(e.c.user_id, e.c.period).where(
        e.c.item_id == item_id, e.c.status == EnrolmentStatus.COMPLETED.value, current_only(e)
    )
    if user_ids is not None:
        query = query.where(e.c.user_id.in_(user_ids))
    return query


async def recurring_rules(
    session: AsyncSession, organisation_id: int | None, item_id: int | None = None
) -> list[Loaded]:
    rules = await load(session, organisation_id=organisation_id, item_id=item_id)
    return [r for r in rules if r.rule.recur is not Recur.ONCE]


async def open_next(
    session: AsyncSession,
    *,
    organisation_id: int,
    item_id: int,
    user_ids: list[int] | None = None,
    now: datetime | None = None,
) -> list[Opened]:
    """Enrol everyone (among `user_ids`) who has completed their current period of the item
    and still matches one of its recurring rules in that rule's next period."""
    now = now or utcnow()
    rules = await recurring_rules(session, organisation_id, item_id)
    if not rules:
        return []
    done = completed_current(item_id, user_ids).subquery("done")
    keys = list((await session.execute(select(done.c.period).distinct())).scalars())
    opened = []
    for rule in rules:
        for key in sorted(keys):
            made = await open_for(session, rule, int(key), user_ids, now)
            if made is not None:
                opened.append(made)
    return opened


async def open_for(
    session: AsyncSession,
    rule: Loaded,
    key: int,
    user_ids: list[int] | None,
    now: datetime,
) -> Opened | None:
    """The rule's next period after `key` for those (among `user_ids`) who completed `key`."""
    r = rule.rule
    period = next_period(r, key, now)
    if period is None:
        return None
    done = completed_current(r.item_id, user_ids).where(Enrolment.__table__.c.period == key)
    users = User.__table__
    people = matching(rule.criteria, user_ids).where(
        users.c.id.in_(done.with_only_columns(Enrolment.__table__.c.user_id))
    )
    if r.new_only:  # the baseline is not the rule's to enrol, in any period
        people = people.where(
            ~exists(
                select(RuleBaseline.user_id).where(
                    RuleBaseline.rule_id == r.id, RuleBaseline.user_id == users.c.id
                )
            )
        )
    enrolled = await enrol_many(
        session,
        organisation_id=r.organisation_id,
        item_id=r.item_id,
        people=people,
        source=EnrolmentSource.RULE,
        by=f"rule {r.id}",
        placement=Placement(
            period=period.key,
            required=r.required,
            reason=r.reason,
            due_at=period.due_at,
            visible_from=period.visible_from,
            rule_id=r.id,
        ),
        now=now,
    )
    if enrolled:  # the learner hears of it, when it shows (handlers.rules.messages)
        await tell_learners(session, rule=r, action=ENROLLED, at=now)
    return Opened(r.id, period.key, enrolled)


async def reveal(session: AsyncSession, now: datetime | None = None) -> list[tuple[int, int]]:
    """Enrolments made ahead whose day has come become visible, enrolled on that day (seed
    004's "Enrolled On Date"), and the endpoints hear of them now (handlers.events.revealed).
    One withdrawn before its day stays as it was: nobody was ever shown it. (enrolment id,
    user id) of each; a rerun finds none."""
    now = now or utcnow()
    e = Enrolment.__table__
    return await _reveal(
        session,
        [e.c.visible_from <= now, e.c.status != EnrolmentStatus.WITHDRAWN.value],
        now,
    )


async def reveal_early(
    session: AsyncSession, enrolment_ids: list[int], now: datetime
) -> list[tuple[int, int]]:
    """These enrolments made ahead show from now, before their day: a completion of a period
    that was the person's only one (handlers.completions). One whose day has come counts as
    enrolled that day; one revealed early keeps the day it was made. Its learner message, still
    waiting for that day, is dropped: it is completed, not news."""
    await unsay(session, enrolment_ids)
    return await _reveal(session, [Enrolment.__table__.c.id.in_(enrolment_ids)], now)


async def _reveal(
    session: AsyncSession, conditions: list[ColumnElement[bool]], now: datetime
) -> list[tuple[int, int]]:
    e = Enrolment.__table__
    rows = await session.execute(
        update(e)
        .where(e.c.visible_from.is_not(None), *conditions)
        .values(
            visible_from=None,
            enrolled_at=case((e.c.visible_from <= now, e.c.visible_from), else_=e.c.enrolled_at),
            updated_at=now,
        )
        .returning(e.c.id, e.c.user_id, e.c.status)
    )
    revealed = [(int(i), int(u), status) for i, u, status in rows]
    # One completed while hidden (before completions revealed what they complete) was told then.
    told = [i for i, _, status in revealed if status != EnrolmentStatus.COMPLETED.value]
    await events.revealed(session, told, now=now)
    return [(i, u) for i, u, _ in revealed]


@dataclass
class PeriodsRun:
    """What a run of the periods job changed: next periods opened, enrolments revealed."""

    opened: int = 0
    revealed: int = 0
    batches: int = 0

    def describe(self) -> str:
        return f"{self.opened} next periods opened, {self.revealed} enrolments made visible"


async def run_periods(
    sessions: async_sessionmaker[AsyncSession],
    now: datetime | None = None,
    after_batch: Callable[[PeriodsRun], Awaitable[None]] | None = None,
) -> PeriodsRun:
    """The daily "rule-periods" job: open every missing next period (one transaction per rule
    and completed period, so a run stopped between them resumes where it stopped: the rows
    made are no longer anyone's completed current period), then reveal what is due to show."""
    now = now or utcnow()
    run = PeriodsRun()
    async with sessions() as session:
        rules = await recurring_rules(session, None)
    for rule in rules:
        async with sessions() as session:
            done = completed_current(rule.rule.item_id).subquery("done")
            keys = sorted((await session.execute(select(done.c.period).distinct())).scalars())
        for key in keys:
            async with sessions() as session, session.begin():
                made = await open_for(session, rule, int(key), None, now)
            run.opened += len(made.enrolled) if made else 0
            run.batches += 1
            if after_batch is not None:
                await after_batch(run)
    async with sessions() as session, session.begin():
        run.revealed = len(await reveal(session, now))
    return run
