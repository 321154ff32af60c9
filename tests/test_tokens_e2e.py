"""Tokens on both platforms, end to end: an admin makes one with the slash command (or a message
to the Teams bot), an outsider registers with its code over HTTP, and the admin sees the use and
switches it off; the same grammar and sentences in Slack and Teams."""

from __future__ import annotations

import re

import pytest

from tests.support.slack_world import ADMIN, ANN, SlackWorld, text_of
from tests.support.teams_world import TeamsWorld, card_text

CODE = re.compile(r"[2-9A-HJKMNP-Z]{5}-[2-9A-HJKMNP-Z]{5}")
FORM_TOKEN = re.compile(r'name="form" value="([^"]+)"')
PUBLIC_URL = "http://enrol.acme.test"  # http, as these worlds are served: the cookie is sent


@pytest.fixture
def slack(db_url):
    with SlackWorld(db_url, ENROLBOT_PUBLIC_URL=PUBLIC_URL) as w:
        yield w


def register(http, code: str, email: str):
    form = FORM_TOKEN.search(http.get(f"/register?token={code}").text).group(1)
    fields = {"first_name": "Pat", "last_name": "Jones", "email": email, "token": code}
    return http.post("/register", data={"form": form, **fields})


def test_in_slack_an_admin_makes_a_token_an_outsider_uses_it_and_the_admin_pauses_it(slack):
    made = text_of(slack.command(ADMIN, 'token create safety-101 --nickname "Spring fair"'))
    code = CODE.search(made).group(0)
    assert f"Its code is {code}: copy it now, it is shown only this once." in made
    assert f"{PUBLIC_URL}/register?token={code}" in made
    page = register(slack.http, code, "pat@outside.test")
    assert page.status_code == 200 and "enrolled in Safety 101" in page.text
    listed = text_of(slack.command(ADMIN, "token list safety-101"))
    assert "t1 · Spring fair · active · 1 use · created " in listed
    assert code not in listed
    paused = text_of(slack.command(ADMIN, "token deactivate t1"))
    assert "is deactivated: people who use its code are told it is currently disabled" in paused
    page = register(slack.http, code, "sam@outside.test")
    assert page.status_code == 403 and "This token is currently disabled." in page.text


def test_slack_refuses_token_commands_to_someone_who_is_not_an_admin(slack):
    reply = text_of(slack.command("U0GUEST", "token create safety-101"))
    assert reply.startswith(":warning:")
    assert "Its code is" not in reply


def test_in_teams_the_same_command_gives_the_same_answer_on_a_card(db_url, tmp_path):
    with TeamsWorld(db_url, tmp_path, ENROLBOT_PUBLIC_URL=PUBLIC_URL) as teams:
        made = card_text(
            teams.say("admin", "token create safety-101 --nickname Fair", where="personal")
        )
        code = CODE.search(made).group(0)
        assert "is ready. Its code is" in made and f"/register?token={code}" in made
        listed = card_text(teams.say("admin", "token list safety-101", where="personal"))
        assert "t1 · Fair · active · 0 uses" in listed


def test_in_slack_token_delete_asks_with_buttons_and_only_an_admins_press_deletes(slack):
    made = text_of(slack.command(ADMIN, "token create safety-101 --nickname Fair"))
    code = CODE.search(made).group(0)
    asked = slack.command(ADMIN, "token delete t1")
    assert "Delete Token t1 (Safety 101, Fair)?" in text_of(asked)
    confirm, cancel = asked["blocks"][1]["elements"]
    assert (confirm["action_id"], confirm["value"], confirm["style"]) == (
        "token_delete_confirm",
        "t1",
        "danger",
    )
    _, url = slack.press(ADMIN, cancel["action_id"], "t1")
    assert text_of(slack.slack.wait_response(url)[0]) == "Kept token t1; nothing changed."
    _, url = slack.press(ANN, "token_delete_confirm", "t1")
    refused = text_of(slack.slack.wait_response(url)[0])
    assert "Only enrolment admins can delete registration tokens" in refused
    assert register(slack.http, code, "pat@outside.test").status_code == 200
    _, url = slack.press(ADMIN, "token_delete_confirm", "t1")
    done = slack.slack.wait_response(url)[0]
    assert done["replace_original"] is True
    assert text_of(done) == (
        ":white_check_mark: Token t1 (Safety 101, Fair) is deleted: its code and link will "
        "never work again."
    )
    assert register(slack.http, code, "sam@outside.test").status_code == 404


def test_in_teams_token_delete_asks_on_a_card_and_its_button_deletes(db_url, tmp_path):
    with TeamsWorld(db_url, tmp_path, ENROLBOT_PUBLIC_URL=PUBLIC_URL) as teams:
        teams.say("admin", "token create safety-101 --nickname Fair", where="personal")
        asked = teams.say("admin", "token delete t1", where="personal")
        assert "Delete Token t1 (Safety 101, Fair)?" in card_text(asked)
        confirm, cancel = asked["actions"]
        assert (confirm["verb"], confirm["data"], confirm["style"]) == (
            "tokenDelete",
            {"token": "t1"},
            "destructive",
        )
        kept = teams.invoke("admin", cancel["verb"], cancel["data"])["value"]
        assert "Kept token t1; nothing changed." in card_text(kept)
        refused = teams.invoke("ann", "tokenDelete", {"token": "t1"})["value"]
        assert "Only enrolment admins can delete registration tokens" in card_text(refused)
        deleted = teams.invoke("admin", "tokenDelete", {"token": "t1"})["value"]
        assert "is deleted: its code and link will never work again." in card_text(deleted)
