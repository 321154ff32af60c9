"""`invite import` from chat end to end, over HTTP against the stand-ins and a real SMTP server:
in Slack the command opens the import modal for invitations, its view_submission names the
file, which the bot fetches (files.info, url_private_download) and previews in the admin's DM
with Send invitations; in Teams a file sent in the personal chat with the words `invite import`
(or an email, group header) is previewed on a card whose Send invitations button
(Action.Execute) sends. Nothing is written before the button but the staged rows; the button
works once, for the admin who previewed; the emails reach the mail server."""

from __future__ import annotations

import json

import pytest

from bot.slack import import_blocks
from handlers import directory
from handlers.alert_message import GROUP_INVITATION
from handlers.organisations import default_organisation
from store.models import GroupKind, GroupSource, Invitation, InviteImport, OutboxMessage
from tests.support.slack_world import ADMIN, ANN, SlackWorld, text_of
from tests.support.smtp import smtp_server
from tests.support.syncdb import SyncDB
from tests.support.teams_world import TeamsWorld, card_text

GOOD = b"email,group,type\npat@outside.org,Newcomers\nkim@outside.org,Drivers,client\n"
WRONG = b"email,group\npat@outside.org,Newcomers\nnot-an-email,Newcomers\nlou@x.org,Nowhere\n"


def groups(db_url: str) -> None:
    async def work(session) -> None:
        org = await default_organisation(session)
        await directory.named_groups(
            session, org.id, GroupKind.GROUP, ["Newcomers", "Drivers"], create=GroupSource.MANUAL
        )

    SyncDB(db_url).run(work)


def held(db) -> tuple[int, int, int]:
    """(staged imports, invitations, invitation emails in the outbox)."""
    emails = db.count(OutboxMessage, OutboxMessage.kind == GROUP_INVITATION)
    return db.count(InviteImport), db.count(Invitation), emails


@pytest.fixture
def slack(db_url):
    groups(db_url)
    with (
        smtp_server() as inbox,
        SlackWorld(db_url, SMTP_URL=inbox.url, ENROLBOT_DELIVERY_SECONDS="0.1") as world,
    ):
        world.inbox = inbox
        yield world


def ephemerals(world: SlackWorld, user: str) -> list[str]:
    calls = world.slack.calls_of("chat.postEphemeral")
    return [text_of(c.args) for c in calls if c.args["user"] == user]


def open_form(world: SlackWorld, user: str, count: int) -> dict:
    response_url = world.slack.new_response_url()
    assert world.command_request(user, "invite import", "C0OPS", response_url).status_code == 200
    return world.slack.wait_view(count)


def submit(world: SlackWorld, view: dict, name: str, content: bytes) -> None:
    file_id = world.slack.add_upload(name, content)
    state = {"sheet": {"file": {"type": "file_input", "files": [{"id": file_id}]}}}
    assert world.submit_view(ADMIN, view, state).status_code == 200


def send_button(message: dict) -> dict | None:
    buttons = [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]
    return buttons[0] if buttons else None


def test_slack_modal_preview_and_send_invitations(slack):
    assert "Only enrolment admins can invite people" in text_of(slack.command(ANN, "invite import"))
    view = open_form(slack, ADMIN, 1)
    assert view["callback_id"] == import_blocks.IMPORT_FORM
    assert json.loads(view["private_metadata"]) == {"channel": "C0OPS", "kind": "invite"}
    assert view["title"]["text"] == "Invite from spreadsheet"
    assert "columns email, group and optionally type" in view["blocks"][0]["hint"]["text"]
    assert view["blocks"][0]["element"]["type"] == "file_input"
    no_file = slack.submit_view(ADMIN, view, {"sheet": {"file": {"files": []}}})
    assert "spreadsheet of invitations" in no_file.json()["errors"]["sheet"]

    submit(slack, view, "wrong.csv", WRONG)
    [wrong] = slack.wait_messages(ADMIN, 1)
    text = text_of(wrong)
    assert "Preview of wrong.csv" in text and "Fix the rows below" in text
    assert "line 3: `not-an-email` is not an email" in text
    assert "line 4: no group called Nowhere" in text
    assert send_button(wrong) is None and held(slack.db) == (0, 0, 0)

    submit(slack, open_form(slack, ADMIN, 2), "people.csv", GOOD)
    [_, preview] = slack.wait_messages(ADMIN, 2)
    text = text_of(preview)
    assert "2 to invite\n  1 into Drivers\n  1 into Newcomers" in text
    assert "Nobody is invited until you choose Send invitations" in text
    button = send_button(preview)
    assert button["text"]["text"] == "Send invitations"
    assert held(slack.db) == (1, 0, 0)  # staged, nothing sent

    _, url = slack.press(ANN, import_blocks.SEND_ACTION, button["value"])
    assert "Only enrolment admins can invite people" in text_of(slack.slack.wait_response(url)[0])
    _, url = slack.press(ADMIN, import_blocks.SEND_ACTION, button["value"] + "x")
    assert "This preview has expired" in text_of(slack.slack.wait_response(url)[0])
    assert held(slack.db) == (1, 0, 0)
    _, url = slack.press(ADMIN, import_blocks.SEND_ACTION, button["value"])
    [sent] = slack.slack.wait_response(url)
    assert sent["replace_original"] is True  # the button goes
    assert "Sent 2 invitations" in text_of(sent)
    assert held(slack.db) == (1, 2, 2)
    recipients = {r for rcpts, _ in slack.inbox.wait(2) for r in rcpts}
    assert recipients == {"pat@outside.org", "kim@outside.org"}
    _, url = slack.press(ADMIN, import_blocks.SEND_ACTION, button["value"])
    assert "sent already" in text_of(slack.slack.wait_response(url)[0])
    assert held(slack.db) == (1, 2, 2)


