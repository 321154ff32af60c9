"""Outbox delivery over a real database with a controllable clock: coalescing, pacing, retries,
permanent failures, leases and concurrent workers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from handlers import alerts
from handlers.enrol import Outcome, enrol_with_token
from handlers.identity import Account, Profile
from handlers.links import default_link, token_for
from handlers.outbox import Batch, Channel, Delivery, Result, SendOutcome
from handlers.signing import LinkSigner
from store.db import make_engine, make_sessionmaker
from store.models import (
    DigestMode,
    NotificationSubscription,
    Organisation,
    OutboxMessage,
    OutboxStatus,
    User,
)
from tests.support import factories

SIGNER = LinkSigner(["k"])
T0 = datetime(2026, 11, 22, 10, 5, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime = T0) -> None:
        self.at = at
        self.step = 0.0  # seconds that pass with each reading, as if the work took time

    def __call__(self) -> datetime:
        self.at += timedelta(seconds=self.step)
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


class Recorder:
    """The far side of a channel: records what arrives, answers what the test scripts."""

    def __init__(self) -> None:
        self.batches: list[Batch] = []
        self.script: list[SendOutcome] = []

    async def send(self, batch: Batch) -> SendOutcome:
        outcome = self.script.pop(0) if self.script else SendOutcome.sent()
        if outcome.result is Result.SENT:
            self.batches.append(batch)
        return outcome

    def people(self) -> list[str]:
        return [p["person"] for b in self.batches for p in b.payloads]


async def world(session, *, people: int = 1, subscribe: dict | None = None):
    org = await factories.organisation(session)
    item = await factories.item(session, org)
    users = [
        await factories.user(
            session, org, email=f"p{n}@acme.test", first_name=f"P{n}", last_name="X"
        )
        for n in range(people)
    ]
    for channel, mode in (subscribe or {"C1": DigestMode.INSTANT}).items():
        session.add(
            NotificationSubscription(
                organisation_id=org.id,
                item_id=None,
                provider="slack",
                tenant_key="T1",
                channel_id=channel,
                channel_name=channel.lower(),
                mode=mode,
                admin_destination="slack:T1:UADMIN",
            )
        )
    await session.commit()
    return org, item, users


async def enrol(
    sessions, org_id: int, item, user: User, n: int, at: datetime | None = None
) -> Outcome:
    async with sessions() as s, s.begin():
        org = await s.get(Organisation, org_id)
        link = await default_link(s, item)

        async def lookup() -> Profile:
            return Profile(email=user.email)

        # The enrolment's own clock: the tests' clocks start at T0 whatever the real time is.
        import handlers.enrol as enrol_module

        original = enrol_module.utcnow
        enrol_module.utcnow = lambda: at or T0
        try:
            result = await enrol_with_token(
                s,
                signer=SIGNER,
                organisation=org,
                token=token_for(SIGNER, link),
                account=Account("slack", "T1", f"U{n}"),
                lookup=lookup,
            )
        finally:
            enrol_module.utcnow = original
        return result.outcome


async def statuses(sessions) -> dict[str, int]:
    async with sessions() as s:
        rows = await s.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return {status.value: n for status, n in rows}


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


async def test_a_dead_channel_is_failed_its_admin_told_once_and_other_channels_still_get_alerts(
    sessions,
):
    async with sessions() as s:
        org, item, users = await world(
            s, people=2, subscribe={"C1": DigestMode.INSTANT, "C2": DigestMode.INSTANT}
        )
        other = await factories.item(s, await s.get(Organisation, org.id), slug="privacy")
        s.add(
            NotificationSubscription(
                organisation_id=org.id,
                item_id=other.id,
                provider="slack",
                tenant_key="T1",
                channel_id="C1",
                channel_name="c1",
                mode=DigestMode.INSTANT,
                admin_destination="slack:T1:UADMIN",
            )
        )
        await s.commit()
    await enrol(sessions, org.id, item, users[0], 0)
    clock = Clock()

    class Archived(Recorder):
        async def send(self, batch: Batch) -> SendOutcome:
            if batch.destination == "slack:T1:C1":
                return SendOutcome(Result.FAILED, "is_archived")
            return await super().send(batch)

    slack = Archived()
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
    async with sessions() as s:
        failed = (
            (
                await s.execute(
                    select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
                )
            )
            .scalars()
            .all()
        )
        assert [(r.destination, r.last_error) for r in failed] == [("slack:T1:C1", "is_archived")]
        subs = (
            (
                await s.execute(
                    select(NotificationSubscription).where(
                        NotificationSubscription.channel_id == "C1"
                    )
                )
            )
            .scalars()
            .all()
        )
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
