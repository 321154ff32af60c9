"""My learning in Teams end to end: the personal chat opens on it when the app is added, `my
learning` answers with the card there (and, typed in a channel, privately), its featured
items' Enrol buttons enrol, its Unmute buttons unmute. Every card the bot shows is checked
against the Adaptive Card 1.5 schema when the world closes (TeamsWorld.check_cards)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.teams.my_learning_card import UNMUTE
from handlers.my_learning import mute
from store.models import CatalogItem, User
from tests.support.teams_world import BOT, CHANNEL, DIRECTORY, TeamsWorld, card_text


@pytest.fixture
def world(db_url, tmp_path):
    with TeamsWorld(db_url, tmp_path) as w:
        yield w


def personal(who: str) -> str:
    return f"a:personal-{DIRECTORY[who]['id']}"


def actions(content: dict) -> list[dict]:
    found: list[dict] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "ActionSet":
                found.extend(node["actions"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(content)
    return found


def test_the_personal_chat_opens_on_my_learning_and_its_buttons_work(world):
    world.say("admin", "item feature privacy")
    world.say("admin", "enrol add ann@acme.test safety-101 --required --due-within 3")
    added = world.activity(
        "ann", where="personal", type="conversationUpdate", membersAdded=[{"id": BOT}]
    )
    assert world.send(added).status_code == 200
    [welcome] = world.wait_messages(personal("ann"), 1)
    card = welcome["attachments"][0]["content"]
    shown = card_text(card)
    assert "My learning" in shown and "Due soon" in shown and "Safety 101" in shown
    assert "required" in shown and "by hand by Bo Boss" in shown
    [enrol] = [a for a in actions(card) if a.get("verb") == "enrol"]
    assert "Privacy basics" in shown

    # The featured item's Enrol button is the channel card's: the same verb, the same path.
    assert "You're enrolled in Privacy basics" in world.click("ann", enrol["data"]["token"])
    again = world.say("ann", "my learning", where="personal")
    assert "Privacy basics" in card_text(again)
    assert not [a for a in actions(again) if a.get("verb") == "enrol"]

    # Unmute from the card: the card comes back saying so.
    async def mute_safety(session):
        ann = await session.scalar(select(User.id).where(User.email == "ann@acme.test"))
        item = await session.scalar(select(CatalogItem.id).where(CatalogItem.slug == "safety-101"))
        await mute(session, ann, item)
        return item

    item = world.db.run(mute_safety)
    muted = world.say("ann", "mine", where="personal")
    [unmute] = [a for a in actions(muted) if a.get("verb") == UNMUTE]
    assert unmute["data"] == {"item": item} and "reminders muted" in card_text(muted)
    answer = world.invoke("ann", UNMUTE, unmute["data"])
    assert "Reminders for Safety 101 are on again." in card_text(answer["value"])
    assert not [a for a in actions(answer["value"]) if a.get("verb") == UNMUTE]


def test_my_learning_in_a_channel_goes_to_the_personal_chat(world):
    world.say("admin", "enrol add ann@acme.test safety-101")
    reply = world.say("ann", "my learning")
    assert "I sent My learning to our personal chat" in card_text(reply)
    [sent] = world.wait_messages(f"a:dm-{DIRECTORY['ann']['id']}", 1)
    assert "Safety 101" in card_text(sent["attachments"][0]["content"])
    assert not any(
        "Safety 101" in card_text(m["attachments"][0]["content"])
        for m in world.messages_to(CHANNEL)
        if m.get("attachments")
    )
