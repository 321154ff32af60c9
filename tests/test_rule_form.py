"""`rule create ITEM` without options: the form's builders (a valid Slack modal, a valid
Adaptive Card), its answers turned back into the command line, and that line run through the
same create path, mistakes included. The learner message card validates too."""

from __future__ import annotations

import json
import shlex

import jsonschema
from slack_sdk.models.views import View

from bot.slack.rule_form import answers, rule_form
from bot.teams import rule_card
from bot.teams.learner_cards import learner_card
from handlers.commands import run
from handlers.commands.rule_form import FIELDS, command_line, submit_rule_form
from handlers.replies import AskRuleDetails, Notice, Tone
from handlers.rules.telling import compose
from tests.support.command_world import BOSS

EVIL = "<!channel> *Safety* [x](https://evil.example)"


def test_the_answers_become_the_line_an_admin_could_type():
    line = command_line(
        "safety-101",
        {
            "groups": "department:Sales, Mentors",
            "where": "language=fr",
            "required": "recommended",
            "reason": 'Site "rules"',
            "due_each_year": "10-01",
            "recur": "annual",
            "enrol_days_before": "60",
            "withdraw_on_leave": "true",
            "new_only": False,
        },
    )
    assert shlex.split(line) == [
        "rule", "create", "safety-101", "--withdraw-on-leave",
        "--group", "department:Sales", "--group", "Mentors", "--where", "language=fr",
        "--recommended", "--reason", 'Site "rules"', "--due-each-year", "10-01",
        "--recur", "annual", "--enrol-days-before", "60",
    ]  # fmt: skip


def test_the_slack_modal_is_valid_and_its_state_reads_back():
    view = rule_form(AskRuleDetails("safety-101", EVIL), "C1")
    View(**view).validate_json()
    assert "&lt;!channel&gt;" in view["blocks"][0]["text"]["text"]
    assert json.loads(view["private_metadata"]) == {"item": "safety-101", "channel": "C1"}
    assert [b["block_id"] for b in view["blocks"][1:]] == [f.id for f in FIELDS]
    state = {
        "everyone": {"value": {"type": "checkboxes", "selected_options": [{"value": "on"}]}},
        "due_on": {"value": {"type": "datepicker", "selected_date": "2027-03-31"}},
        "required": {"value": {"type": "radio_buttons", "selected_option": {"value": "required"}}},
        "reason": {"value": {"type": "plain_text_input", "value": " Site "}},
    }
    got = answers(state)
    assert (got["everyone"], got["due_on"], got["required"], got["reason"]) == (
        True,
        "2027-03-31",
        "required",
        "Site",
    )
    assert got["new_only"] is False and got["groups"] == ""


def test_the_teams_forms_and_the_learner_card_are_valid_adaptive_cards(schemas):
    schema = json.loads((schemas / "adaptive-card.1.5.0.schema.json").read_text())
    validator = jsonschema.Draft6Validator(schema)
    form = rule_card.rule_form(AskRuleDetails("safety-101", EVIL), {"reason": EVIL}, "Fix it")
    validator.validate(form)
    assert form["actions"][0]["verb"] == "ruleCreate"
    assert "](https" not in form["body"][0]["text"]  # no link: the markdown is broken up
    payload = {"action": "enrolled", "title": EVIL, "url": "https://lms.example/s", "reason": EVIL}
    validator.validate(learner_card(compose([payload, {**payload, "action": "withdrawn"}], 2)))


async def test_the_form_runs_the_same_create_path(acme):
    ctx = await acme.ctx(BOSS)
    asked = await run(ctx, "rule create safety-101")
    assert asked == AskRuleDetails("safety-101", "Safety 101")
    wrong = await submit_rule_form(ctx, "safety-101", {"everyone": True, "due_on": "2027-02-30"})
    assert isinstance(wrong, Notice) and wrong.tone is Tone.ERROR
    assert "isn't a date for --due-on" in wrong.text
    nobody = await submit_rule_form(ctx, "safety-101", {"reason": "x"})
    assert nobody.tone is Tone.ERROR and nobody.text.startswith("Say who the rule is for")
    done = await submit_rule_form(
        ctx, "safety-101", {"everyone": "true", "due_within": "30", "required": "required"}
    )
    assert done.tone is Tone.SUCCESS, done
    assert done.text.startswith("Rule 1 saved: Safety 101 for everyone, required, due within 30")
