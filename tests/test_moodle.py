"""The Moodle connector end to end in process: enrolments written by handlers.enrol fan out to
the outbox, the real Moodle channel pushes them over HTTP to a stand-in of Moodle's REST
web-service endpoint on loopback (tests/support/moodle_standin.py), and the completion poll reads
them back. A hand-moved clock stands in for the outbox's pauses."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from store.models import CatalogItem, Enrolment, Identity, MoodleNotice, OutboxStatus
from tests.support.moodle_world import TOKEN, World


async def test_an_enrolment_in_a_mapped_item_is_pushed_and_the_person_looked_up_once(
    sessions, http, moodle
):
    site, url = moodle
    world = await World(sessions, http, url).build()
    first = await world.enrol("ann@example.com", "m101")
    await world.enrol("ann@example.com", "plain")  # no Moodle course: not pushed
    await world.deliver()
    await world.enrol("ann@example.com", "m102")
    await world.deliver()

    async with sessions() as s:
        started = await s.scalar(select(Enrolment.enrolled_at).where(Enrolment.id == first))
        identity = (
            await s.execute(select(Identity).where(Identity.provider == "moodle"))
        ).scalar_one()
    assert site.enrolments == {
        (101, 7): {"roleid": 5, "timestart": int(started.timestamp())},
        (102, 7): {"roleid": 5, "timestart": site.enrolments[(102, 7)]["timestart"]},
    }
    assert len(site.called("core_user_get_users_by_field")) == 1, [c[0] for c in site.calls]
    assert site.called("core_user_get_users_by_field")[0] == {
        "field": "email",
        "values": {"0": "ann@example.com"},
    }
    assert (identity.subject, identity.user_id) == ("7", world.people["ann@example.com"].id)
    pushes = await world.pushes()
    assert [p.payload["course_id"] for p in pushes] == [101, 102]
    assert {p.status for p in pushes} == {OutboxStatus.SENT}
    assert await world.notices() == []


async def test_nothing_is_pushed_while_no_site_is_set(sessions, http, moodle):
    site, url = moodle
    world = await World(sessions, http, url).build(site=False)
    await world.enrol("ann@example.com", "m101")
    await world.deliver()
    assert await world.pushes() == [] and site.calls == []


async def test_moodle_down_is_retried_later_and_nothing_is_lost_across_a_restart(
    sessions, http, moodle
):
    site, url = moodle
    world = await World(sessions, http, url).build()
    site.down = True
    await world.enrol("ann@example.com", "m101")
    await world.enrol("bob@example.com", "m102")
    await world.deliver(rounds=3)
    pushes = await world.pushes()
    assert {p.status for p in pushes} == {OutboxStatus.PENDING}
    assert all(p.attempts == 3 and "HTTP 503" in p.last_error for p in pushes)
    assert site.enrolments == {}

    site.down = False
    world.connect()  # a new process: only the database remembers
    await world.deliver()
    assert set(site.enrolments) == {(101, 7), (102, 8)}
    assert {p.status for p in await world.pushes()} == {OutboxStatus.SENT}
    assert await world.notices() == []  # an outage is retried, not an admin's problem


CASES = {
    "invalidtoken": "Site administration > Server > Web services > Manage tokens",
    "accessexception": "to the external service of MOODLE_TOKEN",
    "wsnoinstance": 'add (or enable) "Manual enrolments"',
    "wsusercannotassign": "enrol/manual:enrol capability",
    "nouser": "cat@example.com has no Moodle account with that email",
}


@pytest.mark.parametrize("kind", CASES)
async def test_each_moodle_error_is_told_to_the_admins_once_and_pushed_once_fixed(
    sessions, http, moodle, kind
):
    site, url = moodle
    world = World(sessions, http, url, token="wrong" if kind == "invalidtoken" else TOKEN)
    await world.build()
    slug, people = "m101", ["ann@example.com", "bob@example.com"]
    if kind == "accessexception":
        site.enabled = ("core_user_get_users_by_field",)
    elif kind == "wsnoinstance":
        site.courses[101].manual = False
    elif kind == "wsusercannotassign":
        site.can_assign = False
    elif kind == "nouser":
        people = ["cat@example.com"]
    for email in people:
        await world.enrol(email, slug)
    await world.deliver(rounds=3)

    [told] = await world.notices()
    assert CASES[kind] in told
    if kind == "wsnoinstance":
        assert "Moodle course 101" in told
    pushes = await world.pushes()
    assert {p.status for p in pushes} == {OutboxStatus.PENDING}
    assert all(p.last_error.startswith(kind) for p in pushes), [p.last_error for p in pushes]

    # Fixed in Moodle: the waiting pushes go through, and the problem may be told again.
    world.connect()
    site.enabled = tuple(site.__class__().enabled)
    site.courses[101].manual, site.can_assign = True, True
    site.add_user(9, "cat@example.com")
    world.clock.advance(7 * 3600)
    await world.deliver()
    assert {p.status for p in await world.pushes()} == {OutboxStatus.SENT}
    assert len(site.enrolments) == len(people)
    async with sessions() as s:
        left = await s.scalar(select(func.count()).select_from(MoodleNotice))
    assert left == (1 if kind == "nouser" else 0)  # a missing account is told once, ever


async def test_a_course_with_no_manual_instance_holds_up_no_other_course(sessions, http, moodle):
    site, url = moodle
    world = await World(sessions, http, url).build()
    site.courses[101].manual = False
    await world.enrol("ann@example.com", "m101")
    await world.enrol("ann@example.com", "m102")
    await world.deliver()
    assert set(site.enrolments) == {(102, 7)}


async def test_unmapping_an_item_stops_its_pushes_to_come(sessions, http, moodle):
    _, url = moodle
    world = await World(sessions, http, url).build()
    async with sessions() as s, s.begin():
        await s.execute(
            update(CatalogItem).where(CatalogItem.slug == "m101").values(moodle_course_id=None)
        )
    await world.enrol("ann@example.com", "m101")
    assert await world.pushes() == []
