"""The reminder's message as Block Kit (read back by slack_sdk's models, within Slack's limits)
and as an Adaptive Card (against the 1.5 schema), with what people typed escaped, links only in
buttons, and a Mute button per item and one for all; the email's plain text."""

from __future__ import annotations

import json

import jsonschema

from bot.slack.reminder_blocks import reminder_message
from bot.teams.reminder_cards import reminder_card
from handlers.outbox import Batch
from handlers.reminders import words
from handlers.reminders.words import compose
from tests.test_slack_blocks import parsed

EVIL = "<!channel> *Safety* [click](https://evil.example)"


def _payload(item_id: int, **kw) -> dict:
    base = {
        "item_id": item_id,
        "title": f"Item {item_id}",
        "url": f"https://lms.example/{item_id}",
        "required": True,
        "due_at": "2027-06-16",
        "offset": 1,
    }
    return base | kw


def test_slack_reminders_escape_titles_and_carry_open_and_mute_buttons():
    message = compose([_payload(1, title=EVIL), _payload(2, url="javascript:alert(1)")], 2)
    blocks = reminder_message(message)
    parsed(blocks)
    text = json.dumps(blocks)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "javascript" not in text
    assert "due tomorrow (16 June 2027)" in text
    values = [e.get("value") for b in blocks["blocks"] for e in b.get("elements", [])]
    assert [v for v in values if v] == ["item:1", "item:2", "all"]


def test_slack_reminders_stay_within_fifty_blocks():
    message = compose([_payload(n) for n in range(1, 60)], 59)
    blocks = reminder_message(message)
    assert len(parsed(blocks)) <= 50
    assert "and 39 more items" in json.dumps(blocks)


def test_teams_reminder_card_is_valid_and_shows_titles_as_typed(schemas):
    schema = json.loads((schemas / "adaptive-card.1.5.0.schema.json").read_text())
    card = reminder_card(compose([_payload(1, title=EVIL), _payload(2, by="Mia <Boss>")], 2))
    jsonschema.Draft6Validator(schema).validate(card)
    text = json.dumps(card)
    assert json.dumps(EVIL)[1:-1] in text  # in a TextRun: shown as typed
    verbs = [a for a in text.split('"verb": ')[1:]]
    assert len(verbs) == 3 and all(v.startswith(f'"{words.MUTE_ACTION}"') for v in verbs)


def test_the_email_reads_as_plain_text():
    from bot.email import build

    batch = Batch("email:ann@example.com", words.REMINDER, [_payload(1), _payload(2)], 2)
    email = build("bot@example.com", batch)
    assert email["Subject"] == "A reminder: 2 items of your training need attention"
    body = email.get_content()
    assert "Item 1: Required · due tomorrow (16 June 2027)" in body
    assert "https://lms.example/2" in body


def test_mute_values_round_trip_and_refuse_junk():
    assert words.muted_item(words.mute_value(7)) == 7
    assert words.muted_item(words.mute_value(None)) is None
    for junk in ("item:", "item:x", "rm -rf", ""):
        try:
            words.muted_item(junk)
        except ValueError:
            continue
        raise AssertionError(junk)
    assert words.muted("Fire safety") == "Muted reminders for Fire safety. Unmute from My learning."
