"""Signed webhooks out, end to end: enrolment events written with the change, delivered through
the outbox by the real webhook channel over HTTP to a loopback receiver that verifies each
signature with the `standardwebhooks` library and drops duplicates by webhook-id. A controllable
clock stands in for the hours of retrying; nothing sleeps for real beyond a receiver's slowness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from bot.webhooks import webhook_channel
from handlers import completions, events, webhooks, withdrawals
from handlers.alert_message import NOTICE
from handlers.enrol import Outcome, enrol
from handlers.outbox import Delivery
from store.models import (
    EndpointState,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    OutboxMessage,
    OutboxStatus,
    WebhookEndpoint,
)
from tests.support import factories
from tests.support.processes import free_port
from tests.support.servers import ServedApp
from tests.support.webhook_receiver import FAIL, KEYS, LOOPBACK_RULES, SLOW, Receiver

T0 = datetime(2026, 11, 22, 10, 5, tzinfo=UTC)
TIMEOUT = 1.0  # seconds a receiver has to answer, here (ample on loopback, even under load)


class Clock:
    """The outbox's time: starting now (events are stamped with the real time), moved on by
    hand past every backoff."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture
async def http():
    async with httpx.AsyncClient() as client:
        yield client


def delivery_for(
    sessions,
    http,
    clock,
    *,
    pause_after=timedelta(days=3),
    admins=frozenset(),
    keys=KEYS,
    rules=LOOPBACK_RULES,
):
    channel = webhook_channel(
        sessions,
        http,
        timeout=TIMEOUT,
        pause_after=pause_after,
        keys=keys,
        rules=rules,
        bootstrap_admins=admins,
        clock=clock,
    )
    return Delivery(sessions, {"webhook": channel}, clock=clock, lease_seconds=60)


async def world(sessions, url: str, names=events.EVENT_TYPES, people=1, items=1):
    """An organisation, its items and people, and an endpoint at `url`: (org, items, users,
    endpoint id, secret)."""
    async with sessions() as s, s.begin():
        org = await factories.organisation(s)
        its = [await factories.item(s, org, f"course-{n}") for n in range(items)]
        users = [await factories.user(s, org, f"p{n}@example.com") for n in range(people)]
        endpoint, secret = await webhooks.add(
            s, org.id, url, list(names), "test", keys=KEYS, rules=LOOPBACK_RULES
        )
        return org, its, users, endpoint.id, secret


async def enrol_all(sessions, org, items, users) -> None:
    async with sessions() as s, s.begin():
        for user in users:
            for item in items:
                outcome = await enrol(
                    s, organisation=org, user=user, item=item, source=EnrolmentSource.API, by="t"
                )
                assert outcome is Outcome.ENROLLED


async def complete(sessions, org, items, users) -> None:
    """Each person completes each item, as the API reports it (handlers.completions)."""
    async with sessions() as s, s.begin():
        for user in users:
            for item in items:
                done = await completions.complete(
                    s,
                    organisation=org,
                    user=user,
                    item=item,
                    completed_at=T0,
                    source=EnrolmentSource.API,
                    by="t",
                    score=0.9,
                )
                assert done.outcome is completions.CompletionOutcome.COMPLETED


async def withdraw(sessions, org, items, users) -> None:
    async with sessions() as s, s.begin():
        for user in users:
            for item in items:
                enrolment = (
                    await s.execute(
                        select(Enrolment).where(
                            Enrolment.user_id == user.id, Enrolment.item_id == item.id
                        )
                    )
                ).scalar_one()
                outcome = await withdrawals.withdraw(
                    s, organisation_id=org.id, enrolment=enrolment, by="t"
                )
                assert outcome is withdrawals.WithdrawOutcome.WITHDRAWN


async def rounds(delivery: Delivery, clock: Clock, n: int, step: float = 1000) -> int:
    """`n` delivery runs, the clock moving on past any backoff between them; messages sent."""
    sent = 0
    for _ in range(n):
        sent += await delivery.run_once()
        clock.advance(step)
    return sent


async def pending(sessions) -> int:
    async with sessions() as s:
        return await s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
        )


async def test_an_enrolment_goes_out_signed_and_the_receiver_verifies_it(sessions, http):
    receiver = Receiver()
    with ServedApp(receiver.app()) as served:
        org, [item], [ann], endpoint_id, secret = await world(sessions, f"{served.url}/hook")
        receiver.secret = secret
        assert secret.startswith("whsec_")
        await enrol_all(sessions, org, [item], [ann])
        clock = Clock()
        assert await rounds(delivery_for(sessions, http, clock), clock, 2) == 1
    assert receiver.unverified == 0 and receiver.hits == 1
    [event] = receiver.received()
    assert event["type"] == "enrolment.created"
    assert event["data"]["person"] == {"id": ann.id, "email": "p0@example.com"}
    assert event["data"]["item"] == {"slug": "course-0", "title": "Course 0", "url": None}
    assert event["data"]["source"] == "api" and event["timestamp"].endswith("Z")
    async with sessions() as s:
        endpoint = await s.get(WebhookEndpoint, endpoint_id)
        log = await webhooks.deliveries(s, endpoint)
    assert endpoint.last_status == 204 and endpoint.failing_since is None
    assert [(d.event_type, d.status, d.attempts) for d in log] == [("enrolment.created", "sent", 1)]
    assert log[0].message_id == receiver.ids[0]


