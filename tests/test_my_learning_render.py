"""My learning's renderings: the Slack Home tab and message (slack_sdk's models) and the Teams
card (the Adaptive Card 1.5 schema), within their limits whatever the list's length, with
titles, names and labels shown as typed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.slack import blocks
from bot.slack.my_learning_blocks import UNMUTE_ACTION, home_view, my_learning_message
from bot.teams import cards
from bot.teams.my_learning_card import UNMUTE, my_learning_card
from handlers.my_learning import Bucket, Entry, Featured, MyLearning

NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
EVIL = "<!channel> *Safety* <https://evil.example|101> [x](https://evil.example) & co"


def entry(n: int, bucket: Bucket, **kw) -> Entry:
    due = {Bucket.OVERDUE: NOW - timedelta(days=2), Bucket.DUE_SOON: NOW + timedelta(days=3)}
    return Entry(
        item_id=n,
        slug=f"item-{n}",
        title=kw.pop("title", f"Item {n} " + "x" * 300),
        kind="topic",
        bucket=bucket,
        required=kw.pop("required", True),
        due_at=kw.pop("due_at", due.get(bucket)),
        source=kw.pop("source", "rule: Sales department " + "y" * 300),
        url=kw.pop("url", f"https://learn.example/{n}"),
        **kw,
    )


def big(n: int = 40, **kw) -> MyLearning:
    return MyLearning(
        now=NOW,
        overdue=tuple(entry(i, Bucket.OVERDUE) for i in range(n)),
        due_soon=tuple(entry(100 + i, Bucket.DUE_SOON, muted=True) for i in range(n)),
        rest=tuple(entry(200 + i, Bucket.REST, due_at=None, required=None) for i in range(n)),
        more_open=17,
        completed=tuple(
            entry(300 + i, Bucket.REST, completed_at=NOW - timedelta(days=i)) for i in range(5)
        ),
        completed_total=12,
        featured=tuple(
            Featured(400 + i, f"f-{i}", f"Featured {i}", "article", f"tok{i}" * 30, "https://e/x")
            for i in range(25)
        ),
        **kw,
    )


def small() -> MyLearning:
    return MyLearning(
        now=NOW,
        overdue=(entry(1, Bucket.OVERDUE, title=EVIL, source="link: " + EVIL, url=None),),
        due_soon=(entry(2, Bucket.DUE_SOON, title="Fire safety", muted=True),),
        featured=(Featured(3, "gdpr", EVIL, "article", "TOKEN", "https://e/enrol/TOKEN"),),
        muted_items=((2, "Fire safety"),),
    )


def test_the_home_tab_is_a_valid_view_within_100_blocks_however_long_the_list() -> None:
    view = home_view(big(), notice="You're enrolled in Featured 1.")
    parsed = View(**view)
    parsed.validate_json()
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    text = json.dumps(view, ensure_ascii=False)
    assert "… and 20 more" in text and "… and 17 more" in text  # each bucket, and the rest
    assert "… and 7 more completed" in text and "… and 15 more" in text  # featured: 25 - 10
    for raw in view["blocks"]:
        block = Block.parse(raw)
        block.validate_json()
        if raw["type"] == "section":
            assert len(raw["text"]["text"]) <= 3000


def test_the_command_message_stays_within_50_blocks() -> None:
    message = my_learning_message(big())
    assert message["response_type"] == "ephemeral" and len(message["blocks"]) <= 50
    for raw in message["blocks"]:
        Block.parse(raw).validate_json()


def test_buttons_enrol_through_the_channel_path_and_unmute() -> None:
    view = home_view(small())
    accessories = [b.get("accessory") for b in view["blocks"] if b.get("accessory")]
    enrol = [a for a in accessories if a["action_id"] == blocks.ENROL_ACTION]
    assert enrol == [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Enrol", "emoji": True},
            "action_id": blocks.ENROL_ACTION,
            "value": "TOKEN",
            "style": "primary",
        }
    ]
    unmute = [a for a in accessories if a["action_id"] == UNMUTE_ACTION]
    assert [a["value"] for a in unmute] == ["2"]
    all_muted = home_view(MyLearning(now=NOW, all_muted=True, overdue=small().overdue))
    assert any((b.get("accessory") or {}).get("value") == "all" for b in all_muted["blocks"])


def test_slack_shows_titles_and_sources_as_typed() -> None:
    text = json.dumps(home_view(small()), ensure_ascii=False)
    assert "<!channel>" not in text and "<https://evil.example" not in text
    assert "&lt;!channel&gt;" in text
    message = json.dumps(my_learning_message(small()), ensure_ascii=False)
    assert "<!channel>" not in message


@pytest.fixture
def card_schema(schemas) -> jsonschema.Draft6Validator:
    return jsonschema.Draft6Validator(
        json.loads((schemas / "adaptive-card.1.5.0.schema.json").read_text())
    )


def test_the_teams_card_validates_and_is_capped(card_schema) -> None:
    card = my_learning_card(big(), notice="Done.")
    card_schema.validate(card)
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.5")
    text = json.dumps(card, ensure_ascii=False)
    assert "… and 25 more" in text and len(text) < 28_000 * 3
    card_schema.validate(my_learning_card(small()))


def test_the_teams_card_escapes_and_offers_enrol_and_unmute(card_schema) -> None:
    card = my_learning_card(small())
    texts = [b["text"] for b in _walk(card) if b.get("type") == "TextBlock"]
    assert any("\\[x\\](https://evil.example)" in t or "\\[x\\]\u200b(" in t for t in texts)
    assert not any("[x](https://evil.example)" in t for t in texts)
    actions = [a for b in _walk(card) if b.get("type") == "ActionSet" for a in b["actions"]]
    assert {
        "type": "Action.Execute",
        "title": "Enrol",
        "verb": cards.ENROL,
        "data": {"token": "TOKEN"},
        "style": "positive",
    } in actions
    assert any(a.get("verb") == UNMUTE and a["data"] == {"item": 2} for a in actions)


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)
