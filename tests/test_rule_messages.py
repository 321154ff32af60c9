"""What people see when rules act: one direct message per person for what a change gave them
(several items in one), a withdrawal told too, the organisation's switch, the outbox carrying a
burst across a restart with nothing lost or doubled, no self-enrolment alert, and the maker's
summary of each run."""

from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, select, update

from bot.slack.delivery import SlackDelivery
from bot.slack.learner_blocks import learner_message
from bot.teams.learner_cards import learner_card
from handlers.alert_message import ALERT, NOTICE
from handlers.outbox import Channel, Delivery
from handlers.rules import saved
from handlers.rules.criteria import Criteria
from handlers.rules.follow import Follower
from handlers.rules.telling import LEARNER, compose
from store.models import (
    GroupKind,
    Identity,
    Organisation,
    OutboxMessage,
    OutboxStatus,
)
from tests.support import factories
from tests.support.rules_world import World, rules_world
from tests.support.servers import ServedApp
from tests.support.slack_standin import SlackStandIn


async def _slack_ids(w: World, team: str = "T1") -> None:
    async with w.sessions() as s, s.begin():
        for name, user_id in w.people.items():
            s.add(
                Identity(
                    provider="slack", tenant_key=team, subject=f"U{name.upper()}", user_id=user_id
                )
            )


async def _two_items_on_sales(w: World, maker: str | None = "ann"):
    async with w.sessions() as s, s.begin():
        org = await s.get(Organisation, w.org.id)
        second = await factories.item(
            s, org, "privacy", title="Privacy *basics*", url="https://lms.example/privacy"
        )
        item = await s.get(type(w.item), w.item.id)
        item.url = "https://lms.example/compliance"
    sales = await w.group("Sales", GroupKind.DEPARTMENT)
    for target, terms in (
        (w.item, saved.Terms(required=True, reason="Every sales person, each year")),
        (second, saved.Terms(required=False)),
    ):
        async with w.sessions() as s, s.begin():
            rule = await saved.create_rule(
                s,
                await s.get(type(w.item), target.id),
                Criteria(w.org.id, group_ids=(sales,)),
                terms,
                created_by="slack:T1:UANN",
                created_by_user_id=w.people[maker] if maker else None,
            )
            del rule
    return sales


async def _rows(sessions, kind=LEARNER, status=None):
    async with sessions() as s:
        q = select(OutboxMessage).where(OutboxMessage.kind == kind)
        if status is not None:
            q = q.where(OutboxMessage.status == status)
        return list((await s.execute(q.order_by(OutboxMessage.id))).scalars())


@pytest.fixture
def slack():
    standin = SlackStandIn()
    with ServedApp(standin.app) as served:
        standin.url = served.url
        yield standin


def _delivery(sessions, standin) -> Delivery:
    client = AsyncWebClient(token="xoxb-test-token", base_url=f"{standin.url}/api/")
    channel = Channel(SlackDelivery(client, timeout=5).send, 400, 6)
    return Delivery(sessions, {"slack": channel}, min_gap=0)


async def test_one_direct_message_per_person_for_several_items_from_one_change(sessions, slack):
    w = await rules_world(sessions)
    await _slack_ids(w)
    sales = await _two_items_on_sales(w)
    follower = Follower(sessions)
    await follower.step()  # the rules saved: no one in Sales yet
    await w.join(sales, "bob", "cat")
    await follower.step()
    rows = await _rows(sessions)
    assert sorted(r.destination for r in rows) == ["slack:T1:UBOB"] * 2 + ["slack:T1:UCAT"] * 2
    assert await _rows(sessions, ALERT) == []  # not self-enrolments: no alert anywhere
    await _delivery(sessions, slack).run_once()
    posts = slack.calls_of("chat.postMessage")
    to_people = [p for p in posts if p.args["channel"] in ("UBOB", "UCAT")]
    assert sorted(p.args["channel"] for p in to_people) == ["UBOB", "UCAT"]
    text = str(to_people[0].args["blocks"])
    assert "You have been enrolled in 2 items" in text
    assert "Required" in text and "Every sales person, each year" in text
    assert "Recommended" in text and "Privacy \\\\*basics\\\\*" not in text
    assert "https://lms.example/privacy" in text and "https://lms.example/compliance" in text
    assert [r.status for r in await _rows(sessions)] == [OutboxStatus.SENT] * 4


