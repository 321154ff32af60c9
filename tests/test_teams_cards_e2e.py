"""Teams cards and commands, end to end: per-user card views, card forms, commands in a personal
chat and mentions, and what a click costs."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import event

from store.models import Enrolment, EnrolmentLink
from tests.support.teams_world import TeamsWorld, card_text, member


@pytest.fixture
def world(db_url, tmp_path):
    with TeamsWorld(db_url, tmp_path) as w:
        yield w


def test_the_clicker_sees_their_own_state_and_everyone_else_keeps_the_button(world):
    token, card_id = world.post_card()
    answer = world.invoke("ann", "enrol", {"token": token}, card_id=card_id)
    card = answer["value"]
    assert (
        answer["statusCode"] == 200 and answer["type"] == "application/vnd.microsoft.card.adaptive"
    )
    assert "Enrolled ✓" in card_text(card) and "actions" not in json.dumps(card["body"])
    assert (
        card["refresh"]["userIds"] == ["29:ann"]
        and card["refresh"]["action"]["verb"] == "enrolView"
    )
    [update] = world.connector.wait(lambda s: s.method == "PUT" and s.activity_id == card_id)
    shared = update.body["attachments"][0]["content"]
    assert shared["refresh"]["userIds"] == ["29:ann"]
    assert shared["body"][-1]["actions"][0]["title"] == "Enrol"  # others still see the button
    # When the card refreshes for someone, each sees their own state.
    assert "Enrolled ✓" in card_text(
        world.invoke("ann", "enrolView", {"token": token}, card_id=card_id)["value"]
    )
    # Dan completed it long ago: his click shows that, and so does every refresh after it.
    assert "Completed ✓" in world.click("done", token, card_id)
    assert "Completed ✓" in card_text(
        world.invoke("done", "enrolView", {"token": token}, card_id=card_id)["value"]
    )
    other = world.invoke("new", "enrolView", {"token": token}, card_id=card_id)["value"]
    assert other["body"][-1]["actions"][0]["verb"] == "enrol"
    assert world.db.enrolments() == [
        ("ann@acme.test", "safety-101", "enrolled"),
        ("done@acme.test", "safety-101", "completed"),
    ]


def test_link_create_without_a_label_opens_a_card_form_that_checks_the_label(world):
    world.say("admin", 'link create safety-101 --label "Intranet"')
    form = world.say("admin", "link create safety-101")
    inputs = [b for b in form["body"] if b["type"] == "Input.Text"]
    assert [(i["id"], i.get("isRequired", False)) for i in inputs] == [
        ("label", True),
        ("notes", False),
    ]
    assert form["actions"][0]["verb"] == "linkCreate" and form["actions"][0]["data"] == {
        "item": "safety-101"
    }
    again = world.invoke(
        "admin", "linkCreate", {"item": "safety-101", "label": "INTRANET", "notes": ""}
    )
    assert "Link 4 already has this label; choose another." in card_text(again["value"])
    assert world.db.count(EnrolmentLink) == 4
    done = world.invoke(
        "admin", "linkCreate", {"item": "safety-101", "label": "Wiki", "notes": "safety page"}
    )
    assert "Link 5 for Safety 101 (Wiki) is ready:" in card_text(done["value"])
    refused = world.invoke("ann", "linkCreate", {"item": "safety-101", "label": "Mine"})
    assert "Only enrolment admins can create links" in card_text(refused["value"])
    assert world.db.count(EnrolmentLink) == 5


def test_link_delete_asks_on_a_card_and_the_confirm_button_deletes(world):
    asked = world.say("admin", "link delete 1")
    assert "Delete Link 1 (Safety 101, default link)?" in card_text(asked)
    confirm, cancel = asked["actions"]
    assert (confirm["verb"], confirm["style"], confirm["data"]) == (
        "linkDelete",
        "destructive",
        {"link": "1"},
    )
    assert "Kept link 1; nothing changed." in card_text(
        world.invoke("admin", cancel["verb"], cancel["data"])["value"]
    )
    assert "Only enrolment admins can delete links" in card_text(
        world.invoke("ann", "linkDelete", {"link": "1"})["value"]
    )
    assert world.db.count(EnrolmentLink, EnrolmentLink.deleted_at.is_not(None)) == 0
    deleted = world.invoke("admin", "linkDelete", {"link": "1"})
    assert "is deleted: its buttons and URLs will never work again." in card_text(deleted["value"])
    assert world.db.count(EnrolmentLink, EnrolmentLink.deleted_at.is_not(None)) == 1


ANN = {"Ann Lee": "29:ann"}


def test_commands_work_in_a_personal_chat_and_mentions_name_people(world):
    assert "What I can do for you" in card_text(world.say("admin", "help", where="personal"))
    added = world.say("admin", "admin add <at>Ann Lee</at> --standard", mentions=ANN)
    assert "ann@acme.test is now a standard admin." in card_text(added)


def test_an_unknown_item_card_button_and_bad_json_are_answered(world):
    assert world.http.post("/api/messages", content=b"{not json").status_code == 401
    answer = world.invoke("admin", "frobnicate", {})
    assert answer["value"] == "That button is not one I know."
    assert "isn't valid" in world.click("ann", "garbage-token")
    assert world.db.count(Enrolment) == 1


def test_a_person_mentioned_300_times_is_looked_up_once(world):
    world.say("admin", "help")  # the admin is known from here on
    mention = {
        "type": "mention",
        "text": "<at>Ann Lee</at>",
        "mentioned": {"id": "29:ann", "name": "Ann Lee"},
    }
    activity = world.activity(
        "admin",
        type="message",
        text="enrol admin add " + " ".join(["<at>Ann Lee</at>"] * 300) + " --standard",
        where="personal",
        entities=[mention] * 300,
    )
    assert world.send(activity).status_code == 200
    [reply] = world.connector.wait(lambda s: s.activity_id == activity["id"])
    assert "I didn't expect" in card_text(reply.body["attachments"][0]["content"])
    assert world.connector.lookups("29:ann") == 1


def test_many_different_people_in_one_message_are_not_all_looked_up(world):
    world.say("admin", "help")
    for n in range(40):
        world.connector.add_member(member(f"p{n}", f"p{n}@acme.test", "P", str(n)))
    activity = world.activity(
        "admin",
        type="message",
        text="enrol admin add " + " ".join(f"<at>P {n}</at>" for n in range(40)),
        where="personal",
        entities=[
            {"type": "mention", "text": f"<at>P {n}</at>", "mentioned": {"id": f"29:p{n}"}}
            for n in range(40)
        ],
    )
    assert world.send(activity).status_code == 200
    world.connector.wait(lambda s: s.activity_id == activity["id"])
    assert sum(world.connector.lookups(f"29:p{n}") for n in range(40)) == 10


# A click is one token check ------------------------------------------------------------------


def test_a_click_checks_its_token_once(world):
    token, card_id = world.post_card()
    world.click("ann", token, card_id)  # Ann is met and linked to her account
    link_reads: list[str] = []

    def count(conn, cursor, statement, *rest):
        if re.search(r"FROM enrolment_link\b", statement):
            link_reads.append(statement)

    engine = world.app.state.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert "You're already enrolled in Safety 101" in world.click("ann", token, card_id)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(link_reads) == 1
