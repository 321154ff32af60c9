"""Recurring rules (seed 004): the next period's key, due date and visibility across a year
boundary, a leap day and month ends; completing a period opens the next one (through
handlers.completions, singly and set-based); the daily periods job reveals enrolments made
ahead on their day, and a run stopped between batches resumes without duplicates. Every clock
is the test's: `now` is passed, never waited for."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from handlers import completions
from handlers.commands import run
from handlers.rules import saved
from handlers.rules.apply import enrol_matching
from handlers.rules.criteria import Criteria
from handlers.rules.follow import Follower
from handlers.rules.periods import run_periods
from handlers.rules.schedule import day_of, first_period, next_period
from store.models import (
    CatalogItem,
    Due,
    Enrolment,
    EnrolmentRule,
    EnrolmentSource,
    EnrolmentStatus,
    Organisation,
    Recur,
    User,
)
from tests.support import factories
from tests.support.command_world import BOSS


def at(y: int, m: int, d: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=UTC)


def rule(**terms) -> EnrolmentRule:
    return EnrolmentRule(**{"due": Due.NONE, "recur": Recur.ONCE, **terms})


def chain(r: EnrolmentRule, first: int, count: int) -> list[tuple[date, date | None]]:
    """`count` periods after `first`, each completed on its own start day."""
    out, key = [], first
    for _ in range(count):
        p = next_period(r, key, datetime.combine(day_of(key), datetime.min.time(), UTC))
        assert p is not None
        out.append((day_of(p.key), p.due_at.date() if p.due_at else None))
        key = p.key
    return out


def test_annual_each_year_crosses_the_year_and_the_leap_day():
    oct1 = rule(due=Due.EACH_YEAR, due_month=10, due_day=1, recur=Recur.ANNUAL)
    # Seed 004: the 2019-2020 period completed opens 2020-2021's, due in 2021.
    p = next_period(oct1, 20201001, at(2020, 9, 15))
    assert (p.key, p.due_at) == (20211001, at(2021, 10, 1, 0))
    # Completed after the year turned: the next is still the following 1 October.
    assert next_period(oct1, 20201001, at(2021, 1, 3)).key == 20211001
    # Completed so late the next period's date has passed: that period is skipped.
    assert next_period(oct1, 20201001, at(2021, 10, 5)).key == 20221001
    new_year = rule(due=Due.EACH_YEAR, due_month=1, due_day=1, recur=Recur.ANNUAL)
    assert next_period(new_year, 20270101, at(2026, 12, 30)).key == 20280101
    leap = rule(due=Due.EACH_YEAR, due_month=2, due_day=29, recur=Recur.ANNUAL)
    assert first_period(leap, at(2027, 1, 5)).key == 20270228
    assert [d for d, _ in chain(leap, 20270228, 5)] == [
        date(2028, 2, 29),
        date(2029, 2, 28),
        date(2030, 2, 28),
        date(2031, 2, 28),
        date(2032, 2, 29),
    ]


def test_start_anchored_periods_every_days_months_and_year():
    days = rule(due=Due.WITHIN, due_days=14, recur=Recur.DAYS, recur_every=90)
    assert chain(days, 20261215, 2) == [
        (date(2027, 3, 15), date(2027, 3, 29)),
        (date(2027, 6, 13), date(2027, 6, 27)),
    ]
    # Every month from 31 January: the end of each month, never drifting to the 28th.
    months = rule(recur=Recur.MONTHS, recur_every=1)
    assert [d for d, _ in chain(months, 20270131, 4)] == [
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
        date(2027, 5, 31),
    ]
    quarter = rule(recur=Recur.MONTHS, recur_every=3, due=Due.WITHIN, due_days=30)
    assert chain(quarter, 20261115, 1) == [(date(2027, 2, 15), date(2027, 3, 17))]
    annual = rule(recur=Recur.ANNUAL, due=Due.WITHIN, due_days=30)
    assert chain(annual, 20261220, 1) == [(date(2027, 12, 20), date(2028, 1, 19))]
    assert [d for d, _ in chain(annual, 20240229, 2)] == [date(2025, 2, 28), date(2026, 2, 28)]
    # Completed late: periods whose due date passed are skipped.
    p = next_period(days, 20260101, at(2026, 6, 1))
    assert (day_of(p.key), p.due_at) == (date(2026, 6, 30), at(2026, 7, 14, 0))
    assert next_period(rule(), 20260101, at(2026, 6, 1)) is None  # recurs once


def test_first_due_within_and_enrol_days_before():
    r = rule(
        due=Due.EACH_YEAR,
        due_month=10,
        due_day=1,
        recur=Recur.ANNUAL,
        first_due_within=30,
        enrol_days_before=60,
    )
    # Enrolled 11 days before 1 October: due 30 days from enrolment, in the 1 October period.
    close = first_period(r, at(2027, 9, 20))
    assert (close.key, close.due_at, close.visible_from) == (20271001, at(2027, 10, 20, 0), None)
    # Far from it: due on 1 October, hidden until 60 days before (2 August).
    far = first_period(r, at(2027, 3, 1))
    assert (far.key, far.due_at, far.visible_from) == (
        20271001,
        at(2027, 10, 1, 0),
        at(2027, 8, 2, 0),
    )
    # The next period is due on 1 October, never first-due-within.
    after = next_period(r, 20271001, at(2027, 10, 10))
    assert (after.key, after.due_at, after.visible_from) == (
        20281001,
        at(2028, 10, 1, 0),
        at(2028, 8, 2, 0),
    )


ANNUAL_OCT = saved.Terms(
    due=Due.EACH_YEAR, due_month=10, due_day=1, recur=Recur.ANNUAL, enrol_days_before=60
)


async def _setup(sessions, n: int = 3, terms: saved.Terms = ANNUAL_OCT):
    async with sessions() as s, s.begin():
        org = await factories.organisation(s)
        item = await factories.item(s, org, "compliance")
        people = [(await factories.user(s, org, f"p{i}@example.com")).id for i in range(n)]
        r = await saved.create_rule(
            s, item, Criteria(org.id, everyone=True), terms, created_by="t", created_by_user_id=None
        )
        (loaded,) = await saved.load(s, rule_ids=[r.id])
        await enrol_matching(s, loaded, now=at(2027, 9, 1))
    return org.id, item.id, people


async def _rows(sessions, item_id):
    async with sessions() as s:
        rows = await s.execute(
            select(Enrolment.user_id, Enrolment.period, Enrolment.status, Enrolment.visible_from)
            .where(Enrolment.item_id == item_id)
            .order_by(Enrolment.user_id, Enrolment.period)
        )
        return [tuple(r) for r in rows]


async def _report_completion(
    sessions, org_id: int, item_id: int, user_id: int, *, now: datetime
) -> completions.Completion:
    """The API reports the person completed the item on 20 September 2027."""
    async with sessions() as s, s.begin():
        org, item = await s.get(Organisation, org_id), await s.get(CatalogItem, item_id)
        user = await s.get(User, user_id)
        return await completions.complete(
            s,
            organisation=org,
            user=user,
            item=item,
            completed_at=at(2027, 9, 20),
            source=EnrolmentSource.API,
            by="api:test#1",
            now=now,
        )


async def _next_years_enrolment(sessions, user_id: int) -> Enrolment:
    """The person's enrolment in the period that opens on 1 October 2028."""
    async with sessions() as s:
        query = select(Enrolment).where(Enrolment.user_id == user_id, Enrolment.period == 20281001)
        return (await s.execute(query)).scalar_one()


