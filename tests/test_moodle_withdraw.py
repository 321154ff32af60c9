"""Withdrawals reaching Moodle: a withdrawn enrolment in a mapped item is pushed through the
outbox with `enrol_manual_unenrol_users` (in the withdrawal's transaction, set-based for a rule's
leavers), never ahead of an enrol that may still reach Moodle, and an enrol not sent yet is
dropped instead. The real Moodle channel talks HTTP to the stand-in on loopback; a hand-moved
clock stands in for the outbox's pauses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from handlers.moodle import checks
from handlers.moodle.site import lane, sync_site
from handlers.rules import saved
from handlers.rules.follow import Follower
from store.models import CatalogItem, DeliveryLane, MoodleNotice, utcnow
from tests.support.moodle_world import World
from tests.support.rules_world import rules_world

UNENROL = "enrol_manual_unenrol_users"


async def test_a_withdrawal_unenrols_the_person_in_moodle_after_their_enrol(sessions, http, moodle):
    site, url = moodle
    world = await World(sessions, http, url).build()
    await world.enrol("ann@example.com", "m101")
    await world.enrol("bob@example.com", "m101")
    await world.deliver()
    assert set(site.enrolments) == {(101, 7), (101, 8)}

    await world.withdraw("ann@example.com", "m101")
    assert await world.actions() == [
        ("enrol", 101, "sent"),
        ("enrol", 101, "sent"),
        ("unenrol", 101, "pending"),
    ]
    await world.deliver()
    assert set(site.enrolments) == {(101, 8)}
    assert site.called(UNENROL) == [{"enrolments": {"0": {"userid": "7", "courseid": "101"}}}]
    assert [a[2] for a in await world.actions()] == ["sent"] * 3
    assert await world.notices() == []


async def test_nothing_goes_for_an_unmapped_item_or_without_a_site(sessions, http, moodle):
    site, url = moodle
    world = await World(sessions, http, url).build()
    await world.enrol("ann@example.com", "plain")
    await world.withdraw("ann@example.com", "plain")
    assert await world.pushes() == []
    async with sessions() as s, s.begin():
        await sync_site(s, world.org.id, None)  # MOODLE_URL cleared
    await world.enrol("ann@example.com", "m101")
    await world.withdraw("ann@example.com", "m101")
    await world.deliver()
    assert await world.pushes() == [] and site.calls == []


async def test_an_enrol_not_sent_yet_is_dropped_and_the_unenrol_goes_at_once(
    sessions, http, moodle
):
    site, url = moodle
    world = await World(sessions, http, url).build()
    await world.enrol("ann@example.com", "m101")
    await world.withdraw("ann@example.com", "m101")  # before the enrol went out
    assert await world.actions() == [("unenrol", 101, "pending")]

    # An enrol being retried (no Moodle account yet: its lane waits six hours) is dropped too,
    # and the lane sends the unenrol without waiting.
    await world.enrol("cat@example.com", "m102")
    await world.deliver()
    [waiting] = [p for p in await world.pushes() if p.payload["email"] == "cat@example.com"]
    assert (waiting.status.value, waiting.attempts) == ("pending", 1)
    site.add_user(9, "cat@example.com")
    site.enrolments[(102, 9)] = {"roleid": 5, "timestart": 0}  # enrolled in Moodle by hand
    await world.withdraw("cat@example.com", "m102")
    await world.deliver()

    assert site.called("enrol_manual_enrol_users") == []
    assert site.called(UNENROL) == [
        {"enrolments": {"0": {"userid": "7", "courseid": "101"}}},
        {"enrolments": {"0": {"userid": "9", "courseid": "102"}}},
    ]
    assert site.enrolments == {}
    assert await world.actions() == [("unenrol", 101, "sent"), ("unenrol", 102, "sent")]


async def test_an_enrol_a_worker_is_sending_stays_and_the_unenrol_follows_it(
    sessions, http, moodle
):
    site, url = moodle
    world = await World(sessions, http, url).build()
    await world.enrol("ann@example.com", "m101")
    ann = lane(world.org.id, world.people["ann@example.com"].id, world.items["m101"].id)
    async with sessions() as s, s.begin():  # another worker holds the lane: its send may land
        s.add(
            DeliveryLane(
                destination=ann,
                not_before=utcnow(),
                lease_until=utcnow() + timedelta(minutes=1),
                lease_owner="another worker",
            )
        )
    await world.withdraw("ann@example.com", "m101")
    assert await world.actions() == [("enrol", 101, "pending"), ("unenrol", 101, "pending")]

    async with sessions() as s, s.begin():  # that worker died; its lease ran out
        await s.execute(update(DeliveryLane).values(lease_until=None, lease_owner=None))
    await world.deliver(rounds=2)
    assert [name for name, _ in site.calls if name != "core_user_get_users_by_field"] == [
        "enrol_manual_enrol_users",
        UNENROL,
    ]
    assert site.enrolments == {}
    assert await world.actions() == [("enrol", 101, "sent"), ("unenrol", 101, "sent")]


CASES = {
    "nopermissions": "enrol/manual:unenrol capability",
    "wsnoinstance": 'add (or enable) "Manual enrolments"',
    "manualpluginnotinstalled": "Manage enrol plugins",
}


@pytest.mark.parametrize("kind", CASES)
async def test_an_unenrol_moodle_refuses_is_told_once_and_sent_once_fixed(
    sessions, http, moodle, kind
):
    site, url = moodle
    world = await World(sessions, http, url).build()
    for email in ("ann@example.com", "bob@example.com"):
        await world.enrol(email, "m101")
    await world.deliver()
    site.can_unenrol = kind != "nopermissions"
    site.courses[101].manual = kind != "wsnoinstance"
    site.manual_plugin = kind != "manualpluginnotinstalled"
    for email in ("ann@example.com", "bob@example.com"):
        await world.withdraw(email, "m101")
    await world.deliver(rounds=3)

    [told] = await world.notices()
    assert CASES[kind] in told
    leaving = [p for p in await world.pushes() if p.payload["action"] == "unenrol"]
    assert {p.status.value for p in leaving} == {"pending"}
    assert all(p.last_error.startswith(kind) for p in leaving), [p.last_error for p in leaving]
    assert set(site.enrolments) == {(101, 7), (101, 8)}  # nothing taken away: all or nothing
    async with sessions() as s:
        shown = await checks.status(s, world.org.id)  # what `enrolbot moodle status` lists
    assert [(p[0], p[1]) for p in shown.problems] == [
        ("ann@example.com", "101 (unenrol)"),
        ("bob@example.com", "101 (unenrol)"),
    ]

    site.can_unenrol, site.courses[101].manual, site.manual_plugin = True, True, True
    await world.deliver()
    assert site.enrolments == {}
    assert {a[2] for a in await world.actions()} == {"sent"}
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(MoodleNotice)) == 0


async def test_a_rules_leavers_are_unenrolled_together(sessions, http, moodle):
    site, url = moodle
    w = await rules_world(sessions)
    site.add_user(9, "cat@example.com")
    site.add_user(10, "dan@example.com")
    async with sessions() as s, s.begin():
        await s.execute(update(CatalogItem).values(moodle_course_id=101))
        await sync_site(s, w.org.id, url)
    sales = await w.group("Sales")
    await w.rule(group_ids=(sales,), terms=saved.Terms(withdraw_on_leave=True))
    follower = Follower(sessions)
    await follower.step()
    await w.join(sales, "bob", "cat", "dan")
    await follower.step()
    moodle_world = World(sessions, http, url)  # its channel and outbox, over the rule's people
    await moodle_world.deliver()
    assert set(site.enrolments) == {(101, 8), (101, 9), (101, 10)}

    await w.join(sales, "bob", "cat", leave=True)
    await follower.step()
    assert [a[0] for a in await moodle_world.actions()] == ["enrol"] * 3 + ["unenrol"] * 2
    await moodle_world.deliver()
    assert set(site.enrolments) == {(101, 10)}
    assert sorted(c["enrolments"]["0"]["userid"] for c in site.called(UNENROL)) == ["8", "9"]
    assert await w.enrolled() == [w.people["dan"]]
