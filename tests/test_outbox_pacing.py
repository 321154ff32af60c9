"""Outbox delivery over a real database with a controllable clock: an alert is written with its
enrolment, bursts are combined and paced, retries wait as asked, and digests group their period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from handlers import alerts
from handlers.enrol import Outcome, enrol_with_token
from handlers.identity import Account, Profile
from handlers.links import default_link, token_for
from handlers.outbox import Batch, Channel, Delivery, Result, SendOutcome
from store.models import (
    DigestMode,
    NotificationSubscription,
    Organisation,
    OutboxMessage,
    OutboxStatus,
)
from tests.support import factories
from tests.support.outbox_world import SIGNER, T0, Clock, Recorder, enrol, statuses, world


async def test_an_enrolment_and_its_alert_are_written_together_or_not_at_all(sessions):
    async with sessions() as s:
        org, item, [user] = await world(s)
    async with sessions() as s:
        link = await default_link(s, item)
        await s.commit()
    with pytest.raises(RuntimeError):
        async with sessions() as s, s.begin():
            org_row = await s.get(Organisation, org.id)
            await enrol_with_token(
                s,
                signer=SIGNER,
                organisation=org_row,
                token=token_for(SIGNER, link),
                account=Account("slack", "T1", "U0"),
                lookup=lambda: _profile(user.email),
            )
            assert await s.scalar(select(func.count()).select_from(OutboxMessage)) == 1
            raise RuntimeError("the request failed after the enrolment")
    assert await statuses(sessions) == {}
    assert await enrol(sessions, org.id, item, user, 0) is Outcome.ENROLLED
    assert await statuses(sessions) == {"pending": 1}


async def _profile(email: str) -> Profile:
    return Profile(email=email)


async def test_a_burst_is_combined_and_paced_at_one_message_a_second(sessions):
    async with sessions() as s:
        org, item, users = await world(s, people=500)
    for n, user in enumerate(users):
        await enrol(sessions, org.id, item, user, n)
    clock, slack = Clock(), Recorder()
    delivery = Delivery(sessions, {"slack": Channel(slack.send, max_batch=400)}, clock=clock)
    assert await delivery.run_once() == 1
    assert [len(b.payloads) for b in slack.batches] == [400]
    assert slack.batches[0].total_due == 500
    assert await delivery.run_once() == 0  # the channel's second has not passed
    clock.advance(1)
    assert await delivery.run_once() == 1
    assert sorted(slack.people()) == sorted(u.full_name for u in users)
    assert await statuses(sessions) == {"sent": 500}


async def test_sends_begin_a_second_apart_however_long_the_work_before_each_took(sessions):
    async with sessions() as s:
        org, item, users = await world(s, people=2)
    for n, user in enumerate(users):
        await enrol(sessions, org.id, item, user, n)
    clock, began = Clock(), []

    async def send(batch: Batch) -> SendOutcome:
        began.append(clock.at)
        return SendOutcome.sent()

    delivery = Delivery(sessions, {"slack": Channel(send, max_batch=1)}, clock=clock)
    clock.step = 0.2  # the first round's queries are slow to reach the send
    assert await delivery.run_once() == 1
    clock.step = 0
    for _ in range(30):  # then look every 0.1 s, with no time lost before sending
        clock.advance(0.1)
        if await delivery.run_once():
            break
    assert len(began) == 2 and began[1] - began[0] >= timedelta(seconds=1)


async def test_retry_after_is_honoured_and_the_alert_goes_once(sessions):
    async with sessions() as s:
        org, item, [user] = await world(s)
    await enrol(sessions, org.id, item, user, 0)
    clock, slack = Clock(), Recorder()
    slack.script = [SendOutcome(Result.RETRY, "ratelimited", retry_after=30)]
    delivery = Delivery(sessions, {"slack": Channel(slack.send)}, clock=clock)
    assert await delivery.run_once() == 0
    clock.advance(29)
    assert await delivery.run_once() == 0 and slack.batches == []
    clock.advance(1)
    assert await delivery.run_once() == 1
    clock.advance(60)
    assert await delivery.run_once() == 0
    assert len(slack.batches) == 1
    async with sessions() as s:
        row = await s.scalar(select(OutboxMessage))
        assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)


async def test_errors_without_retry_after_back_off_and_are_retried(sessions):
    async with sessions() as s:
        org, item, [user] = await world(s)
    await enrol(sessions, org.id, item, user, 0)
    clock, slack = Clock(), Recorder()
    slack.script = [
        SendOutcome(Result.RETRY, "Slack answered 500"),
        SendOutcome(Result.RETRY, "TimeoutError"),
    ]
    delivery = Delivery(sessions, {"slack": Channel(slack.send)}, clock=clock)
    await delivery.run_once()
    clock.advance(2)  # 2**1 seconds after the first failure
    await delivery.run_once()
    clock.advance(3)
    assert await delivery.run_once() == 0  # 2**2 = 4 seconds after the second
    clock.advance(1)
    assert await delivery.run_once() == 1
    async with sessions() as s:
        row = await s.scalar(select(OutboxMessage))
        assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 3, "TimeoutError")


async def test_an_hourly_digest_groups_the_hours_enrolments_into_one_message(sessions):
    async with sessions() as s:
        org, item, users = await world(s, people=3, subscribe={"C1": DigestMode.HOURLY})
        privacy = await factories.item(
            s, await s.get(Organisation, org.id), slug="privacy", kind="article"
        )
        await s.commit()
    times = [T0, T0 + timedelta(minutes=15), T0 + timedelta(minutes=45)]
    await enrol(sessions, org.id, item, users[0], 0, at=times[0])
    await enrol(sessions, org.id, privacy, users[1], 1, at=times[1])
    await enrol(sessions, org.id, item, users[2], 2, at=times[2])
    clock, slack = Clock(datetime(2026, 11, 22, 10, 59, 59, tzinfo=UTC)), Recorder()
    delivery = Delivery(sessions, {"slack": Channel(slack.send)}, clock=clock)
    assert await delivery.run_once() == 0
    clock.advance(1)  # 11:00
    assert await delivery.run_once() == 1
    [digest] = slack.batches
    assert digest.kind == "digest:hourly"
    assert sorted(p["item"] for p in digest.payloads) == ["Privacy", "Safety 101", "Safety 101"]


async def test_instant_wins_where_a_channel_has_both_and_each_destination_gets_one_row(sessions):
    async with sessions() as s:
        org, item, [user] = await world(s, subscribe={"C1": DigestMode.DAILY})
        s.add(
            NotificationSubscription(
                organisation_id=org.id,
                item_id=item.id,
                provider="slack",
                tenant_key="T1",
                channel_id="C1",
                mode=DigestMode.INSTANT,
            )
        )
        (await s.get(Organisation, org.id)).primary_admin_email = "boss@acme.test"
        await s.commit()
    await enrol(sessions, org.id, item, user, 0)
    async with sessions() as s:
        rows = (
            await s.execute(
                select(OutboxMessage.destination, OutboxMessage.kind).order_by(
                    OutboxMessage.destination
                )
            )
        ).all()
    assert [tuple(r) for r in rows] == [("email:boss@acme.test", "alert"), ("slack:T1:C1", "alert")]


def test_digest_periods_end_on_the_hour_and_at_midnight():
    at = datetime(2026, 11, 22, 10, 5, 30, tzinfo=UTC)
    assert alerts.period_end(DigestMode.HOURLY, at) == datetime(2026, 11, 22, 11, tzinfo=UTC)
    assert alerts.period_end(DigestMode.DAILY, at) == datetime(2026, 11, 23, tzinfo=UTC)
    assert alerts.period_end(DigestMode.INSTANT, at) == at
