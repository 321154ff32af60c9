"""An alert is worded once (handlers.alert_message) and rendered for Slack, Teams and email,
each escaping what people typed for its own surface; a destination is parsed and printed in
one place."""

from __future__ import annotations

import json
import re
from email import message_from_bytes, policy

import jsonschema
import pytest
from slack_sdk.models.blocks import Block

from bot.email import build
from bot.slack.alert_blocks import alert_message
from bot.teams.alert_cards import alert_card
from handlers.alert_message import compose
from handlers.destinations import BadDestination, Destination, for_log
from handlers.outbox import Batch

EVIL_NAME = "[Reset your password](https://evil.example) <!channel>"
EVIL_TITLE = "**Urgent** <https://evil.example|Safety> _now_"
EVIL_LABEL = "[click](https://evil.example)"


def payload(n: int = 0, item: str = EVIL_TITLE) -> dict:
    return {
        "person": f"{EVIL_NAME} {n}",
        "email": f"p{n}@acme.test",
        "user_type": "staff",
        "item": item,
        "slug": "safety-101",
        "link_id": 1,
        "link": EVIL_LABEL,
        "at": "2026-11-22T10:05:00+00:00",
    }


SHAPES = {
    "single": ("alert", [payload()], 1),
    "list": ("alert", [payload(n) for n in range(3)], 5),
    "digest": ("digest:hourly", [payload(0), payload(1, "Privacy"), payload(2)], 3),
    "notice": ("notice", [{"text": f"Alerts to #{EVIL_TITLE} have stopped. Use `notify`."}], 1),
}


def markdown_fields(card: dict) -> list[str]:
    """The card's text that Teams renders as Markdown: TextBlock text, fact titles and values."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TextBlock":
                found.append(node["text"])
            if node.get("type") == "FactSet":
                found.extend(f[k] for f in node["facts"] for k in ("title", "value"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return found


def runs(card: dict) -> str:
    """The text of every TextRun, which Teams shows as typed."""
    texts = re.findall(r'"type": "TextRun", "text": ("(?:[^"\\]|\\.)*")', json.dumps(card))
    return "".join(json.loads(t) for t in texts)


@pytest.mark.parametrize("shape", SHAPES)
def test_teams_alert_cards_show_names_titles_and_labels_as_typed(shape, schemas):
    kind, payloads, total = SHAPES[shape]
    card = alert_card(compose(kind, payloads, total))
    schema = json.loads((schemas / "adaptive-card.1.5.0.schema.json").read_text())
    jsonschema.Draft6Validator(schema).validate(card)
    for text in markdown_fields(card):  # nothing a person typed is read as Markdown
        assert "evil.example" not in text and "Urgent" not in text, text
    shown = runs(card)
    if shape == "notice":
        assert EVIL_TITLE in shown
    else:
        assert EVIL_NAME in shown and EVIL_TITLE in shown
    if shape == "single":
        assert EVIL_LABEL in shown


@pytest.mark.parametrize("shape", SHAPES)
def test_slack_alerts_escape_what_people_typed_in_blocks_and_fallback_text(shape):
    kind, payloads, total = SHAPES[shape]
    message = alert_message(compose(kind, payloads, total))
    for block in message["blocks"]:
        assert Block.parse(block).to_dict() == block
    everything = message["text"] + json.dumps(message["blocks"])
    assert "<!channel>" not in everything and "<https://evil" not in everything
    assert "&lt;https://evil.example|Safety&gt;" in everything


def test_counts_plurals_and_the_rest_are_worded_alike_on_every_surface():
    alert = compose("alert", [payload(n, "Safety 101") for n in range(2)], 1_204)
    slack = json.dumps(alert_message(alert))
    teams = runs(alert_card(alert))
    mail = build("alerts@acme.test", Batch("email:hr@acme.test", "alert", [payload(0)] * 2, 1_204))
    words = "Showing 2 of 1,204; the other 1,202 follow in the next"
    assert f"{words} message." in slack and f"{words} message." in teams
    assert f"{words} email." in mail.get_content()
    assert "2 self-enrolments" in slack and "2 self-enrolments" in teams
    assert mail["Subject"] == "2 self-enrolments in " + EVIL_TITLE
    one = compose("alert", [payload(0, "Safety 101")], 1)
    assert one.subject() == "1 self-enrolment in Safety 101"


def test_an_email_header_never_takes_a_line_break_from_a_title():
    batch = Batch("email:hr@acme.test", "alert", [payload(0, "Safety\r\nBcc: all@acme.test")], 1)
    raw = build("alerts@acme.test", batch).as_bytes()
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail["Bcc"] is None
    assert mail["Subject"] == "1 self-enrolment in Safety Bcc: all@acme.test"


def test_an_email_that_cannot_be_built_says_so():
    bad = Batch("email:hr@acme.test\r\nBcc: all@acme.test", "alert", [payload()], 1)
    with pytest.raises(ValueError):
        build("alerts@acme.test", bad)


def test_destinations_are_parsed_and_printed_in_one_place():
    teams = Destination.parse("teams:tenant-1:19:abc@thread.tacv2")
    assert (teams.platform, teams.tenant, teams.target) == (
        "teams",
        "tenant-1",
        "19:abc@thread.tacv2",
    )
    assert str(teams) == "teams:tenant-1:19:abc@thread.tacv2"
    dm = Destination.parse("teams:tenant-1:dm:29:xyz")
    assert dm.target == "dm:29:xyz" and str(dm) == "teams:tenant-1:dm:29:xyz"
    assert str(Destination.channel("slack", "T0ACME", "C0OPS")) == "slack:T0ACME:C0OPS"
    mail = Destination.email(" HR@Acme.test ")
    assert str(mail) == "email:hr@acme.test" and Destination.parse(str(mail)) == mail
    assert mail.for_log() == "email:…@acme.test" and for_log("nonsense") == "(not a destination)"
    for text in ("slack", "slack:T0ACME", "email:", ":x:y"):
        with pytest.raises(BadDestination):
            Destination.parse(text)
