"""The command layer end to end, on both platforms: what help offers, how replies name places,
that a post is audited only once it happened, how metrics name commands, and that a word typed
at the bot never comes back as markup."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from store.models import AuditEvent
from tests.support.slack_world import ADMIN, SlackWorld, text_of
from tests.support.teams_world import CHANNEL, TeamsWorld, card_text


@pytest.fixture
def slack(db_url):
    with SlackWorld(db_url) as w:
        yield w


@pytest.fixture
def teams(db_url, tmp_path):
    with TeamsWorld(db_url, tmp_path) as w:
        yield w


def posted_audit(world: SlackWorld | TeamsWorld) -> list[tuple]:
    async def work(session):
        rows = await session.execute(
            select(AuditEvent.link_id, AuditEvent.detail).where(AuditEvent.action == "link.posted")
        )
        return [tuple(row) for row in rows]

    return world.db.run(work)


def test_slack_audits_a_post_only_once_slack_took_it(slack):
    failed = text_of(slack.command(ADMIN, "post safety-101 <#C0SECRET|secret>"))
    assert failed.startswith(":warning: I can't post in #secret")
    assert posted_audit(slack) == []
    done = text_of(slack.command(ADMIN, "post safety-101 <#C0OPS|ops>"))
    assert done.startswith(":white_check_mark: Posted the Enrol button for Safety 101 in #ops")
    assert posted_audit(slack) == [(1, {"channel": "C0OPS"})]


def test_slack_metrics_name_commands_as_registered_and_anything_else_unknown(slack):
    for text in ("frobnicate-one", "frobnicate-two", "LINKS list safety-101", ""):
        slack.command(ADMIN, text)
    slack.command("U0GUEST", "hello-from-a-guest")
    metrics = slack.http.get("/metrics").text
    series = [
        line
        for line in metrics.splitlines()
        if line.startswith("enrolbot_commands_total{") and 'platform="slack"' in line
    ]
    assert not any("frobnicate" in line or "hello" in line for line in series)
    assert any('command="unknown"' in line for line in series)
    assert any('command="link list"' in line for line in series)
    assert any('command="help"' in line for line in series)


def test_slack_notify_in_a_direct_message_says_this_chat(slack):
    slack.slack.add_channel("D0ADMIN", private=True)  # the admin's direct messages with the bot
    reply = text_of(
        slack.command(ADMIN, "notify safety-101", channel="D0ADMIN", channel_name="directmessage")
    )
    assert "This chat now gets instant alerts when people enrol themselves in Safety 101." in reply
    shown = text_of(slack.command(ADMIN, "help", channel="D0ADMIN", channel_name="directmessage"))
    assert "alone: what this chat gets" in shown and "this channel" not in shown


@pytest.mark.parametrize(
    "text", ["<https://evil.example|Reset your password>", "<!channel>", "`x` *y* [z](https://e)"]
)
def test_slack_never_echoes_a_guests_unknown_word(slack, text):
    reply = text_of(slack.command("U0GUEST", text))
    assert reply == ":warning: I don't know that command. `/enrol help` says what I can do."


def test_teams_help_lists_notify_and_never_offers_a_channel_by_name(teams):
    for where in ("channel", "personal"):
        shown = card_text(teams.say("admin", "help", where=where))
        assert (
            "enrol notify ITEM|all [--off] [--digest hourly|daily] [--email EMAIL] [--external-email on|off] [--stakeholder EMAIL]:"
            in shown
        )
        assert "enrol post ITEM|LINK [--token TOKEN]:" in shown
        assert "#" not in shown
    one = card_text(teams.say("admin", "help post"))
    assert "For example: enrol post safety-101" in one and "#" not in one


def test_teams_link_create_suggests_posting_where_the_command_is_sent(teams):
    created = card_text(teams.say("admin", 'link create safety-101 --label "Intranet"'))
    assert "Post it as a button: send enrol post 4 where it should appear" in created
    assert "#channel" not in created and "documents and email" not in created


def test_teams_notify_in_a_personal_chat_says_this_chat(teams):
    reply = card_text(teams.say("admin", "notify safety-101", where="personal"))
    assert "This chat now gets instant alerts when people enrol themselves in Safety 101." in reply


def test_teams_audits_a_post_only_once_the_connector_took_it(teams):
    teams.connector.fail_next(403, conversation=CHANNEL)
    failed = card_text(teams.say("admin", "post safety-101"))
    assert "Posted" not in failed
    assert posted_audit(teams) == []
    assert "Posted the Enrol button for Safety 101" in card_text(
        teams.say("admin", "post safety-101")
    )
    assert posted_audit(teams) == [(1, {"channel": CHANNEL})]


def test_teams_never_echoes_a_guests_link(teams):
    reply = card_text(teams.say("guest", '"[Verify your account](https://evil.example)"'))
    assert "evil.example" not in reply and "](" not in reply
