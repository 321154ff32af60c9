"""Spreadsheet enrolment end to end, over HTTP against the stand-ins: in Slack `enrol template`
uploads the .xlsx to the admin's DM, `enrol import` opens the modal, its view_submission names
the file, which the bot fetches with files.info and url_private_download, previews in the DM
with a Start import button, and the button imports; in Teams a file sent in the personal chat
is downloaded, previewed on a card, and its Start button imports. Nothing is written before."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from bot.slack import import_blocks
from store.models import Enrolment, EnrolmentSource, OutboxMessage
from tests.support.slack_world import ADMIN, ANN, SlackWorld, text_of
from tests.support.teams_world import TeamsWorld, card_text


def filled(template: bytes) -> bytes:
    book = load_workbook(io.BytesIO(template))
    sheet = book["Enrolments"]
    for row in (
        ["ann@acme.test", "x", "x"],  # 2
        ["done@acme.test", "x", ""],  # 3: completed already
        ["off@acme.test", "x", ""],  # 4: deactivated
        ["nobody@acme.test", "x", ""],  # 5: unknown
        ["not an email", "x", ""],  # 6: error
    ):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def imported(session) -> tuple[int, int]:
    made = await session.scalar(
        select(func.count()).where(Enrolment.source == EnrolmentSource.IMPORT)
    )
    told = await session.scalar(
        select(func.count(func.distinct(OutboxMessage.destination))).where(
            OutboxMessage.kind == "learner"
        )
    )
    return made, told


@pytest.fixture
def slack(db_url):
    with SlackWorld(db_url) as w:
        yield w


def test_slack_template_modal_file_preview_and_start(slack):
    reply = text_of(slack.command(ADMIN, "enrol template safety-101 privacy", channel="C0OPS"))
    assert "Here is the template for Safety 101, Privacy basics" in reply
    shared = slack.slack.shared_file()
    assert shared["channel"] == f"D{ADMIN}" and shared["filename"].endswith(".xlsx")
    header = [c.value for c in load_workbook(io.BytesIO(shared["content"]))["Enrolments"][1]]
    assert header == ["email", "Safety 101 (safety-101)", "Privacy basics (privacy)"]

    # /enrol enrol import opens the modal from the command's trigger.
    response_url = slack.slack.new_response_url()
    assert slack.command_request(ADMIN, "enrol import", "C0OPS", response_url).status_code == 200
    view = slack.slack.wait_view()
    assert view["callback_id"] == import_blocks.IMPORT_FORM
    assert view["blocks"][0]["element"]["type"] == "file_input"

    file_id = slack.slack.add_upload("team.xlsx", filled(shared["content"]))
    state = {"sheet": {"file": {"type": "file_input", "files": [{"id": file_id}]}}}
    assert slack.submit_view(ADMIN, view, state).status_code == 200
    [preview] = slack.wait_messages(ADMIN, 1)
    text = text_of(preview)
    assert "Final check of team.xlsx (5 rows)" in text
    assert "Will be enrolled: 1 person, 2 enrolments" in text
    assert "Already enrolled (left as they are): 1" in text
    assert "row 4: off@acme.test: deactivated" in text
    assert "row 5: nobody@acme.test: no one has this email" in text
    assert "row 6: 'not an email' is not an email address" in text
    assert slack.slack.calls_of("files.info")[0].args["file"] == file_id
    assert slack.db.run(imported) == (0, 0)  # nothing before Start

    [start] = [e for b in preview["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert start["text"]["text"] == "Start import"
    _, url = slack.press(ANN, import_blocks.START_ACTION, start["value"])
    assert "Only enrolment admins" in text_of(slack.slack.wait_response(url)[0])
    assert slack.db.run(imported) == (0, 0)
    _, url = slack.press(ADMIN, import_blocks.START_ACTION, start["value"])
    started, done = slack.slack.wait_response(url, 2)
    assert started["replace_original"] is True
    assert "2 enrolments made for 1 person" in text_of(done)
    assert slack.db.run(imported) == (2, 1)  # one message for Ann, naming both items
    _, url = slack.press(ADMIN, import_blocks.START_ACTION, start["value"])
    assert "expired or has run already" in text_of(slack.slack.wait_response(url, 2)[-1])

    listed = text_of(slack.command(ADMIN, "enrol imports"))
    assert "boss@acme.test" in listed and "team.xlsx: 2 enrolled" in listed


@pytest.fixture
def teams(db_url, tmp_path):
    with TeamsWorld(db_url, tmp_path) as w:
        yield w


def test_teams_file_in_personal_chat_preview_and_start(teams):
    card = teams.say("admin", "enrol template safety-101", where="personal")
    assert "Here is the template for Safety 101" in card_text(card)
    answered = [s.body for s in teams.connector.sent if "attachments" in s.body][-1]
    consent = answered["attachments"][1]
    assert consent["contentType"] == "application/vnd.microsoft.teams.card.file.consent"
    accept = teams.activity(
        "admin",
        where="personal",
        type="invoke",
        name="fileConsent/invoke",
        value={
            "type": "fileUpload",
            "action": "accept",
            "context": consent["content"]["acceptContext"],
            "uploadInfo": teams.connector.upload_info(consent["name"]),
        },
    )
    assert teams.send(accept).status_code == 200
    teams.connector.wait(lambda s: s.activity_id == accept["id"] and not s.failed)
    content, _ = teams.connector.uploads[consent["name"]]
    header = [c.value for c in load_workbook(io.BytesIO(content))["Enrolments"][1]]
    assert header == ["email", "Safety 101 (safety-101)"]

    card = teams.say("admin", "enrol import", where="personal")
    assert "Send me the filled template" in card_text(card)
    csv = b"email,Safety 101 (safety-101)\nann@acme.test,x\nnobody@acme.test,x\n"
    preview = teams.send_file("admin", "team.csv", csv)
    text = card_text(preview)
    assert "Final check of team.csv (2 rows)" in text
    assert "row 3: nobody@acme.test" in text
    assert teams.db.run(imported) == (0, 0)
    [start] = [a for a in preview["actions"] if a.get("title") == "Start import"]
    answer = teams.invoke("admin", start["verb"], start["data"])
    assert "Import started" in card_text(answer["value"])
    [done] = teams.connector.wait(lambda s: "1 enrolment made" in str(s.body))
    assert "for 1 person" in str(done.body)
    assert teams.db.run(imported) == (1, 1)