async def test_completing_opens_next_period_hidden_until_its_day(sessions):
    org_id, item_id, people = await _setup(sessions)
    done = await _report_completion(sessions, org_id, item_id, people[0], now=at(2027, 9, 20))
    assert done.outcome is completions.CompletionOutcome.COMPLETED
    rows = await _rows(sessions, item_id)
    assert rows[:2] == [
        (people[0], 20271001, EnrolmentStatus.COMPLETED, None),
        (people[0], 20281001, EnrolmentStatus.ENROLLED, at(2028, 8, 2, 0)),
    ]
    nxt = await _next_years_enrolment(sessions, people[0])
    assert (nxt.due_at, nxt.source, nxt.required) == (
        at(2028, 10, 1, 0),
        EnrolmentSource.RULE,
        True,
    )
    # The same report again (a retry, a file imported twice) predates the period it opened:
    # nothing changes, and next year's period stays open.
    again = await _report_completion(sessions, org_id, item_id, people[0], now=at(2027, 9, 22))
    assert again == completions.Completion(
        completions.CompletionOutcome.ALREADY_COMPLETED, done.enrolment_id
    )
    assert await _rows(sessions, item_id) == rows
    # The periods job the day before changes nothing; on 2 August it reveals the row, which
    # counts as enrolled that day (seed 004's Enrolled On Date).
    assert (await run_periods(sessions, now=at(2028, 8, 1, 23))).revealed == 0
    run = await run_periods(sessions, now=at(2028, 8, 2, 0, 5))
    assert (run.opened, run.revealed) == (0, 1)
    nxt = await _next_years_enrolment(sessions, people[0])
    shown = (nxt.enrolled_at, nxt.visible_from)
    assert tuple(shown) == (at(2028, 8, 2, 0), None)
    assert (await run_periods(sessions, now=at(2028, 8, 2, 0, 6))).revealed == 0


class Killed(Exception):
    pass