async def test_events_are_written_with_the_change_only_for_endpoints_that_want_them(sessions):
    org, [item], [ann], endpoint_id, _ = await world(
        sessions, "https://hooks.example/x", names=[events.ENROLMENT_COMPLETED]
    )
    await enrol_all(sessions, org, [item], [ann])
    assert await pending(sessions) == 0  # it asked for completions only
    async with sessions() as s:
        async with s.begin():
            await s.execute(update(Enrolment).values(status=EnrolmentStatus.COMPLETED))
            await events.enrolments(s, events.ENROLMENT_COMPLETED, [1])
            assert await pending(sessions) == 0  # not before the change commits...
            await s.rollback()
    assert await pending(sessions) == 0  # ...and never if it does not
    await complete(sessions, org, [item], [ann])
    async with sessions() as s:
        [row] = (await s.execute(select(OutboxMessage))).scalars()
    assert row.destination == f"webhook:{endpoint_id}:u{ann.id}-i{item.id}"
    assert row.payload["type"] == "enrolment.completed" and row.payload["id"].startswith("msg_")
    data = row.payload["data"]
    assert data["status"] == "completed" and data["score"] == 0.9
    assert data["completed_at"] == T0.isoformat().replace("+00:00", "Z")


async def test_a_receiver_down_then_failing_then_slow_then_back_gets_each_event_once_in_order(
    sessions, http
):
    receiver = Receiver(mode=FAIL, slow_seconds=TIMEOUT * 2.5)
    port = free_port()
    org, items, users, endpoint_id, receiver.secret = await world(
        sessions, f"http://127.0.0.1:{port}/hook", people=4, items=2
    )
    clock = Clock()
    delivery = delivery_for(sessions, http, clock)
    await enrol_all(sessions, org, items, users)
    # Down: nothing listens at its address for a while.
    assert await rounds(delivery, clock, 4) == 0
    async with sessions() as s:
        errors = set((await s.execute(select(OutboxMessage.last_error))).scalars())
    assert errors == {"could not reach it (ConnectError)"}
    with ServedApp(receiver.app(), port=port):
        # More events while it fails: half the people complete, the other half withdraw...
        await complete(sessions, org, items, users[:2])
        await withdraw(sessions, org, items, users[2:])
        assert await rounds(delivery, clock, 3) == 0  # up, answering 500
        assert receiver.hits > 0 and not receiver.ids
        receiver.mode = SLOW
        # ...and are enrolled again and complete while it answers too late for every one.
        await enrol_all(sessions, org, items, users[2:])
        await complete(sessions, org, items, users[2:])
        assert await rounds(delivery, clock, 2) == 0
        receiver.mode = "ok"
        for _ in range(30):
            if await pending(sessions) == 0:
                break
            await rounds(delivery, clock, 1)
        assert await pending(sessions) == 0
    assert receiver.unverified == 0
    async with sessions() as s:
        rows = list((await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())
        endpoint = await s.get(WebhookEndpoint, endpoint_id)
    assert endpoint.state is EndpointState.ACTIVE and endpoint.failing_since is None
    sent = [r.payload["id"] for r in rows]
    # 8 enrolments: created and completed, or created, withdrawn, created again and completed
    assert len(rows) == 4 * 2 + 4 * 4
    assert sorted(receiver.ids) == sorted(sent)  # every one, and each once by id
    assert receiver.hits > len(sent)  # the failures and late answers were retried
    for subject in {r.destination for r in rows}:
        expected = [r.payload["id"] for r in rows if r.destination == subject]
        arrived = [i for i in receiver.ids if i in set(expected)]
        assert arrived == expected, f"{subject} out of order"


async def test_an_endpoint_failing_for_long_is_paused_and_the_admins_are_told_once(sessions, http):
    receiver = Receiver(mode=FAIL)
    with ServedApp(receiver.app()) as served:
        org, [item], users, endpoint_id, receiver.secret = await world(
            sessions, f"{served.url}/hook", people=2
        )
        async with sessions() as s, s.begin():
            await factories.user(s, org, "boss@example.com")
        clock = Clock()
        delivery = delivery_for(
            sessions,
            http,
            clock,
            pause_after=timedelta(hours=2),
            admins=frozenset({"boss@example.com"}),
        )
        await enrol_all(sessions, org, [item], users)
        await rounds(delivery, clock, 10)  # close to three hours of failing
        async with sessions() as s:
            endpoint = await s.get(WebhookEndpoint, endpoint_id)
            notices = list(
                (
                    await s.execute(select(OutboxMessage).where(OutboxMessage.kind == NOTICE))
                ).scalars()
            )
        assert endpoint.state is EndpointState.PAUSED
        assert endpoint.last_status == 500 and "down for maintenance" in endpoint.last_error
        [notice] = notices
        assert notice.destination == "email:boss@example.com"
        assert notice.payload["text"].startswith(f"I paused webhooks to {served.url}/hook")
        assert f"enrolbot webhook resume {endpoint_id}" in notice.payload["text"]
        hits = receiver.hits
        await rounds(delivery, clock, 10, step=3600)  # paused: nobody calls it, no more notices
        assert receiver.hits == hits
        async with sessions() as s:
            assert (
                await s.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.kind == NOTICE)
                )
                == 1
            )
        receiver.mode = "ok"
        async with sessions() as s, s.begin():
            endpoint = await s.get(WebhookEndpoint, endpoint_id)
            assert await webhooks.resume(s, endpoint, clock()) == 2
        await rounds(delivery, clock, 1, step=1)
    assert len(receiver.ids) == 2 and receiver.unverified == 0