async def test_the_maker_hears_once_per_run_and_leavers_are_told(sessions, slack):
    w = await rules_world(sessions)
    await _slack_ids(w)
    sales = await _two_items_on_sales(w)
    async with sessions() as s, s.begin():
        await s.execute(update(saved.EnrolmentRule).values(withdraw_on_leave=True))
    follower = Follower(sessions)
    await follower.step()
    await w.join(sales, "bob", "cat")
    await follower.step()
    notices = await _rows(sessions, NOTICE)
    assert [n.destination for n in notices] == ["slack:T1:UANN"] * 2  # one per rule's run
    assert "enrolled 2 people: bob Lee, cat Lee" in notices[0].payload["text"]
    await w.join(sales, "bob", leave=True)
    await follower.step()
    withdrawn = [r for r in await _rows(sessions) if r.payload["action"] == "withdrawn"]
    assert [r.destination for r in withdrawn] == ["slack:T1:UBOB"] * 2
    message = compose([r.payload for r in withdrawn], 2)
    assert message.heading() == "You have been withdrawn from 2 items."
    assert len(await _rows(sessions, NOTICE)) == 4
    await follower.step()  # nothing changed: nothing more said
    assert len(await _rows(sessions, NOTICE)) == 4


async def test_an_organisation_can_turn_learner_messages_off(sessions):
    w = await rules_world(sessions)
    await _slack_ids(w)
    sales = await _two_items_on_sales(w)
    async with sessions() as s, s.begin():
        await s.execute(update(Organisation).values(rule_messages=False))
    follower = Follower(sessions)
    await w.join(sales, "bob")
    await follower.step()
    await follower.step()
    assert await _rows(sessions) == []
    assert len(await _rows(sessions, NOTICE)) == 2  # the maker still hears


async def test_people_without_chat_are_written_to_and_teams_people_in_their_chat(sessions):
    w = await rules_world(sessions)
    async with sessions() as s, s.begin():
        s.add(
            Identity(provider="teams", tenant_key="TEN", subject="aad-bob", user_id=w.people["bob"])
        )
    sales = await _two_items_on_sales(w, maker=None)
    follower = Follower(sessions)
    await w.join(sales, "bob", "cat")
    await follower.step()
    await follower.step()
    rows = await _rows(sessions)
    assert sorted({r.destination for r in rows}) == [
        "email:cat@example.com",
        "teams:TEN:dm:aad-bob",
    ]
    assert await _rows(sessions, NOTICE) == []  # no maker known: no one to tell


async def test_a_burst_survives_a_restart_with_nothing_lost_or_doubled(sessions, slack):
    names = tuple(f"p{i:03d}" for i in range(60))
    w = await rules_world(sessions, names)
    await _slack_ids(w)
    sales = await _two_items_on_sales(w, maker=None)
    await w.join(sales, *names)
    await Follower(sessions).step()
    await Follower(sessions).step()
    assert len(await _rows(sessions)) == 120
    first = _delivery(sessions, slack)
    first.concurrency = 10
    await first.run_once()  # then the process dies: a new worker carries on
    second = _delivery(sessions, slack)
    while await second.run_once():
        pass
    posts = [p.args["channel"] for p in slack.calls_of("chat.postMessage")]
    assert sorted(posts) == sorted(f"UP{i:03d}" for i in range(60))
    async with sessions() as s:
        pending = await s.scalar(
            select(func.count()).where(OutboxMessage.status != OutboxStatus.SENT)
        )
    assert pending == 0


