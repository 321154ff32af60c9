"""The Moodle connector end to end in process: enrolments written by handlers.enrol fan out to
the outbox, the real Moodle channel pushes them over HTTP to a stand-in of Moodle's REST
web-service endpoint on loopback (tests/support/moodle_standin.py), and the completion poll reads
them back. A hand-moved clock stands in for the outbox's pauses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from bot.moodle.channel import moodle_channel
from bot.moodle.client import MoodleClient
from bot.moodle.connector import Connector
from handlers.alert_message import NOTICE
from handlers.enrol import Outcome, enrol
from handlers.moodle.site import sync_site
from handlers.outbox import Delivery
from store.models import (
    CatalogItem,
    Enrolment,
    EnrolmentSource,
    Identity,
    MoodleNotice,
    OutboxMessage,
    OutboxStatus,
)
from tests.support import factories
from tests.support.moodle_standin import Course, MoodleSite, standin_app
from tests.support.servers import ServedApp

BOSS = "boss@example.com"
TOKEN = "moodle-token"


class Clock:
    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def served():
    site = MoodleSite()
    with ServedApp(standin_app(site)) as app:
        yield site, app.url


@pytest.fixture
def moodle(served):
    site, url = served
    site.reset()
    site.courses = {101: Course(101), 102: Course(102)}
    site.add_user(7, "ann@example.com")
    site.add_user(8, "bob@example.com")
    return site, url


@pytest.fixture
async def http():
    async with httpx.AsyncClient() as client:
        yield client


class World:
    """An organisation with a Moodle site, an admin, mapped and unmapped items, people; the
    Moodle channel and the outbox."""

    def __init__(self, sessions, http, url: str, token: str = TOKEN) -> None:
        self.sessions, self.http, self.url = sessions, http, url
        self.clock = Clock()
        self.connect(token)

    def connect(self, token: str = TOKEN) -> None:
        """A new connector and outbox, as after a restart."""
        client = MoodleClient(self.http, self.url, token, timeout=2.0)
        self.connector = Connector(
            self.sessions, client, role_id=5, bootstrap_admins=frozenset({BOSS}), clock=self.clock
        )
        channels = {"moodle": moodle_channel(self.connector)}
        self.delivery = Delivery(self.sessions, channels, clock=self.clock, lease_seconds=60)

    async def build(self, *, site: bool = True) -> World:
        async with self.sessions() as s, s.begin():
            self.org = await factories.organisation(s)
            await factories.user(s, self.org, BOSS)
            self.items = {}
            for slug, course in (("m101", 101), ("m102", 102), ("m103", 103), ("plain", None)):
                item = await factories.item(s, self.org, slug)
                item.moodle_course_id = course
                self.items[slug] = item
            self.people = {
                e: await factories.user(s, self.org, e)
                for e in ("ann@example.com", "bob@example.com", "cat@example.com")
            }
            if site:
                await sync_site(s, self.org.id, self.url)
        return self

    async def enrol(self, email: str, slug: str) -> int:
        async with self.sessions() as s, s.begin():
            outcome = await enrol(
                s,
                organisation=self.org,
                user=self.people[email],
                item=self.items[slug],
                source=EnrolmentSource.API,
                by="t",
            )
            assert outcome is Outcome.ENROLLED
            return await s.scalar(
                select(Enrolment.id).where(
                    Enrolment.user_id == self.people[email].id,
                    Enrolment.item_id == self.items[slug].id,
                )
            )

    async def deliver(self, rounds: int = 1) -> None:
        for _ in range(rounds):
            self.clock.at = max(self.clock.at, datetime.now(UTC))  # rows are stamped real time
            await self.delivery.run_once()
            self.clock.advance(1000)  # past any backoff but the hours a missing account waits

    async def pushes(self) -> list[OutboxMessage]:
        async with self.sessions() as s:
            rows = await s.execute(
                select(OutboxMessage).where(OutboxMessage.kind == "moodle").order_by("id")
            )
            return list(rows.scalars())

    async def notices(self) -> list[str]:
        async with self.sessions() as s:
            rows = await s.execute(
                select(OutboxMessage.payload).where(
                    OutboxMessage.kind == NOTICE, OutboxMessage.destination == f"email:{BOSS}"
                )
            )
            return [p["text"] for p in rows.scalars()]


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
