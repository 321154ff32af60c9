"""`report` end to end: in Slack the CSV is uploaded with the external upload API to the
stand-in, always in the admin's DM (it names people); in Teams the answer carries
a short-lived signed download link that works over HTTP (a tampered one is refused), and in the
personal chat a file consent card whose accept puts the CSV where Teams says."""

from __future__ import annotations

import csv
import io

import pytest

from handlers.csvwrite import BOM
from tests.support import seed
from tests.support.slack_world import ADMIN, ANN, PUBLIC_URL, SlackWorld, text_of
from tests.support.teams_world import DIRECTORY, TeamsWorld, card_text


def emails_in(content: bytes) -> list[str]:
    text = content.decode("utf-8")
    assert text.startswith(BOM)
    return sorted(row["email"] for row in csv.DictReader(io.StringIO(text.removeprefix(BOM))))


@pytest.fixture
def slack(db_url):
    with SlackWorld(db_url) as w:
        w.db.run(seed.report_enrolments)
        yield w


def test_slack_report_uploads_the_csv_to_the_admins_direct_message_only(slack):
    # Typed in a channel the bot is in: the CSV names people, so it still goes to the DM.
    reply = text_of(slack.command(ADMIN, "report safety-101", channel="C0OPS"))
    assert "3 enrolments in Safety 101, 1 completed." in reply
    assert "By user type: 1 staff, 1 client, 1 prospect." in reply
    assert "I've sent you the CSV in a direct message" in reply
    [asked] = slack.slack.calls_of("files.getUploadURLExternal")
    shared = slack.slack.shared_file()
    assert shared["channel"] == f"D{ADMIN}"
    assert shared["filename"] == asked.args["filename"]
    assert shared["filename"].startswith("safety-101-enrolments-")
    assert int(asked.args["length"]) == len(shared["content"])
    assert emails_in(shared["content"]) == [
        "done@acme.test",
        "formula@client.test",
        "pat@prospect.test",
    ]
    assert b"'=cmd|' /C calc'!A0" in shared["content"]
    [completed] = slack.slack.calls_of("files.completeUploadExternal")
    assert completed.args["channel_id"] == f"D{ADMIN}"

    # A public channel the bot was never invited to: the same.
    slack.slack.add_channel("C0LOBBY", name="lobby", member=False)
    reply = text_of(slack.command(ADMIN, "report safety-101 --type prospect", channel="C0LOBBY"))
    assert "1 enrolment in Safety 101 (prospect only), 0 completed." in reply
    assert "I've sent you the CSV in a direct message" in reply
    assert [c.args["users"] for c in slack.slack.calls_of("conversations.open")] == [ADMIN] * 2
    shared = slack.slack.shared_file()
    assert shared["channel"] == f"D{ADMIN}"
    assert emails_in(shared["content"]) == ["pat@prospect.test"]

    # A learner gets no report and no file.
    refused = text_of(slack.command(ANN, "report safety-101", channel="C0OPS"))
    assert "Only enrolment admins can see reports" in refused
    assert len(slack.slack.calls_of("files.getUploadURLExternal")) == 2

    # An install from before reports lacks files:write: the summary still comes, with the fix.
    slack.slack.fail_next(
        "files.getUploadURLExternal", 200, {"ok": False, "error": "missing_scope"}
    )
    reply = text_of(slack.command(ADMIN, "report safety-101", channel="C0OPS"))
    assert "3 enrolments in Safety 101" in reply
    assert "the Slack app needs the files:write permission" in reply


@pytest.fixture
def teams(db_url, tmp_path):
    with TeamsWorld(db_url, tmp_path) as w:
        w.db.run(seed.report_enrolments)
        yield w


def download_link(card: dict) -> str:
    [action] = card["actions"]
    assert (action["type"], action["title"]) == ("Action.OpenUrl", "Download the CSV")
    assert action["url"].startswith(f"{PUBLIC_URL}/reports/")
    return action["url"].removeprefix(PUBLIC_URL)


def consent_answer(teams, action: str, context: dict, name: str) -> dict:
    """Answer a file consent card as Teams does (accept names an upload URL); the bot's reply."""
    activity = teams.activity(
        "admin",
        where="personal",
        type="invoke",
        name="fileConsent/invoke",
        value={
            "type": "fileUpload",
            "action": action,
            "context": context,
            "uploadInfo": teams.connector.upload_info(name),
        },
    )
    assert teams.send(activity).status_code == 200
    [reply] = teams.connector.wait(lambda s: s.activity_id == activity["id"] and not s.failed)
    return reply.body


def test_teams_report_gives_a_download_link_and_a_file_and_refuses_a_tampered_link(teams):
    card = teams.say("admin", "report safety-101 --since 2020-01-01", where="personal")
    text = card_text(card)
    assert "3 enrolments in Safety 101 (enrolled since 2020-01-01), 1 completed." in text
    assert "The download link works for 15 minutes" in text
    path = download_link(card)
    got = teams.http.get(path)
    assert got.status_code == 200
    assert got.headers["content-type"] == "text/csv; charset=utf-8"
    assert got.headers["cache-control"] == "no-store"
    disposition = got.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="safety-101-enrolments-since-2020-01-01-')
    assert emails_in(got.content) == ["done@acme.test", "formula@client.test", "pat@prospect.test"]
    assert b"'=cmd|' /C calc'!A0" in got.content

    # The same answer offers the CSV as a file: accepted, it lands in the admin's OneDrive.
    [answered] = [
        s.body for s in teams.connector.sent if s.activity_id and "attachments" in s.body
    ][-1:]
    consent = answered["attachments"][1]
    assert consent["contentType"] == "application/vnd.microsoft.teams.card.file.consent"
    assert consent["content"]["sizeInBytes"] == len(got.content)
    name = consent["name"]
    shown = consent_answer(teams, "accept", consent["content"]["acceptContext"], name)
    [file_card] = shown["attachments"]
    assert file_card["contentType"] == "application/vnd.microsoft.teams.card.file.info"
    assert (file_card["name"], file_card["content"]["fileType"]) == (name, "csv")
    content, content_range = teams.connector.uploads[name]
    assert emails_in(content) == ["done@acme.test", "formula@client.test", "pat@prospect.test"]
    assert content_range == f"bytes 0-{len(content) - 1}/{len(content)}"
    forged = consent_answer(teams, "accept", {"report": path.rsplit("/", 1)[1] + "x"}, "f.csv")
    assert "This report has expired or is no longer yours" in card_text(
        forged["attachments"][0]["content"]
    )
    assert "f.csv" not in teams.connector.uploads

    head, sep, tail = path.rpartition(".")
    tampered = teams.http.get(f"{head}{sep}{'A' if tail[0] != 'A' else 'B'}{tail[1:]}")
    assert tampered.status_code == 403
    assert "Run the report again" in tampered.text
    assert "text/csv" not in tampered.headers["content-type"]
    assert teams.db.audit_actions().count("report.downloaded") == 2  # the link and the file

    # In a channel everyone reads the answer: the link goes to the admin's personal chat.
    card = teams.say("admin", "report safety-101 --type client")
    text = card_text(card)
    assert "1 enrolment in Safety 101 (client only), 0 completed." in text
    assert "I've sent you the download link in our personal chat" in text
    assert "actions" not in card
    [private] = teams.wait_messages(f"a:dm-{DIRECTORY['admin']['id']}", 1)
    got = teams.http.get(download_link(private["attachments"][0]["content"]))
    assert emails_in(got.content) == ["formula@client.test"]
