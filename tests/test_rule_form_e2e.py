"""The new-rule form end to end, on Slack (a modal) and Teams (a card): a mistake shown on the
form, then the rule saved, acting within seconds, the learner told in one direct message, and
`why` naming the rule."""

from __future__ import annotations

import json

import pytest

from store.models import EnrolmentRule
from tests.support.slack_world import ADMIN, ANN, SlackWorld, text_of
from tests.support.teams_world import TeamsWorld, card_text


@pytest.fixture
def slack_world(db_url):
    with SlackWorld(db_url) as w:
        yield w


def _state(everyone: bool, due_on: str) -> dict:
    return {
        "everyone": {
            "value": {
                "type": "checkboxes",
                "selected_options": [{"value": "on"}] if everyone else [],
            }
        },
        "due_on": {"value": {"type": "datepicker", "selected_date": due_on}},
        "required": {"value": {"type": "radio_buttons", "selected_option": {"value": "required"}}},
        "reason": {"value": {"type": "plain_text_input", "value": "Site rules"}},
    }


def test_the_slack_modal_creates_the_rule_and_the_learner_hears_once(slack_world):
    world = slack_world
    world.command(ANN, "help")  # Ann is known to the bot: her DMs can reach her
    response_url = world.slack.new_response_url()
    world.command_request(ADMIN, "rule create safety-101", "C0OPS", response_url)
    [opened] = world.slack.wait_call("views.open")
    view = opened.args["view"]
    view = view if isinstance(view, dict) else json.loads(view)
    assert view["callback_id"] == "rule_form" and "Safety 101" in text_of(view)
    wrong = world.submit_view(ADMIN, view, _state(True, "2027-02-30"))
    assert wrong.json()["response_action"] == "errors"
    assert "isn't a date for --due-on" in wrong.json()["errors"]["everyone"]
    assert world.db.count(EnrolmentRule) == 0
    done = world.submit_view(ADMIN, view, _state(True, "2030-03-31"))
    assert done.status_code == 200 and done.text == ""
    [told] = world.slack.wait_call("chat.postEphemeral")
    assert "Rule 1 saved: Safety 101 for everyone, required, due on 31 March 2030" in text_of(
        told.args
    )
    [dm] = world.wait_messages(ANN, 1)
    shown = text_of(dm)
    assert "You have been enrolled in Safety 101." in shown
    assert "Required · due 31 March 2030" in shown and "Site rules" in shown
    assert "https://learn.acme.test/safety-101" in json.dumps(dm["blocks"])
    why = text_of(world.command(ANN, "why safety-101"))
    assert "by rule 1 (everyone, required, due 31 March 2030)" in why


@pytest.fixture
def teams_world(db_url, tmp_path):
    with TeamsWorld(db_url, tmp_path) as w:
        yield w


def test_the_teams_card_form_creates_the_rule_and_the_learner_hears_in_their_chat(teams_world):
    world = teams_world
    world.say("ann", "help")  # Ann is known: her personal chat can be reached
    form = world.say("admin", "rule create safety-101")
    assert form["actions"][0]["verb"] == "ruleCreate"
    assert form["actions"][0]["data"] == {"item": "safety-101"}
    ids = [b.get("id") for b in form["body"] if str(b.get("type", "")).startswith("Input.")]
    assert "everyone" in ids and "due_each_year" in ids
    wrong = world.invoke("admin", "ruleCreate", {"item": "safety-101", "reason": "x"})
    assert "Say who the rule is for" in card_text(wrong["value"])
    done = world.invoke(
        "admin",
        "ruleCreate",
        {"item": "safety-101", "everyone": "true", "required": "recommended", "due_within": "30"},
    )
    assert "Rule 1 saved: Safety 101 for everyone, recommended, due within 30 days" in card_text(
        done["value"]
    )
    refused = world.invoke("ann", "ruleCreate", {"item": "safety-101", "everyone": "true"})
    assert "Only enrolment admins" in card_text(refused["value"])
    assert world.db.count(EnrolmentRule) == 1
    [dm] = world.wait_messages("a:dm-aad-ann", 1)
    card = dm["attachments"][0]["content"]
    assert "You have been enrolled in Safety 101." in card_text(card)
    assert "Recommended · due " in card_text(card)
