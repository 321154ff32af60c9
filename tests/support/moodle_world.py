"""The Moodle connector's test world: a stand-in Moodle site served once per module on loopback
(tests/support/moodle_standin.py), and an organisation with an admin, items mapped to courses 101,
102 and 103 and one not mapped, people, the Moodle channel and the outbox on a hand-moved clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from bot.moodle.channel import moodle_channel
from bot.moodle.client import MoodleClient
from bot.moodle.connector import Connector
from handlers.alert_message import NOTICE
from handlers.enrol import Outcome, enrol
from handlers.moodle.site import sync_site
from handlers.outbox import Delivery
from handlers.withdrawals import WithdrawOutcome, withdraw
from store.models import Enrolment, EnrolmentSource, OutboxMessage
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
def moodle_served():
    site = MoodleSite()
    with ServedApp(standin_app(site)) as app:
        yield site, app.url


@pytest.fixture
def moodle(moodle_served):
    site, url = moodle_served
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

    async def withdraw(self, email: str, slug: str) -> None:
        """Withdrawn as an admin or the API withdraws (handlers.withdrawals)."""
        async with self.sessions() as s, s.begin():
            enrolment = (
                await s.execute(
                    select(Enrolment).where(
                        Enrolment.user_id == self.people[email].id,
                        Enrolment.item_id == self.items[slug].id,
                    )
                )
            ).scalar_one()
            outcome = await withdraw(s, organisation_id=self.org.id, enrolment=enrolment, by="t")
            assert outcome is WithdrawOutcome.WITHDRAWN

    async def deliver(self, rounds: int = 1) -> None:
        for _ in range(rounds):
            self.clock.at = max(self.clock.at, datetime.now(UTC))  # rows are stamped real time
            await self.delivery.run_once()
            self.clock.advance(1000)  # past any backoff but the hours a missing account waits

    async def actions(self) -> list[tuple[str, int, str]]:
        """Each push: its action, course and status, oldest first."""
        return [
            (p.payload["action"], p.payload["course_id"], p.status.value)
            for p in await self.pushes()
        ]

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
