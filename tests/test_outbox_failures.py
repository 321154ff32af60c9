"""Outbox delivery when things fail, over a real database with a controllable clock: permanent
failures, workers that die, leases, concurrent workers, and emails that cannot be built."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from handlers.outbox import Batch, Channel, Delivery, Result, SendOutcome
from store.db import make_engine, make_sessionmaker
from store.models import (
    DigestMode,
    NotificationSubscription,
    Organisation,
    OutboxMessage,
    OutboxStatus,
)
from tests.support import factories
from tests.support.outbox_world import T0, Clock, Recorder, enrol, statuses, world


async def subscribe_c1_to_another_item(session, org_id: int) -> None:
    """Channel C1 also follows a second item, so that it holds two subscriptions."""
    other = await factories.item(session, await session.get(Organisation, org_id), slug="privacy")
    session.add(
        NotificationSubscription(
            organisation_id=org_id,
            item_id=other.id,
            provider="slack",
            tenant_key="T1",
            channel_id="C1",
            channel_name="c1",
            mode=DigestMode.INSTANT,
            admin_destination="slack:T1:UADMIN",
        )
    )
    await session.commit()


class ArchivedC1(Recorder):
    """A workspace where channel C1 has been archived: every send there fails for good."""

    async def send(self, batch: Batch) -> SendOutcome:
        if batch.destination == "slack:T1:C1":
            return SendOutcome(Result.FAILED, "is_archived")
        return await super().send(batch)


async def failed_rows(sessions) -> list[OutboxMessage]:
    async with sessions() as s:
        query = select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
        return list((await s.execute(query)).scalars().all())


async def subscriptions_of(sessions, channel_id: str) -> list[NotificationSubscription]:
    async with sessions() as s:
        query = select(NotificationSubscription).where(
            NotificationSubscription.channel_id == channel_id
        )
        return list((await s.execute(query)).scalars().all())


async def test_a_dead_channel_is_failed_its_admin_told_once_and_other_channels_still_get_alerts(
    sessions,
):
    async with sessions() as s:
        org, item, users = await world(
            s, people=2, subscribe={"C1": DigestMode.INSTANT, "C2": DigestMode.INSTANT}
        )
        await subscribe_c1_to_another_item(s, org.id)
    await enrol(sessions, org.id, item, users[0], 0)
    clock = Clock()
    slack = ArchivedC1()
    delivery = Delivery(sessions, {"slack": Channel(slack.send)}, clock=clock)
    await delivery.run_once()
    clock.advance(1)
    await delivery.run_once()  # the admin's notice, queued by the failure
    destinations = [b.destination for b in slack.batches]
    assert sorted(destinations) == ["slack:T1:C2", "slack:T1:UADMIN"]
    notice = next(b for b in slack.batches if b.kind == "notice")
    assert notice.payloads[0]["text"].startswith("Self-enrolment alerts to #c1 have stopped")
    # Later enrolments leave nothing for the dead channel, and the admin hears nothing more.
    await enrol(sessions, org.id, item, users[1], 1)
    clock.advance(5)
    await delivery.run_once()
    clock.advance(5)
    await delivery.run_once()
    assert [b.destination for b in slack.batches].count("slack:T1:UADMIN") == 1
    assert [b.destination for b in slack.batches].count("slack:T1:C2") == 2
    failed = await failed_rows(sessions)
    assert [(r.destination, r.last_error) for r in failed] == [("slack:T1:C1", "is_archived")]
    subs = await subscriptions_of(sessions, "C1")
    assert all(sub.disabled_reason == "is_archived" for sub in subs) and len(subs) == 2


class Died(BaseException):
    """The worker process ended here, as under kill -9: nothing after this line ran."""


async def test_a_worker_that_dies_before_sending_loses_nothing_and_sends_nothing_twice(sessions):
    async with sessions() as s:
        org, item, [user] = await world(s)
    await enrol(sessions, org.id, item, user, 0)
    clock = Clock()

    async def die_first(batch: Batch) -> SendOutcome:
        raise Died

    first = Delivery(
        sessions, {"slack": Channel(die_first)}, clock=clock, lease_seconds=60, owner="a"
    )
    with pytest.raises(Died):
        await first.run_once()
    slack = Recorder()
    second = Delivery(
        sessions, {"slack": Channel(slack.send)}, clock=clock, lease_seconds=60, owner="b"
    )
    assert await second.run_once() == 0  # the dead worker still holds the lane
    clock.advance(61)
    assert await second.run_once() == 1
    assert len(slack.batches) == 1 and await statuses(sessions) == {"sent": 1}


async def test_the_only_duplicate_window_is_between_the_platforms_answer_and_marking_sent(sessions):
    async with sessions() as s:
        org, item, [user] = await world(s)
    await enrol(sessions, org.id, item, user, 0)
    clock, slack = Clock(), Recorder()

    async def send_then_die(batch: Batch) -> SendOutcome:
        await slack.send(batch)
        raise Died

    with pytest.raises(Died):
        await Delivery(
            sessions, {"slack": Channel(send_then_die)}, clock=clock, owner="a"
        ).run_once()
    clock.advance(61)
    await Delivery(sessions, {"slack": Channel(slack.send)}, clock=clock, owner="b").run_once()
    assert len(slack.batches) == 2  # the one case where an alert goes twice
    assert await statuses(sessions) == {"sent": 1}


async def test_two_workers_never_send_the_same_row(db_url):
    engines = [make_engine(db_url) for _ in range(2)]
    makers = [make_sessionmaker(e) for e in engines]
    try:
        async with makers[0]() as s:
            subscribe = {f"C{n}": DigestMode.INSTANT for n in range(8)}
            org, item, users = await world(s, people=120, subscribe=subscribe)
        for n, user in enumerate(users):
            await enrol(makers[0], org.id, item, user, n)
        seen: list[int] = []

        class Slow(Recorder):
            async def send(self, batch: Batch) -> SendOutcome:
                await asyncio.sleep(0.01)  # hold the lane while the other worker tries it
                seen.extend(hash((batch.destination, p["person"])) for p in batch.payloads)
                return SendOutcome.sent()

        workers = [
            Delivery(m, {"slack": Channel(Slow().send, max_batch=7)}, min_gap=0, owner=f"w{i}")
            for i, m in enumerate(makers)
        ]
        for _ in range(40):
            await asyncio.gather(*(w.run_once() for w in workers))
            if (await statuses(makers[0])).get("pending", 0) == 0:
                break
        assert await statuses(makers[0]) == {"sent": 120 * 8}
        assert len(seen) == len(set(seen)) == 120 * 8
    finally:
        for e in engines:
            await e.dispose()


async def test_an_email_that_cannot_be_built_fails_once_and_the_others_still_go(sessions):
    from bot.email import EmailDelivery, SmtpSettings
    from tests.support.smtp import smtp_server

    with smtp_server() as inbox:
        async with sessions() as s:
            org = await factories.organisation(s)
            for destination in ("email:hr@acme.test\r\nBcc: all@acme.test", "email:hr@acme.test"):
                s.add(
                    OutboxMessage(
                        organisation_id=org.id,
                        kind="alert",
                        destination=destination,
                        payload={"person": "Ann Lee", "item": "Safety 101", "at": T0.isoformat()},
                        not_before=T0,
                    )
                )
            await s.commit()
        clock = Clock()
        email = EmailDelivery(SmtpSettings(inbox.url))
        delivery = Delivery(sessions, {"email": Channel(email.send, 200)}, clock=clock)
        for _ in range(3):
            await delivery.run_once()
            clock.advance(3600)
        async with sessions() as s:
            rows = (await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()
            bad, good = rows.all()
        assert (bad.status, bad.attempts) == (OutboxStatus.FAILED, 1)
        assert bad.last_error.startswith("message refused: the email could not be built")
        assert good.status is OutboxStatus.SENT
        assert [m["To"] for _, m in inbox.messages] == ["hr@acme.test"]
