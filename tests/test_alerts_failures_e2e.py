"""Self-enrolment alerts end to end when delivery fails: rate limits, server errors and timeouts,
channels that are gone or hang, and messages Slack or Teams refuse; over real HTTP against the
platforms' stand-ins."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from handlers.enrol import enrol_with_token
from handlers.identity import Account, Profile
from handlers.links import default_link, token_for
from handlers.organisations import default_organisation
from handlers.signing import LinkSigner
from store.models import CatalogItem, NotificationSubscription, OutboxMessage, OutboxStatus, User
from tests.support.slack_checks import subscribe
from tests.support.slack_world import ADMIN, ANN, SlackWorld, text_of
from tests.support.teams_world import CHANNEL, TeamsWorld, card_text


@pytest.fixture
def world(db_url):
    with SlackWorld(db_url) as w:
        yield w


def test_a_rate_limited_alert_is_delivered_once_after_the_wait_slack_asks_for(world):
    subscribe(world, "notify safety-101 <#C0OPS|ops>")
    token = world.posted_button("C0GENERAL")
    world.slack.fail_next(
        "chat.postMessage", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "2"}
    )
    world.click(ANN, token)
    [alert] = world.wait_messages("C0OPS", 1)
    refused, delivered = [
        c for c in world.slack.calls_of("chat.postMessage") if c.args["channel"] == "C0OPS"
    ]
    assert refused.failed and not delivered.failed
    assert delivered.at - refused.at >= 2  # it waited as long as Slack asked
    time.sleep(1)
    assert len(world.messages_to("C0OPS")) == 1 and "Ann Lee" in text_of(alert)


def test_server_errors_and_timeouts_are_retried(db_url):
    # A timeout with room to spare: on a busy CI machine a post that works can take a second.
    with SlackWorld(db_url, SLACK_TIMEOUT_SECONDS="2") as world:
        subscribe(world, "notify safety-101 <#C0OPS|ops>")
        token = world.posted_button("C0GENERAL")
        world.slack.fail_next("chat.postMessage", 500)
        world.slack.fail_next("chat.postMessage", 0, {"seconds": 4})  # hangs past the timeout
        world.click(ANN, token)
        [alert] = world.wait_messages("C0OPS", 1, timeout=30)
        assert "Ann Lee" in text_of(alert)
        # Slack has the message as soon as the post arrives; the bot marks the row sent once
        # Slack's answer is back, a moment later.
        in_slack = select(OutboxMessage).where(OutboxMessage.destination.like("slack:%"))
        deadline = time.monotonic() + 10
        row = world.db.scalar(in_slack)
        while row.status is OutboxStatus.PENDING and time.monotonic() < deadline:
            time.sleep(0.05)
            row = world.db.scalar(in_slack)
        assert (row.status, row.attempts) == (OutboxStatus.SENT, 3)


def test_a_channel_that_is_gone_is_failed_its_admin_told_once_and_others_still_hear(world):
    subscribe(world, "notify safety-101 <#C0OPS|ops>")
    subscribe(world, "notify all <#C0GENERAL|general>")
    world.slack.channels.pop("C0OPS")  # deleted in Slack since
    token = world.posted_button("C0GENERAL")
    world.click(ANN, token)
    dm = world.wait_messages(ADMIN, 1)
    assert text_of(dm[0]).startswith(
        "Self-enrolment alerts to #ops have stopped: it no longer takes my messages (channel_not_found)."
    )
    world.wait_messages("C0GENERAL", 2)  # the button, then the alert
    world.click("U0DONE", world.posted_button("C0GENERAL"))  # completed: no alert

    # A second self-enrolment: #ops is not tried again, the admin is not told again.
    async def second(session):
        org = await default_organisation(session)
        item = await session.scalar(select(CatalogItem).where(CatalogItem.slug == "privacy"))
        link = await default_link(session, item)

        async def lookup() -> Profile:
            return Profile(email="ann@acme.test")

        await enrol_with_token(
            session,
            signer=LinkSigner(["test-key-of-thirty-two-bytes-0123"]),
            organisation=org,
            token=token_for(LinkSigner(["test-key-of-thirty-two-bytes-0123"]), link),
            account=Account("slack", "T0ACME", ANN),
            lookup=lookup,
        )

    world.db.run(second)
    world.wait_messages("C0GENERAL", 4)
    time.sleep(1)
    assert len(world.messages_to(ADMIN)) == 1
    assert (
        len([c for c in world.slack.calls_of("chat.postMessage") if c.args["channel"] == "C0OPS"])
        == 1
    )  # the one that failed
    sub = world.db.scalar(
        select(NotificationSubscription).where(NotificationSubscription.channel_id == "C0OPS")
    )
    assert sub.disabled_reason == "channel_not_found"
    assert "stopped: channel_not_found" in text_of(world.command(ADMIN, "notify", channel="C0OPS"))


def _self_enrol(world: SlackWorld, slug: str, email: str, subject: str) -> None:
    """Someone enrols themselves in an item through its default link, straight through the
    handler."""

    async def work(session):
        org = await default_organisation(session)
        item = await session.scalar(select(CatalogItem).where(CatalogItem.slug == slug))
        signer = LinkSigner(["test-key-of-thirty-two-bytes-0123"])

        async def lookup() -> Profile:
            return Profile(email=email)

        await enrol_with_token(
            session,
            signer=signer,
            organisation=org,
            token=token_for(signer, await default_link(session, item)),
            account=Account("slack", "T0ACME", subject),
            lookup=lookup,
        )

    world.db.run(work)


def _enrol_ann_in_privacy(world: SlackWorld) -> None:
    _self_enrol(world, "privacy", "ann@acme.test", ANN)


def test_a_channel_that_hangs_delays_no_other_channel_and_is_cut_off_at_the_timeout(db_url):
    with SlackWorld(db_url, SLACK_TIMEOUT_SECONDS="1") as world:
        world.slack.add_channel("C0SLOW")
        subscribe(world, "notify all <#C0OPS|ops>")
        subscribe(world, "notify all <#C0SLOW|slow>")
        world.slack.hang_posts("C0SLOW", 8)  # Slack stalls on #slow's first alert
        world.click(ANN, world.posted_button("C0GENERAL"))
        world.wait_messages("C0OPS", 1)
        clicked = time.monotonic()
        _enrol_ann_in_privacy(world)  # a second alert for both channels
        world.wait_messages("C0OPS", 2, timeout=6)
        # #ops heard of it at once, though #slow's first post still hangs.
        assert time.monotonic() - clicked < 4
        # #slow's post was given up after SLACK_TIMEOUT_SECONDS and sent again, long before
        # Slack would have answered the stalled one.
        [slow] = world.wait_messages("C0SLOW", 1, timeout=6)
        posts = [
            c for c in world.slack.calls_of("chat.postMessage") if c.args["channel"] == "C0SLOW"
        ]
        assert posts[0].failed and posts[1].at - posts[0].at < 6
        assert "Ann Lee" in text_of(slow)


def test_a_message_slack_refuses_fails_alone_and_the_admin_is_told_once(world):
    subscribe(world, "notify all <#C0OPS|ops>")
    bad = {"ok": False, "error": "invalid_blocks"}
    world.slack.fail_next("chat.postMessage:C0OPS", 200, bad)
    world.click(ANN, world.posted_button("C0GENERAL"))
    [dm] = world.wait_messages(ADMIN, 1)
    assert text_of(dm).startswith(
        "A self-enrolment alert to #ops was refused (invalid_blocks) and will not be sent again. "
        "#ops still gets the alerts after it"
    )
    world.slack.fail_next("chat.postMessage:C0OPS", 200, bad)
    _enrol_ann_in_privacy(world)  # refused too: the admin already knows
    deadline = time.monotonic() + 10
    while len(world.slack.calls_of("chat.postMessage")) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    _enrol_new_person(world)
    [alert] = world.wait_messages("C0OPS", 1)  # the channel still gets alerts
    assert "Nia New" in text_of(alert)
    time.sleep(1)
    assert len(world.messages_to(ADMIN)) == 1
    sub = world.db.scalar(select(NotificationSubscription))
    assert sub.disabled_at is None
    failed = world.db.count(OutboxMessage, OutboxMessage.status == OutboxStatus.FAILED)
    assert failed == 2
    assert "stopped" not in text_of(world.command(ADMIN, "notify", channel="C0OPS"))


def _enrol_new_person(world: SlackWorld) -> None:
    async def add(session):
        org = await default_organisation(session)
        session.add(
            User(organisation_id=org.id, email="nia@acme.test", first_name="Nia", last_name="New")
        )

    world.db.run(add)
    _self_enrol(world, "onboarding", "nia@acme.test", "U0NIA")


def test_a_card_teams_refuses_fails_alone_and_the_teams_channel_keeps_its_alerts(db_url, tmp_path):
    with TeamsWorld(db_url, tmp_path) as world:
        world.say("admin", "notify all")
        token, card_id = world.post_card()
        world.connector.fail_next(400, conversation=CHANNEL)  # BadArgument: this activity
        world.click("ann", token, card_id)
        [dm] = world.connector.wait(
            lambda s: s.conversation == "a:dm-29:boss" and s.method == "POST"
        )
        told = card_text(dm.body["attachments"][0]["content"])
        assert "was refused (Teams answered 400) and will not be sent again" in told
        sub = world.db.scalar(select(NotificationSubscription))
        assert sub.disabled_at is None
        assert world.db.count(OutboxMessage, OutboxMessage.status == OutboxStatus.FAILED) == 1