def test_slack_refuses_oversize_and_unreadable_files_in_one_sentence(slack):
    many = b"".join(b"p%d@outside.org,Newcomers\n" % n for n in range(501))
    submit(slack, open_form(slack, ADMIN, 1), "many.csv", many)
    submit(slack, open_form(slack, ADMIN, 2), "old.xls", b"\xd0\xcf\x11\xe0")
    submit(slack, open_form(slack, ADMIN, 3), "huge.csv", b"a" * (10 * 1024 * 1024 + 1))
    slack.slack.wait_call("chat.postEphemeral", 3)
    told = ephemerals(slack, ADMIN)
    assert any(
        "it has 501 rows and at most 500 can be invited at once: split it" in t for t in told
    )
    assert any("save the spreadsheet as .xlsx or as CSV UTF-8" in t for t in told)
    assert any("That file is over 10 MB" in t for t in told)
    assert held(slack.db) == (0, 0, 0)


def test_slack_without_a_mail_server_says_how_to_set_one(db_url):
    with SlackWorld(db_url) as world:
        reply = text_of(world.command(ADMIN, "invite import"))
    assert "set SMTP_URL" in reply and world.slack.views == []


@pytest.fixture
def teams(db_url, tmp_path):
    groups(db_url)
    with (
        smtp_server() as inbox,
        TeamsWorld(db_url, tmp_path, SMTP_URL=inbox.url, ENROLBOT_DELIVERY_SECONDS="0.1") as world,
    ):
        world.inbox = inbox
        yield world


def test_teams_file_with_the_words_or_the_header_previews_and_sends(teams):
    asked = card_text(teams.say("admin", "invite import", where="personal"))
    assert "attach it to a message that says invite import" in asked
    assert "Only enrolment admins can invite people" in card_text(
        teams.say("ann", "invite import", where="personal")
    )

    headless = b"pat@outside.org,Newcomers\nkim@outside.org,Drivers\n"
    preview = teams.send_file("admin", "people.csv", headless, text="invite import")
    assert "2 to invite" in card_text(preview)
    [send] = preview["actions"]
    assert send["title"] == "Send invitations"
    assert held(teams.db) == (1, 0, 0)
    refused = teams.invoke("ann", send["verb"], send["data"])
    assert "Only enrolment admins can invite people" in card_text(refused["value"])
    answer = teams.invoke("admin", send["verb"], send["data"])
    assert "Sent 2 invitations" in card_text(answer["value"])
    assert held(teams.db) == (1, 2, 2)
    again = teams.invoke("admin", send["verb"], send["data"])
    assert "sent already" in card_text(again["value"])
    assert len(teams.inbox.wait(2)) == 2

    # No words: the header row says it is invitations; the rows are checked again.
    wrong = teams.send_file("admin", "wrong.csv", WRONG)
    assert "Fix the rows below" in card_text(wrong) and "actions" not in wrong
    again = teams.send_file("admin", "again.csv", GOOD)
    assert "Already invited (invite resend EMAIL sends again): 2" in card_text(again)
    assert "actions" not in again and held(teams.db) == (1, 2, 2)

    # Neither: an enrolment template, as before.
    template = teams.send_file("admin", "team.csv", b"email,Safety 101 (safety-101)\n")
    assert "Final check of team.csv" in card_text(template)


def test_teams_without_a_mail_server_says_how_to_set_one(db_url, tmp_path):
    groups(db_url)
    with TeamsWorld(db_url, tmp_path) as world:
        asked = card_text(world.say("admin", "invite import", where="personal"))
        sent = card_text(world.send_file("admin", "people.csv", GOOD))
    assert "set SMTP_URL" in asked and "set SMTP_URL" in sent
    assert held(world.db) == (0, 0, 0)
