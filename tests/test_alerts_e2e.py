"""Self-enrolment alerts end to end: /enrol notify, clicks, and what arrives in channels and
inboxes, over real HTTP against Slack's stand-in and a real SMTP server."""

from __future__ import annotations

import json
import time

import pytest
from slack_sdk.models.blocks import Block
from sqlalchemy import select

from handlers.enrol import enrol_with_token
from handlers.identity import Account, Profile
from handlers.links import default_link, token_for
from handlers.organisations import default_organisation
from handlers.signing import LinkSigner
from store.models import CatalogItem, NotificationSubscription, OutboxMessage, OutboxStatus, User
from tests.support.slack_checks import subscribe
from tests.support.slack_world import ADMIN, ANN, SlackWorld, text_of
from tests.support.smtp import smtp_server

SECTION_LIMIT, BLOCK_LIMIT, TEXT_LIMIT = 3000, 50, 40_000


@pytest.fixture
def world(db_url):
    with SlackWorld(db_url) as w:
        yield w


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


def test_alerts_reach_the_primary_admin_and_stakeholders_by_email(db_url):
    with smtp_server() as inbox, SlackWorld(db_url, SMTP_URL=inbox.url) as world:

        async def primary(session):
            (await default_organisation(session)).primary_admin_email = "head@acme.test"

        world.db.run(primary)
        assert subscribe(world, "notify safety-101 --email HR@acme.test") == (
            ":white_check_mark: hr@acme.test now gets instant alerts when people enrol themselves in Safety 101."
        )
        world.click(ANN, world.posted_button())
        got = {tuple(to): m for to, m in inbox.wait(2)}
        assert set(got) == {("head@acme.test",), ("hr@acme.test",)}
        mail = got[("hr@acme.test",)]
        assert mail["From"] == "alerts@acme.test"
        assert mail["Subject"] == "1 self-enrolment in Safety 101"
        assert (
            "Ann Lee (staff, ann@acme.test) enrolled themselves in Safety 101 through default link"
            in mail.get_content()
        )


def _rename(world: SlackWorld, email: str, first: str, last: str) -> None:
    async def work(session):
        user = await session.scalar(select(User).where(User.email == email))
        user.first_name, user.last_name = first, last

    world.db.run(work)


def test_names_and_titles_reach_slack_alerts_as_text_never_as_mentions_or_links(world):
    _rename(world, "ann@acme.test", "<!channel>", "<https://evil.example|Reset your password>")
    subscribe(world, "notify safety-101 <#C0OPS|ops>")
    world.click(ANN, world.posted_button("C0GENERAL"))
    [alert] = world.wait_messages("C0OPS", 1)
    blocks = json.loads(alert["blocks"]) if isinstance(alert["blocks"], str) else alert["blocks"]
    for block in blocks:
        assert Block.parse(block).to_dict() == block  # Block Kit as slack_sdk knows it
    for text in (alert["text"], text_of(alert)):
        assert "<!channel>" not in text and "<https://evil.example" not in text
        assert "&lt;!channel&gt; &lt;https://evil.example|Reset your password&gt;" in text


def test_a_title_with_a_line_break_is_emailed_once_with_a_one_line_subject(db_url):
    with smtp_server() as inbox, SlackWorld(db_url, SMTP_URL=inbox.url) as world:

        async def retitle(session):
            item = await session.scalar(select(CatalogItem).where(CatalogItem.slug == "safety-101"))
            item.title = "Safety\r\nBcc: everyone@acme.test\r\n\r\nClick here"

        world.db.run(retitle)
        subscribe(world, "notify safety-101 --email hr@acme.test")
        world.click(ANN, world.posted_button())
        inbox.wait(1)
        time.sleep(1)
        [(to, mail)] = inbox.messages
        assert to == ["hr@acme.test"] and mail["Bcc"] is None
        assert mail["Subject"] == "1 self-enrolment in Safety Bcc: everyone@acme.test Click here"
        assert "enrolled themselves in Safety Bcc: everyone@acme.test Click here through" in (
            mail.get_content()
        )
        row = world.db.scalar(
            select(OutboxMessage).where(OutboxMessage.destination == "email:hr@acme.test")
        )
        assert (row.status, row.attempts) == (OutboxStatus.SENT, 1)
