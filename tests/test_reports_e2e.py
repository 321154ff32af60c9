"""`report` end to end: in Slack the CSV is uploaded with the external upload API to the
stand-in, where the command was typed or else in the admin's DM; in Teams the answer carries
a short-lived signed download link that works over HTTP, and a tampered one is refused."""

from __future__ import annotations

import csv
import io

import pytest

from handlers.csvwrite import BOM
from tests.support import seed
from tests.support.slack_world import ADMIN, ANN, SlackWorld, text_of


def emails_in(content: bytes) -> list[str]:
    text = content.decode("utf-8")
    assert text.startswith(BOM)
    return sorted(row["email"] for row in csv.DictReader(io.StringIO(text.removeprefix(BOM))))


@pytest.fixture
def slack(db_url):
    with SlackWorld(db_url) as w:
        w.db.run(seed.report_enrolments)
        yield w


def test_slack_report_uploads_the_csv_here_or_else_in_a_direct_message(slack):
    reply = text_of(slack.command(ADMIN, "report safety-101", channel="C0OPS"))
    assert "3 enrolments in Safety 101, 1 completed." in reply
    assert "By user type: 1 staff, 1 client, 1 prospect." in reply
    assert "The CSV is attached here." in reply
    [asked] = slack.slack.calls_of("files.getUploadURLExternal")
    shared = slack.slack.shared_file()
    assert shared["channel"] == "C0OPS"
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
    assert completed.args["channel_id"] == "C0OPS"

    # A public channel the bot was never invited to: the file goes to the admin's DM.
    slack.slack.add_channel("C0LOBBY", name="lobby", member=False)
    reply = text_of(slack.command(ADMIN, "report safety-101 --type prospect", channel="C0LOBBY"))
    assert "1 enrolment in Safety 101 (prospect only), 0 completed." in reply
    assert "I've sent you the CSV in a direct message" in reply
    [opened] = slack.slack.calls_of("conversations.open")
    assert opened.args["users"] == ADMIN
    shared = slack.slack.shared_file()
    assert shared["channel"] == f"D{ADMIN}"
    assert emails_in(shared["content"]) == ["pat@prospect.test"]

    # A learner gets no report and no file.
    refused = text_of(slack.command(ANN, "report safety-101", channel="C0OPS"))
    assert "Only enrolment admins can see reports" in refused
    assert len(slack.slack.calls_of("files.getUploadURLExternal")) == 2
