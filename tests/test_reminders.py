"""Reminders of due dates: the 7/1/0-day reminders queued on the right days and gathered into one
message per person per day; none after completion, withdrawal, deactivation or a mute; quiet
hours in the person's own zone across daylight-saving changes, weekends deferred to Monday;
a scan run twice or killed between batches neither duplicates nor skips. The clock is the
tests': every scan is given its `now`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from handlers.outbox import Batch, Channel, Delivery, SendOutcome
from handlers.reminders.quiet_hours import next_allowed
from handlers.reminders.scan import _batches, owed_offset, plan, record, run_scan
from handlers.reminders.words import REMINDER, compose
from store.models import (
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    Identity,
    Organisation,
    OutboxMessage,
    ReminderMute,
    ReminderSent,
    User,
    UserStatus,
)
from tests.support import factories

DUE = date(2027, 6, 16)  # a Wednesday


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


class World:
    def __init__(self, sessions) -> None:
        self.sessions = sessions
        self.org_id = 0
        self.items: dict[str, int] = {}
        self.people: dict[str, int] = {}

    async def setup(self, items=("safety", "privacy"), people=("ann", "bob")) -> World:
        async with self.sessions() as s, s.begin():
            org = await factories.organisation(s)
            self.org_id = org.id
            for slug in items:
                made = await factories.item(s, org, slug, url=f"https://lms.example/{slug}")
                self.items[slug] = made.id
            for name in people:
                person = await factories.user(s, org, f"{name}@example.com", first_name=name)
                self.people[name] = person.id
                s.add(
                    Identity(
                        provider="slack", tenant_key="T1", subject=f"U{name}", user_id=person.id
                    )
                )
        return self

    async def enrol(self, who: str, slug: str, due: date | None = DUE, **kw) -> int:
        async with self.sessions() as s, s.begin():
            row = Enrolment(
                user_id=self.people[who],
                item_id=self.items[slug],
                source=EnrolmentSource.RULE,
                status=kw.pop("status", EnrolmentStatus.ENROLLED),
                required=True,
                due_at=at(due, 0) if due else None,
                **kw,
            )
            s.add(row)
            await s.flush()
            return row.id

    async def set(self, model, id_: int, **values) -> None:
        async with self.sessions() as s, s.begin():
            row = await s.get(model, id_)
            for key, value in values.items():
                setattr(row, key, value)

    async def outbox(self) -> list[OutboxMessage]:
        async with self.sessions() as s:
            q = select(OutboxMessage).where(OutboxMessage.kind == REMINDER)
            return list((await s.execute(q.order_by(OutboxMessage.id))).scalars())


@pytest.fixture
async def world(sessions) -> World:
    return await World(sessions).setup()


def test_the_owed_offset_runs_from_its_day_to_the_next_ones():
    days = (7, 1, 0)
    assert owed_offset(days, DUE, DUE - timedelta(days=8)) is None
    assert owed_offset(days, DUE, DUE - timedelta(days=7)) == 7
    assert owed_offset(days, DUE, DUE - timedelta(days=2)) == 7
    assert owed_offset(days, DUE, DUE - timedelta(days=1)) == 1
    assert owed_offset(days, DUE, DUE) == 0
    assert owed_offset(days, DUE, DUE + timedelta(days=2)) == 0
    assert owed_offset(days, DUE, DUE + timedelta(days=3)) is None


async def test_reminders_7_1_and_0_days_before_on_the_right_days_once_each(world):
    await world.enrol("ann", "safety")
    queued = {}
    for day in range(-9, 4):
        now = at(DUE + timedelta(days=day))
        result = await run_scan(world.sessions, now)
        queued[day] = [q.offset for q in result.sent_now + result.held]
        assert (await run_scan(world.sessions, now)).queued == 0  # a second run: nothing more
    assert {d: o for d, o in queued.items() if o} == {-7: [7], -1: [1], 0: [0]}
    rows = await world.outbox()
    assert [r.payload["offset"] for r in rows] == [7, 1, 0]
    assert {r.destination for r in rows} == {"slack:T1:Uann"}


async def test_one_message_per_person_per_day_gathers_their_reminders(world):
    await world.enrol("ann", "safety")
    await world.enrol("ann", "privacy", due=DUE + timedelta(days=6))  # its 7-day window too
    await world.enrol("bob", "safety")
    now = at(DUE - timedelta(days=1))
    result = await run_scan(world.sessions, now)
    assert sorted((q.user_id, q.offset) for q in result.sent_now) == sorted(
        [(world.people["ann"], 1), (world.people["ann"], 7), (world.people["bob"], 1)]
    )
    batches: list[Batch] = []

    async def send(batch: Batch) -> SendOutcome:
        batches.append(batch)
        return SendOutcome.sent()

    delivery = Delivery(world.sessions, {"slack": Channel(send)}, clock=lambda: now)
    assert await delivery.run_once() == 2
    by_person = {b.destination: compose(b.payloads, b.total_due) for b in batches}
    ann = by_person["slack:T1:Uann"]
    assert [i.title for i in ann.items] == ["Safety", "Privacy"]
    assert ann.heading() == "A reminder: 2 items of your training need attention."
    bob = by_person["slack:T1:Ubob"]
    assert bob.heading() == "A reminder: Safety is due tomorrow (16 June 2027)."
    # Something new the same day waits for tomorrow: one message a day at most.
    world.items["extra"] = (await _item(world, "extra")).id
    await world.enrol("bob", "extra", due=DUE + timedelta(days=5))
    assert (await run_scan(world.sessions, now + timedelta(hours=2))).queued == 0
    later = await run_scan(world.sessions, now + timedelta(days=1))
    assert {(q.user_id, q.title) for q in later.sent_now} >= {(world.people["bob"], "Extra")}


async def _item(world: World, slug: str):
    async with world.sessions() as s, s.begin():
        org = await s.get(Organisation, world.org_id)
        return await factories.item(s, org, slug, url=f"https://lms.example/{slug}")


async def test_none_after_completion_withdrawal_deactivation_mute_or_before_visible(world):
    async with world.sessions() as s, s.begin():
        org = await s.get(Organisation, world.org_id)
        for slug in ("a", "b", "c", "d", "e"):
            world.items[slug] = (await factories.item(s, org, slug)).id
        carl = await factories.user(s, org, "carl@example.com", status=UserStatus.DEACTIVATED)
        world.people["carl"] = carl.id
    await world.enrol("ann", "safety", status=EnrolmentStatus.COMPLETED)
    await world.enrol("ann", "privacy", status=EnrolmentStatus.WITHDRAWN)
    await world.enrol("ann", "a", visible_from=at(DUE))
    await world.enrol("ann", "b", due=None)
    await world.enrol("carl", "safety")
    await world.enrol("bob", "c")
    await world.enrol("bob", "d")
    await world.enrol("ann", "e")
    async with world.sessions() as s, s.begin():
        s.add(ReminderMute(user_id=world.people["bob"], item_id=world.items["c"]))
        s.add(ReminderMute(user_id=world.people["ann"], item_id=None))  # all
    result = await run_scan(world.sessions, at(DUE - timedelta(days=7)))
    assert [(q.user_id, q.title) for q in result.sent_now] == [(world.people["bob"], "D")]
    # Completed after a reminder was queued: no later reminder.
    [d] = [e for e in await _enrolments(world) if e.item_id == world.items["d"]]
    await world.set(Enrolment, d.id, status=EnrolmentStatus.COMPLETED)
    assert (await run_scan(world.sessions, at(DUE - timedelta(days=1)))).queued == 0


async def _enrolments(world: World) -> list[Enrolment]:
    async with world.sessions() as s:
        return list((await s.execute(select(Enrolment))).scalars())


NEW_YORK = ZoneInfo("America/New_York")
SYDNEY = ZoneInfo("Australia/Sydney")


def local(zone: ZoneInfo, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)


@pytest.mark.parametrize(
    ("zone", "now", "expected"),
    [
        # New York, a weekday evening before clocks go forward on Sunday 14 March 2027: Monday
        # 08:00 EDT is 12:00 UTC, not EST's 13:00.
        (NEW_YORK, local(NEW_YORK, date(2027, 3, 12), 21), local(NEW_YORK, date(2027, 3, 15), 8)),
        (NEW_YORK, datetime(2027, 3, 13, 2, tzinfo=UTC), datetime(2027, 3, 15, 12, tzinfo=UTC)),
        (
            NEW_YORK,
            local(NEW_YORK, date(2027, 3, 15), 7, 59),
            datetime(2027, 3, 15, 12, tzinfo=UTC),
        ),
        (NEW_YORK, local(NEW_YORK, date(2027, 3, 15), 8), local(NEW_YORK, date(2027, 3, 15), 8)),
        (NEW_YORK, local(NEW_YORK, date(2027, 3, 16), 20), datetime(2027, 3, 17, 12, tzinfo=UTC)),
        # Sydney's clocks go back on Sunday 4 April 2027: Monday 08:00 AEST is 22:00 UTC Sunday.
        (SYDNEY, local(SYDNEY, date(2027, 4, 3), 10), datetime(2027, 4, 4, 22, tzinfo=UTC)),
        (SYDNEY, local(SYDNEY, date(2027, 4, 2), 19, 59), local(SYDNEY, date(2027, 4, 2), 19, 59)),
        (SYDNEY, local(SYDNEY, date(2027, 4, 2), 20), datetime(2027, 4, 4, 22, tzinfo=UTC)),
    ],
)
def test_quiet_hours_and_weekends_in_the_persons_own_zone(zone, now, expected):
    assert next_allowed(now, zone) == expected


async def test_a_reminder_in_quiet_hours_is_held_until_the_persons_morning(world):
    await world.set(User, world.people["ann"], time_zone="America/New_York")
    await world.set(Organisation, world.org_id, time_zone="Australia/Sydney")  # Bob's, unset
    due = date(2027, 3, 16)  # a Tuesday; the 1-day reminder is Monday 15th, after the change
    await world.enrol("ann", "safety", due=due)
    await world.enrol("bob", "safety", due=date(2027, 4, 6))
    # Saturday 13 March 2027, 23:00 UTC: New York's Saturday evening, Sydney's Sunday morning.
    result = await run_scan(world.sessions, datetime(2027, 3, 13, 23, tzinfo=UTC))
    assert result.sent_now == []
    # Her 7-day reminder (owed on her Saturday) waits for Monday 08:00 EDT, and is worded for
    # the day it arrives: due tomorrow.
    assert [(q.offset, q.not_before) for q in result.held if q.title == "Safety"] == [
        (1, datetime(2027, 3, 15, 12, tzinfo=UTC))
    ]
    # On Sunday 4 April in Sydney (the clocks went back), Bob's 1-day reminder of Tuesday's due
    # date is Monday's: owed on his Monday, sent at his 08:00.
    monday = await run_scan(world.sessions, datetime(2027, 4, 4, 22, 30, tzinfo=UTC))
    assert [(q.user_id, q.offset, q.not_before) for q in monday.sent_now] == [
        (world.people["bob"], 1, datetime(2027, 4, 4, 22, 30, tzinfo=UTC))
    ]
    sunday = await run_scan(world.sessions, datetime(2027, 4, 3, 23, tzinfo=UTC))  # earlier
    assert sunday.queued == 0


async def test_killed_between_batches_the_next_run_neither_duplicates_nor_skips(world, sessions):
    async with sessions() as s, s.begin():
        org = await s.get(Organisation, world.org_id)
        for n in range(7):
            world.people[f"p{n}"] = (await factories.user(s, org, f"p{n}@example.com")).id
    for name in world.people:
        await world.enrol(name, "safety")
        await world.enrol(name, "privacy")
    now = at(DUE - timedelta(days=7))
    async with sessions() as s:
        org = await s.get(Organisation, world.org_id)
        planned = await plan(s, org, now)
    parts = list(_batches(planned, 3))
    assert all(len({q.user_id for q, _ in part}) == len(part) // 2 for part in parts)
    async with sessions() as s, s.begin():  # the first batch committed, then the process died
        await record(s, parts[0])
    again = await run_scan(sessions, now, batch=3)
    assert again.queued == len(planned) - len(parts[0])
    assert (await run_scan(sessions, now)).queued == 0
    async with sessions() as s:
        sent = await s.scalar(select(func.count()).select_from(ReminderSent))
        rows = await s.scalar(select(func.count()).select_from(OutboxMessage))
    assert sent == rows == 2 * len(world.people)


async def test_a_slack_users_zone_is_kept_on_the_person_when_first_seen(world):
    from bot.slack.directory import profile_of
    from bot.slack.workspace import Workspace
    from handlers.identity import Account, identify

    home = Workspace(team_id="T2", enterprise_id=None)
    slack_user = {
        "id": "U9",
        "team_id": "T2",
        "tz": "Australia/Sydney",
        "profile": {"email": "bob@example.com", "first_name": "Bob", "last_name": "Lee"},
    }
    profile = profile_of(slack_user, home)
    assert profile.time_zone == "Australia/Sydney"

    async def lookup():
        return profile

    async with world.sessions() as s, s.begin():
        org = await s.get(Organisation, world.org_id)
        person = await identify(s, org, Account("slack", "T2", "U9"), lookup)
        assert person.user is not None and person.user.id == world.people["bob"]
    async with world.sessions() as s:
        assert (await s.get(User, world.people["bob"])).time_zone == "Australia/Sydney"
