"""Enrolments made ahead (--enrol-days-before) stay hidden until their day: the learning platform
hears of one when it shows, once (webhooks delivered over HTTP to a loopback receiver that
verifies each signature, and the xAPI outbox), and never of one withdrawn before its day; a
completion counts for the period the learner can see, never for a hidden later one, unless the
hidden one is their only period. The rule, the periods job and the completions are the real
handlers; every clock is the test's."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from handlers import completions, webhooks, withdrawals
from handlers.commands.enrolment_view import enrolments_of
from handlers.enrol import Outcome, enrol
from handlers.events import EVENT_TYPES
from handlers.my_learning import my_learning
from handlers.rules import saved
from handlers.rules.apply import enrol_matching
from handlers.rules.criteria import Criteria
from handlers.rules.explain import why
from handlers.rules.periods import run_periods
from handlers.rules.telling import LEARNER
from store.models import (
    CatalogItem,
    Due,
    Enrolment,
    EnrolmentSource,
    EnrolmentStatus,
    Organisation,
    OutboxMessage,
    OutboxStatus,
    Recur,
    User,
)
from tests.support import api_world, factories
from tests.support.command_world import PUBLIC_URL, SIGNER
from tests.support.servers import ServedApp
from tests.support.webhook_receiver import KEYS, LOOPBACK_RULES, Receiver
from tests.test_webhooks import Clock, delivery_for, rounds

# Due each 1 October, recurring yearly, shown 60 days before: from 2 August.
ANNUAL_OCT = saved.Terms(
    due=Due.EACH_YEAR, due_month=10, due_day=1, recur=Recur.ANNUAL, enrol_days_before=60
)
C = completions.CompletionOutcome


def at(y: int, m: int, d: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
async def http():
    async with httpx.AsyncClient() as client:
        yield client


async def world(sessions, *, people: int, on: datetime, url: str = "https://hooks.example/x"):
    """An organisation with a webhook endpoint at `url` and the xAPI LRS, `people` people, and
    a rule requiring the compliance item of everyone, applied `on`: (org id, item id, user ids,
    secret)."""
    async with sessions() as s, s.begin():
        org = await factories.organisation(s)
        item = await factories.item(s, org, "compliance")
        users = [(await factories.user(s, org, f"p{n}@example.com")).id for n in range(people)]
        _, secret = await webhooks.add(
            s, org.id, url, list(EVENT_TYPES), "t", keys=KEYS, rules=LOOPBACK_RULES
        )
        await webhooks.sync_xapi(s, org.id, "https://lrs.example/xAPI")
        rule = await saved.create_rule(
            s,
            item,
            Criteria(org.id, everyone=True),
            ANNUAL_OCT,
            created_by="t",
            created_by_user_id=None,
        )
        (loaded,) = await saved.load(s, rule_ids=[rule.id])
        await enrol_matching(s, loaded, now=on)
    return org.id, item.id, users, secret


async def rows(sessions, item_id: int) -> list[tuple]:
    """(user id, period, status, visible_from) of every enrolment in the item."""
    async with sessions() as s:
        found = await s.execute(
            select(Enrolment.user_id, Enrolment.period, Enrolment.status, Enrolment.visible_from)
            .where(Enrolment.item_id == item_id)
            .order_by(Enrolment.user_id, Enrolment.period)
        )
        return [tuple(r) for r in found]


async def outbox(sessions) -> list[tuple[str, str, int]]:
    """(kind, event type, enrolment id) of every webhook and xAPI row, in the order written."""
    async with sessions() as s:
        found = await s.execute(
            select(OutboxMessage.kind, OutboxMessage.payload)
            .where(OutboxMessage.kind.in_(["webhook", "xapi"]))
            .order_by(OutboxMessage.id)
        )
        return [(k, p["type"], p["data"]["enrolment_id"]) for k, p in found]


async def learner_messages(sessions) -> list[tuple[str, datetime]]:
    """(destination, not before) of the learner messages still to send."""
    async with sessions() as s:
        found = await s.execute(
            select(OutboxMessage.destination, OutboxMessage.not_before)
            .where(OutboxMessage.kind == LEARNER, OutboxMessage.status == OutboxStatus.PENDING)
            .order_by(OutboxMessage.id)
        )
        return [tuple(r) for r in found]


async def enrolment_id(sessions, user_id: int, period: int) -> int:
    async with sessions() as s:
        return await s.scalar(
            select(Enrolment.id).where(Enrolment.user_id == user_id, Enrolment.period == period)
        )


async def report(sessions, org_id, item_id, user_id, *, done: datetime, now: datetime):
    """The learning platform reports the person completed the item at `done` (the API's way)."""
    async with sessions() as s, s.begin():
        return await completions.complete(
            s,
            organisation=await s.get(Organisation, org_id),
            user=await s.get(User, user_id),
            item=await s.get(CatalogItem, item_id),
            completed_at=done,
            source=EnrolmentSource.API,
            by="api:lms#1",
            now=now,
        )


async def withdraw(sessions, org_id: int, user_id: int, period: int) -> None:
    async with sessions() as s, s.begin():
        row = await s.get(Enrolment, await enrolment_id(sessions, user_id, period))
        outcome = await withdrawals.withdraw(s, organisation_id=org_id, enrolment=row, by="t")
        assert outcome is withdrawals.WithdrawOutcome.WITHDRAWN


async def test_the_platform_hears_of_an_enrolment_made_ahead_the_day_it_shows_once(sessions, http):
    receiver = Receiver()
    with ServedApp(receiver.app()) as served:
        org_id, item_id, (ann, bob, cat), receiver.secret = await world(
            sessions, people=3, on=at(2027, 6, 1), url=f"{served.url}/hook"
        )
        shows = at(2027, 8, 2, 0)
        assert await rows(sessions, item_id) == [
            (p, 20271001, EnrolmentStatus.ENROLLED, shows) for p in (ann, bob, cat)
        ]
        # Made hidden: nobody hears of it. Cat is withdrawn before it shows: nobody hears of that.
        await withdraw(sessions, org_id, cat, 20271001)
        assert await outbox(sessions) == []
        assert (await run_periods(sessions, now=at(2027, 8, 1, 23, 59))).revealed == 0
        assert await outbox(sessions) == []
        # On its day the job shows Ann's and Bob's; the endpoints hear of each, once.
        assert (await run_periods(sessions, now=at(2027, 8, 2, 0, 5))).revealed == 2
        assert (await run_periods(sessions, now=at(2027, 8, 3, 0, 5))).revealed == 0
        ids = [await enrolment_id(sessions, p, 20271001) for p in (ann, bob, cat)]
        assert sorted(await outbox(sessions)) == sorted(
            (kind, "enrolment.created", i) for kind in ("webhook", "xapi") for i in ids[:2]
        )
        assert await rows(sessions, item_id) == [
            (ann, 20271001, EnrolmentStatus.ENROLLED, None),
            (bob, 20271001, EnrolmentStatus.ENROLLED, None),
            (cat, 20271001, EnrolmentStatus.WITHDRAWN, shows),  # never shown, stays so
        ]
        clock = Clock()
        clock.at = at(2027, 8, 2, 0, 6)
        assert await rounds(delivery_for(sessions, http, clock), clock, 2) == 2
    assert receiver.unverified == 0
    got = receiver.received()
    assert sorted((e["type"], e["data"]["person"]["id"]) for e in got) == [
        ("enrolment.created", ann),
        ("enrolment.created", bob),
    ]
    assert {e["timestamp"] for e in got} == {iso(at(2027, 8, 2, 0, 5))}
    assert all(e["data"]["due"] == iso(at(2027, 10, 1, 0)) for e in got)


async def test_a_completion_counts_for_the_period_the_learner_sees_not_the_hidden_next_one(
    sessions,
):
    org_id, item_id, (ann,), _ = await world(sessions, people=1, on=at(2027, 9, 1))
    # Shown at once (2 August has passed): the platform hears of it now.
    first = await enrolment_id(sessions, ann, 20271001)
    assert await outbox(sessions) == [
        ("webhook", "enrolment.created", first),
        ("xapi", "enrolment.created", first),
    ]
    done = await report(sessions, org_id, item_id, ann, done=at(2027, 9, 20), now=at(2027, 9, 20))
    assert (done.outcome, done.enrolment_id, done.next_period) == (C.COMPLETED, first, 20281001)
    hidden = (ann, 20281001, EnrolmentStatus.ENROLLED, at(2028, 8, 2, 0))
    assert await rows(sessions, item_id) == [
        (ann, 20271001, EnrolmentStatus.COMPLETED, None),
        hidden,
    ]
    told = await outbox(sessions)
    assert told[2:] == [
        ("webhook", "enrolment.completed", first),
        ("xapi", "enrolment.completed", first),
    ]  # and nothing about next year's period, hidden
    # Months later, before next year's period shows, the platform reports a new completion.
    # It counts for the period Ann is in, already completed: next year's stays as it was.
    again = await report(sessions, org_id, item_id, ann, done=at(2028, 3, 1), now=at(2028, 3, 2))
    assert again == completions.Completion(C.ALREADY_COMPLETED, first)
    assert (await rows(sessions, item_id))[1] == hidden
    assert await outbox(sessions) == told
    await _ann_sees_this_years_completed(sessions, ann, item_id, now=at(2028, 3, 2))
    # Once it shows, a completion counts for it, and the year after opens, hidden again.
    await run_periods(sessions, now=at(2028, 8, 2, 0, 5))
    second = await enrolment_id(sessions, ann, 20281001)
    assert (await outbox(sessions))[len(told) :] == [
        ("webhook", "enrolment.created", second),
        ("xapi", "enrolment.created", second),
    ]
    later = await report(sessions, org_id, item_id, ann, done=at(2028, 9, 1), now=at(2028, 9, 1))
    assert (later.outcome, later.enrolment_id, later.next_period) == (
        C.COMPLETED,
        second,
        20291001,
    )
    assert [r[1:] for r in await rows(sessions, item_id)] == [
        (20271001, EnrolmentStatus.COMPLETED, None),
        (20281001, EnrolmentStatus.COMPLETED, None),
        (20291001, EnrolmentStatus.ENROLLED, at(2029, 8, 2, 0)),
    ]


async def _ann_sees_this_years_completed(sessions, ann: int, item_id: int, now: datetime):
    """My learning, `enrol list me` and `why` show Ann the period she completed, not the hidden
    one, and nothing open."""
    async with sessions() as s:
        user = await s.get(User, ann)
        seen = await my_learning(s, user, signer=SIGNER, public_url=PUBLIC_URL, now=now)
        assert seen.open_total == 0
        assert [(e.slug, e.completed_at) for e in seen.completed] == [
            ("compliance", at(2027, 9, 20))
        ]
        lines, count = await enrolments_of(s, user, yourself=True)
        assert count == 1 and "completed" in lines[0] and "shown from" not in lines[0]
        mine = await why(s, user, await s.get(CatalogItem, item_id), now)
        assert len(mine) == 1 and "Completed on 20 September 2027" in mine[0]
        everything = await why(s, user, await s.get(CatalogItem, item_id))  # an admin asking
        assert "Hidden from them until 2 August 2028" in everything[0]


async def test_completing_a_hidden_period_that_is_the_only_one_shows_it_completed(sessions):
    org_id, item_id, (ann, bob), _ = await world(sessions, people=2, on=at(2027, 6, 1))
    ann_first = await enrolment_id(sessions, ann, 20271001)
    # Ann did the course on the platform before her enrolment showed: it counts for it.
    done = await report(sessions, org_id, item_id, ann, done=at(2027, 6, 30), now=at(2027, 7, 1))
    assert (done.outcome, done.enrolment_id, done.next_period) == (
        C.COMPLETED,
        ann_first,
        20281001,
    )
    assert await rows(sessions, item_id) == [
        (ann, 20271001, EnrolmentStatus.COMPLETED, None),  # shown now, completed
        (ann, 20281001, EnrolmentStatus.ENROLLED, at(2028, 8, 2, 0)),  # next year's, hidden
        (bob, 20271001, EnrolmentStatus.ENROLLED, at(2027, 8, 2, 0)),
    ]
    async with sessions() as s:
        row = await s.get(Enrolment, ann_first)
        assert (row.enrolled_at, row.completed_at) == (at(2027, 6, 1), at(2027, 6, 30))
    # The platform hears it was created, then completed, in that order; of Bob's, nothing yet.
    assert await outbox(sessions) == [
        ("webhook", "enrolment.created", ann_first),
        ("xapi", "enrolment.created", ann_first),
        ("webhook", "enrolment.completed", ann_first),
        ("xapi", "enrolment.completed", ann_first),
    ]
    async with sessions() as s:
        seen = await my_learning(
            s, await s.get(User, ann), signer=SIGNER, public_url=PUBLIC_URL, now=at(2027, 7, 1)
        )
        assert seen.open_total == 0 and [e.slug for e in seen.completed] == ["compliance"]
    # Ann is not told on 2 August that she is enrolled in what she completed (Bob is); she is
    # told of next year's period on its day.
    assert await learner_messages(sessions) == [
        ("email:p1@example.com", at(2027, 8, 2, 0)),
        ("email:p0@example.com", at(2028, 8, 2, 0)),
    ]
    # On 2 August only Bob's shows; Ann's is not told twice.
    assert (await run_periods(sessions, now=at(2027, 8, 2, 0, 5))).revealed == 1
    bob_first = await enrolment_id(sessions, bob, 20271001)
    assert (await outbox(sessions))[4:] == [
        ("webhook", "enrolment.created", bob_first),
        ("xapi", "enrolment.created", bob_first),
    ]
    # The same report again changes nothing.
    again = await report(sessions, org_id, item_id, ann, done=at(2027, 6, 30), now=at(2027, 8, 3))
    assert again.outcome is C.ALREADY_COMPLETED
    assert len(await outbox(sessions)) == 6


async def test_one_withdrawn_while_hidden_and_enrolled_again_by_hand_shows_at_once(sessions):
    org_id, item_id, (ann,), _ = await world(sessions, people=1, on=at(2027, 6, 1))
    await withdraw(sessions, org_id, ann, 20271001)
    async with sessions() as s, s.begin():
        outcome = await enrol(
            s,
            organisation=await s.get(Organisation, org_id),
            user=await s.get(User, ann),
            item=await s.get(CatalogItem, item_id),
            source=EnrolmentSource.API,
            by="api:lms#1",
        )
        assert outcome is Outcome.ENROLLED
    assert await rows(sessions, item_id) == [(ann, 20271001, EnrolmentStatus.ENROLLED, None)]
    first = await enrolment_id(sessions, ann, 20271001)
    assert await outbox(sessions) == [
        ("webhook", "enrolment.created", first),
        ("xapi", "enrolment.created", first),
    ]
    assert await learner_messages(sessions) == []  # asked for by hand: not the rule's news
    assert (await run_periods(sessions, now=at(2027, 8, 2, 0, 5))).revealed == 0


async def test_the_api_lists_an_enrolment_made_ahead_with_when_it_shows(db_url, sessions):
    api = await api_world.start(db_url, sessions)
    try:
        async with sessions() as s, s.begin():
            item = (
                await s.execute(select(CatalogItem).where(CatalogItem.slug == "safety-101"))
            ).scalar_one()
            rule = await saved.create_rule(
                s,
                item,
                Criteria(api.org.id, everyone=True),
                ANNUAL_OCT,
                created_by="t",
                created_by_user_id=None,
            )
            (loaded,) = await saved.load(s, rule_ids=[rule.id])
            await enrol_matching(s, loaded, now=at(2027, 6, 1))
        auth = api.auth(await api.key())
        listed = await api.client.get("/api/v1/enrolments?item=safety-101", headers=auth)
        assert listed.status_code == 200, listed.text
        assert [(e["email"], e["status"], e["visible_from"]) for e in listed.json()["data"]] == [
            ("ann@example.com", "enrolled", "2027-08-02T00:00:00Z"),
            ("bob@example.com", "enrolled", "2027-08-02T00:00:00Z"),
        ]
        # On its day it shows; a poller following changed_since sees it change.
        await run_periods(sessions, now=at(2027, 8, 2, 0, 5))
        since = "2027-08-02T00:00:00Z"
        changed = await api.client.get(
            f"/api/v1/enrolments?item=safety-101&changed_since={since}", headers=auth
        )
        assert [
            (e["email"], e["visible_from"], e["enrolled_at"]) for e in changed.json()["data"]
        ] == [
            ("ann@example.com", None, "2027-08-02T00:00:00Z"),
            ("bob@example.com", None, "2027-08-02T00:00:00Z"),
        ]
    finally:
        await api.client.aclose()
