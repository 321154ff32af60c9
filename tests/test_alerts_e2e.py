"""Self-enrolment alerts end to end: /enrol notify, clicks, and what arrives in channels and
inboxes, over real HTTP against Slack's stand-in and a real SMTP server."""

from __future__ import annotations

import time
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from handlers.enrol import enrol_with_token
from handlers.identity import Account, Profile
from handlers.links import default_link, token_for
from handlers.organisations import default_organisation
from handlers.signing import LinkSigner
from store.models import CatalogItem, NotificationSubscription, OutboxMessage, OutboxStatus, User
from tests.support.processes import free_port
from tests.support.slack_world import ADMIN, ANN, SlackWorld, text_of

SECTION_LIMIT, BLOCK_LIMIT, TEXT_LIMIT = 3000, 50, 40_000


@pytest.fixture
def world(db_url):
    with SlackWorld(db_url) as w:
        yield w


def subscribe(world: SlackWorld, text: str) -> str:
    return text_of(world.command(ADMIN, text))


def test_a_subscribed_channel_hears_who_enrolled_in_what_through_which_link_and_when(world):
    assert subscribe(world, "notify safety-101 <#C0OPS|ops>") == (
        ":white_check_mark: #ops now gets instant alerts when people enrol themselves in Safety 101."
    )
    token = world.posted_button("C0GENERAL")
    world.click(ANN, token)
    [alert] = world.wait_messages("C0OPS", 1)
    text = text_of(alert)
    assert "*Ann Lee* (staff) enrolled themselves in *Safety 101* through default link at " in text
    assert (
        text.endswith(" UTC.")
        and alert["text"] == "Ann Lee enrolled themselves in Safety 101 (default link)."
    )
    # Nothing for a click that enrols nobody.
    world.click(ANN, token)
    world.click("U0GUEST", token)
    time.sleep(1)
    assert len(world.messages_to("C0OPS")) == 1


def test_notify_lists_changes_and_stops_a_channels_alerts(world):
    assert subscribe(world, "notify all --digest daily") == (
        ":white_check_mark: #c0general now gets a daily digest when people enrol themselves in every item."
    )
    assert (
        subscribe(world, "notify all --digest daily")
        == "#c0general already gets a daily digest for every item; nothing changed."
    )
    subscribe(world, "notify privacy --digest hourly")
    assert text_of(world.command(ADMIN, "notify")).splitlines()[1:] == [
        "every item · a daily digest here",
        "Privacy basics · an hourly digest here",
    ]
    assert (
        subscribe(world, "notify all --off")
        == ":white_check_mark: #c0general no longer gets self-enrolment alerts for every item."
    )
    assert (
        subscribe(world, "notify all --off")
        == "#c0general gets no alerts for every item; nothing changed."
    )
    assert world.db.count(NotificationSubscription) == 1


def test_after_unsubscribing_a_channel_hears_nothing(world):
    subscribe(world, "notify safety-101 <#C0OPS|ops>")
    subscribe(world, "notify safety-101 <#C0OPS|ops> --off")
    world.click(ANN, world.posted_button("C0GENERAL"))
    time.sleep(1)
    assert world.messages_to("C0OPS") == []


def test_only_admins_subscribe_and_only_channels_the_bot_can_post_in(world):
    refused = text_of(world.command(ANN, "notify safety-101"))
    assert (
        refused
        == ":warning: Only enrolment admins can manage self-enrolment alerts; nothing was changed."
    )
    private = subscribe(world, "notify safety-101 <#C0SECRET|secret>")
    assert private == (
        ":warning: I can't post in #secret: invite me there first (`/invite @enrolbot`), then try "
        "again. Nothing was subscribed."
    )
    assert "is archived" in subscribe(world, "notify all <#C0OLD|old>")
    assert world.db.count(NotificationSubscription) == 0
    assert "--digest takes hourly or daily" in subscribe(world, "notify all --digest weekly")


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


def test_a_burst_of_500_enrolments_names_everyone_in_as_few_messages_as_the_limits_allow(world):
    subscribe(world, "notify safety-101 <#C0OPS|ops>")

    async def burst(session):
        org = await default_organisation(session)
        item = await session.scalar(select(CatalogItem).where(CatalogItem.slug == "safety-101"))
        signer = LinkSigner(["test-key-of-thirty-two-bytes-0123"])
        token = token_for(signer, await default_link(session, item))
        for n in range(500):
            email = f"learner{n:03}@acme.test"
            session.add(
                User(
                    organisation_id=org.id,
                    email=email,
                    first_name=f"Learner{n:03}",
                    last_name="Lastname-" + "x" * 40,
                )
            )
            await session.flush()

            async def lookup(email=email) -> Profile:
                return Profile(email=email)

            await enrol_with_token(
                session,
                signer=signer,
                organisation=org,
                token=token,
                account=Account("slack", "T0ACME", f"UL{n}"),
                lookup=lookup,
            )

    world.db.run(burst)
    messages = world.wait_messages("C0OPS", 2)
    time.sleep(1.5)
    messages = world.messages_to("C0OPS")
    assert len(messages) == 2  # 400 names fit in a message; 500 need two
    text = "\n".join(text_of(m) for m in messages)
    assert all(f"Learner{n:03} Lastname-" in text for n in range(500))
    assert "Showing 400 of 500; the other 100 follow in the next message." in text_of(messages[0])
    for m in messages:
        assert len(m["blocks"]) <= BLOCK_LIMIT and len(m["text"]) <= TEXT_LIMIT
        assert all(
            len(b["text"]["text"]) <= SECTION_LIMIT for b in m["blocks"] if b["type"] == "section"
        )
    calls = [c for c in world.slack.calls_of("chat.postMessage") if c.args["channel"] == "C0OPS"]
    assert calls[1].at - calls[0].at >= 0.95  # one message a second at most


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook
        self.messages.append(
            (envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 OK"


def test_alerts_reach_the_primary_admin_and_stakeholders_by_email(db_url):
    inbox = Inbox()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        with SlackWorld(db_url, SMTP_URL=f"smtp://127.0.0.1:{port}?from=alerts@acme.test") as world:

            async def primary(session):
                (await default_organisation(session)).primary_admin_email = "head@acme.test"

            world.db.run(primary)
            assert subscribe(world, "notify safety-101 --email HR@acme.test") == (
                ":white_check_mark: hr@acme.test now gets instant alerts when people enrol themselves in Safety 101."
            )
            world.click(ANN, world.posted_button())
            deadline = time.monotonic() + 10
            while len(inbox.messages) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            got = {tuple(to): m for to, m in inbox.messages}
            assert set(got) == {("head@acme.test",), ("hr@acme.test",)}
            mail = got[("hr@acme.test",)]
            assert mail["From"] == "alerts@acme.test"
            assert mail["Subject"] == "1 self-enrolment in Safety 101"
            assert (
                "Ann Lee (staff, ann@acme.test) enrolled themselves in Safety 101 through default link"
                in mail.get_content()
            )
    finally:
        smtp.stop()