async def test_periods_job_stopped_between_batches_resumes_without_duplicates(sessions):
    terms = saved.Terms(due=Due.WITHIN, due_days=10, recur=Recur.MONTHS, recur_every=1)
    _, item_id, people = await _setup(sessions, n=4, terms=terms)  # all on 1 Sep 2027
    async with sessions() as s, s.begin():
        # Someone else's period started on 31 January; every period completed, with no next
        # period opened (completed before this rule existed, or a completion missed).
        await s.execute(
            Enrolment.__table__.update()
            .where(Enrolment.user_id == people[3])
            .values(period=20280131)
        )
        await s.execute(
            Enrolment.__table__.update()
            .where(Enrolment.item_id == item_id)
            .values(status=EnrolmentStatus.COMPLETED, completed_at=at(2027, 9, 2))
        )

    async def kill(run):
        raise Killed

    with pytest.raises(Killed):
        await run_periods(sessions, now=at(2027, 9, 10), after_batch=kill)
    assert len(await _rows(sessions, item_id)) == 7  # the first batch stayed written
    resumed = await run_periods(sessions, now=at(2027, 9, 10))
    assert resumed.opened == 1
    rows = await _rows(sessions, item_id)
    assert [(u, p) for u, p, status, _ in rows if status is EnrolmentStatus.ENROLLED] == [
        (people[0], 20271001),
        (people[1], 20271001),
        (people[2], 20271001),
        (people[3], 20280229),  # the end of the month after 31 January, in a leap year
    ]
    again = await run_periods(sessions, now=at(2027, 9, 11))
    assert (again.opened, again.revealed) == (0, 0)
    async with sessions() as s:
        count = await s.execute(
            select(func.count()).select_from(Enrolment).where(Enrolment.item_id == item_id)
        )
        assert count.scalar_one() == 8


async def _periods_of(acme, email):
    async with acme.sessions() as s:
        rows = await s.execute(
            select(Enrolment.period, Enrolment.status, Enrolment.due_at, Enrolment.visible_from)
            .where(Enrolment.user_id == acme.users[email].id, Enrolment.item_id == acme.safety.id)
            .order_by(Enrolment.period)
        )
        return [tuple(r) for r in rows]


async def _enrolled_by_the_follower(acme, email, count):
    # How fast is bench.rules' figure; a test only waits, generously, for it to happen.
    began = time.monotonic()
    while len(await _periods_of(acme, email)) < count:
        assert time.monotonic() - began < 30, f"{email} not enrolled by the follower"
        await asyncio.sleep(0.02)


async def test_readme_annual_compliance_for_a_department_end_to_end(acme):
    """The README's scenario: required each year by 1 October for a department, enrolled 60 days
    before; a joiner is enrolled on the spot; a learner who completes gets next year's period."""
    clock = [at(2027, 7, 1)]
    follower = asyncio.create_task(Follower(acme.sessions, clock=lambda: clock[0]).follow())
    try:
        ctx = await acme.ctx(BOSS)
        await run(ctx, "group create Compliance --kind department")
        await run(ctx, "group add Compliance ann@example.com")
        reply = await run(  # the README's command, word for word
            ctx,
            "rule create safety-101 --group department:Compliance --required --due-each-year "
            '10-01 --recur annual --enrol-days-before 60 --reason "Annual compliance"',
        )
        assert reply.text.startswith("Rule 1 saved: Safety 101 for everyone in Compliance"), reply
        await acme.session.commit()
        await _enrolled_by_the_follower(acme, "ann@example.com", 1)
        # Made now, shown 60 days before 1 October.
        assert await _periods_of(acme, "ann@example.com") == [
            (20271001, EnrolmentStatus.ENROLLED, at(2027, 10, 1, 0), at(2027, 8, 2, 0))
        ]
        assert (await run_periods(acme.sessions, now=at(2027, 8, 2, 0, 5))).revealed == 1
        # Someone who joins the department in August is enrolled on the spot, visible at once.
        clock[0] = at(2027, 8, 15)
        await run(ctx, "group add Compliance cat@example.com")
        await acme.session.commit()
        await _enrolled_by_the_follower(acme, "cat@example.com", 1)
        assert await _periods_of(acme, "cat@example.com") == [
            (20271001, EnrolmentStatus.ENROLLED, at(2027, 10, 1, 0), None)
        ]
        # Ann completes (the API and the completions import come this way): next year's period.
        done = await completions.complete(
            acme.session,
            organisation=acme.org,
            user=acme.users["ann@example.com"],
            item=acme.safety,
            completed_at=at(2027, 9, 20),
            source=EnrolmentSource.API,
            by="api:lms#1",
            now=at(2027, 9, 20),
        )
        await acme.session.commit()
        assert done.next_period == 20281001
        assert await _periods_of(acme, "ann@example.com") == [
            (20271001, EnrolmentStatus.COMPLETED, at(2027, 10, 1, 0), None),
            (20281001, EnrolmentStatus.ENROLLED, at(2028, 10, 1, 0), at(2028, 8, 2, 0)),
        ]
        assert (await run_periods(acme.sessions, now=at(2028, 8, 2, 0, 5))).revealed == 1
        assert (await _periods_of(acme, "ann@example.com"))[1][3] is None
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower


def test_the_periods_job_runs_daily_after_midnight_and_at_start():
    from bot.scheduler import service_jobs

    async def nothing() -> None:
        return None

    jobs = service_jobs(
        delivery=None,  # type: ignore[arg-type]
        delivery_seconds=0,
        delivery_lease_seconds=30,
        sqlite_file=None,
        rule_periods=nothing,
    )
    [job] = list(jobs)
    assert (job.name, job.cron, job.lease, job.at_start) == (
        "rule-periods",
        "5 0 * * *",
        3600,
        True,
    )