def test_the_message_builders_escape_what_people_typed():
    payloads = [
        {
            "action": "enrolled",
            "title": "<!channel> *Safety*",
            "url": "javascript:alert(1)",
            "required": 1,
            "reason": "[click](https://evil.example)",
            "due_at": "2027-10-01 00:00:00.000000",
        }
    ]
    message = compose(payloads, 1)
    blocks = learner_message(message)
    assert "<!channel>" not in str(blocks) and "&lt;!channel&gt;" in str(blocks)
    assert "javascript" not in str(blocks)  # no button for a link that is not http(s)
    assert "due 1 October 2027" in str(blocks)
    card = learner_card(message)
    assert "Action.OpenUrl" not in str(card)
    assert "[click](https://evil.example)" in str(card)  # in a TextRun: shown as typed


def test_enrolbot_org_set_turns_rule_messages_off_and_on(db_url):
    from click.testing import CliRunner

    from bot.cli import main

    env = {"DATABASE_URL": db_url, "ENROLBOT_SECRET_KEY": "rule-messages-test-key-0123456789"}
    shown = CliRunner().invoke(main, ["org", "show"], env=env)
    assert "rule messages to learners: on" in shown.output, shown.output
    off = CliRunner().invoke(main, ["org", "set", "--no-rule-messages"], env=env)
    assert "rule messages to learners: off" in off.output, off.output
    on = CliRunner().invoke(main, ["org", "set", "--rule-messages"], env=env)
    assert "rule messages to learners: on" in on.output


async def test_an_enrolment_made_ahead_is_told_on_the_day_it_shows(sessions):
    from datetime import timedelta

    from store.models import Due, Enrolment, utcnow

    w = await rules_world(sessions)
    await _slack_ids(w)
    due = (utcnow() + timedelta(days=100)).date()
    await w.rule(
        Follower(sessions),
        terms=saved.Terms(due=Due.ON, due_on=due, enrol_days_before=30),
        everyone=True,
    )
    async with sessions() as s:
        shows = (await s.execute(select(Enrolment.visible_from))).scalars().all()
    rows = await _rows(sessions)
    assert len(rows) == 5 and shows[0] is not None and shows[0] > utcnow()
    assert {r.not_before for r in rows} == {shows[0]}
    assert await Delivery(sessions, {}, min_gap=0).run_once() == 0  # not due yet: nothing sent


async def test_an_enrolment_made_ahead_and_withdrawn_before_its_day_is_never_told(sessions):
    """Neither on its day (the waiting message is dropped) nor as a withdrawal: the learner
    never saw it. A rule's leaver and a withdrawal by hand alike."""
    from datetime import timedelta

    from handlers import withdrawals
    from store.models import Due, Enrolment, EnrolmentStatus, utcnow

    w = await rules_world(sessions)
    await _slack_ids(w)
    sales = await w.group("Sales", GroupKind.DEPARTMENT)
    due = (utcnow() + timedelta(days=100)).date()
    follower = Follower(sessions)
    terms = saved.Terms(due=Due.ON, due_on=due, enrol_days_before=30, withdraw_on_leave=True)
    await w.rule(follower, terms=terms, group_ids=(sales,))
    await w.join(sales, "bob", "cat", "dan")
    await follower.step()
    told = {r.destination for r in await _rows(sessions)}
    assert told == {"slack:T1:UBOB", "slack:T1:UCAT", "slack:T1:UDAN"}
    await w.join(sales, "bob", leave=True)  # leaves before it shows: withdrawn by the rule
    await follower.step()
    async with sessions() as s, s.begin():
        cat = (
            await s.execute(select(Enrolment).where(Enrolment.user_id == w.people["cat"]))
        ).scalar_one()
        outcome = await withdrawals.withdraw(s, organisation_id=w.org.id, enrolment=cat, by="t")
        assert outcome is withdrawals.WithdrawOutcome.WITHDRAWN
    assert set(await w.enrolled(EnrolmentStatus.WITHDRAWN)) == w.ids("bob", "cat")
    rows = await _rows(sessions)
    assert [(r.destination, r.payload["action"]) for r in rows] == [("slack:T1:UDAN", "enrolled")]
