"""The import modal for each kind of import, and the invitations' preview with its Send
invitations button, as Block Kit (read back by slack_sdk's models, within Slack's limits) and
as an Adaptive Card (against the 1.5 schema), with what the file said escaped."""

from __future__ import annotations

import json

import jsonschema
from slack_sdk.models.views import View

from bot.slack.import_blocks import (
    SEND_ACTION,
    form_of,
    import_form,
    invite_preview,
)
from bot.teams.imports import SEND_VERB, invite_preview_card
from handlers.enrol_import_text import ImportKind
from handlers.invitations_import import Plan
from handlers.invite_import_text import InvitePreview, preview_notice
from store.models import Group, UserType
from tests.test_slack_blocks import parsed

EVIL = "<!channel> *Sales* [click](https://evil.example)"


def _plan(wrong: int = 0) -> Plan:
    group = Group(id=1, name=EVIL)
    found = Plan(rows=[(f"p{n}@outside.org", group, UserType.STAFF) for n in range(3)])
    found.wrong = [(n + 2, f"`{n}` is not an email") for n in range(wrong)]
    return found


def test_the_modal_says_which_import_and_carries_its_kind():
    for kind, title in (
        (ImportKind.ENROL, "Enrol from a spreadsheet"),
        (ImportKind.INVITE, "Invite from spreadsheet"),
    ):
        form = import_form("C0OPS", kind)
        assert View(**form).to_dict() == form  # slack_sdk reads it back, limits checked
        assert form["title"]["text"] == title
        assert form_of(form["private_metadata"]) == ("C0OPS", kind)
    assert "up to 500 rows" in import_form(None, ImportKind.INVITE)["blocks"][0]["hint"]["text"]
    assert form_of(json.dumps({"channel": "C1"})) == ("C1", ImportKind.ENROL)  # older modals
    assert form_of("not json") == (None, ImportKind.ENROL)


def test_slack_invite_preview_escapes_the_file_and_has_a_button_only_when_ready():
    ready = invite_preview(InvitePreview(preview_notice(_plan(), "<b>.csv"), "signed-id"))
    parsed(ready)
    text = json.dumps(ready)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "[click]" not in text
    [actions] = [b for b in ready["blocks"] if b["type"] == "actions"]
    assert actions["elements"][0]["action_id"] == SEND_ACTION
    assert actions["elements"][0]["value"] == "signed-id"
    assert actions["elements"][0]["text"]["text"] == "Send invitations"

    wrong = invite_preview(InvitePreview(preview_notice(_plan(wrong=600), "w.csv"), None))
    assert len(parsed(wrong)) <= 50
    assert all(b["type"] != "actions" for b in wrong["blocks"])
    assert "Rows to fix: 600" in json.dumps(wrong) and "and 580 more" in json.dumps(wrong)


def test_teams_invite_preview_card_is_valid_with_send_only_when_ready(schemas):
    schema = json.loads((schemas / "adaptive-card.1.5.0.schema.json").read_text())
    validator = jsonschema.Draft6Validator(schema)
    ready = invite_preview_card(InvitePreview(preview_notice(_plan(), "people.csv"), "signed-id"))
    card = {"type": "AdaptiveCard", "version": "1.5", **ready}
    validator.validate(card)
    [send] = ready["actions"]
    assert (send["type"], send["verb"], send["data"]) == (
        "Action.Execute",
        SEND_VERB,
        {"invite": "signed-id"},
    )
    wrong = invite_preview_card(InvitePreview(preview_notice(_plan(wrong=3), "w.csv"), None))
    validator.validate({"type": "AdaptiveCard", "version": "1.5", **wrong})
    assert "actions" not in wrong
