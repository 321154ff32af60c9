"""My learning in Slack end to end: the Home tab published on app_home_opened (a View slack_sdk
validates), its Enrol button enrolling through the channel buttons' click path, its Unmute
button, the tab republished after a change made elsewhere, and `/enrol my learning`."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from slack_sdk.models.views import View
from sqlalchemy import select

from handlers.my_learning import mute
from store.models import CatalogItem, Enrolment, EnrolmentSource, Identity, User
from tests.support.slack_standin import TEAM
from tests.support.slack_world import ADMIN, ANN, SlackWorld, text_of


@pytest.fixture
def slack(db_url):
    with SlackWorld(db_url) as w:
        yield w


def open_home(world: SlackWorld, user: str) -> None:
    event = {"type": "app_home_opened", "user": user, "channel": "D0" + user, "tab": "home"}
    assert world.event(event).status_code == 200


def press_on_home(world: SlackWorld, user: str, action_id: str, value: str) -> int:
    """A button pressed on the Home tab, as Slack sends it: a view container, no response_url."""
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "acme"},
        "user": {"id": user, "team_id": TEAM, "username": user.lower()},
        "api_app_id": "A0ENROL",
        "token": "legacy",
        "trigger_id": world.slack.issue_trigger(),
        "container": {"type": "view", "view_id": "VH" + user},
        "view": {"id": "VH" + user, "type": "home", "team_id": TEAM, "blocks": []},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b",
                "value": value,
                "action_ts": str(time.time()),
            }
        ],
    }
    return world.signed_post(urlencode({"payload": json.dumps(payload)})).status_code


def shown(view: dict) -> str:
    View(**view).validate_json()  # Slack's limits, as slack_sdk knows them
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    return text_of(view)


def buttons(view: dict) -> list[dict]:
    return [b["accessory"] for b in view["blocks"] if b.get("accessory")]


def test_the_home_tab_shows_my_learning_and_its_buttons_work(slack):
    assert "featured" in text_of(slack.command(ADMIN, "item feature privacy"))
    open_home(slack, ANN)
    first = slack.slack.wait_home(ANN, 1)
    assert "Privacy basics" in shown(first) and "You have no enrolments yet." in shown(first)
    [enrol] = [b for b in buttons(first) if b["action_id"] == "enrol"]

    # The Enrol button of the Home tab enrols through the channel buttons' click path.
    assert press_on_home(slack, ANN, "enrol", enrol["value"]) == 200
    second = slack.slack.wait_home(ANN, 2)
    assert "You're enrolled in Privacy basics" in shown(second)
    assert "link" in shown(second) and not [b for b in buttons(second) if b["action_id"] == "enrol"]
    assert ("ann@acme.test", "privacy", "enrolled") in slack.db.enrolments()

    # Changed elsewhere (an admin enrolling Ann by hand): her tab is republished, due soon.
    added = slack.command(ADMIN, "enrol add <@U0ANN> safety-101 --required --due-within 3")
    assert "Enrolled 1 person" in text_of(added), text_of(added)
    republished = shown(slack.slack.wait_home(ANN, 3, timeout=15))
    assert "Due soon" in republished and "Safety 101" in republished
    assert "by hand by Bo Boss" in republished and "required" in republished
    assert republished.index("Safety 101") < republished.index("Privacy basics")

    # A muted item shows an Unmute button; pressing it turns its reminders on again.
    async def mute_safety(session):
        ann = await session.scalar(select(User.id).where(User.email == "ann@acme.test"))
        item = await session.scalar(select(CatalogItem.id).where(CatalogItem.slug == "safety-101"))
        await mute(session, ann, item)
        return item

    item = slack.db.run(mute_safety)
    count = len(slack.slack.homes[ANN])
    open_home(slack, ANN)
    muted = slack.slack.wait_home(ANN, count + 1)
    [unmute] = [b for b in buttons(muted) if b["action_id"] == "reminders_unmute"]
    assert unmute["value"] == str(item) and "reminders muted" in shown(muted)
    assert press_on_home(slack, ANN, "reminders_unmute", unmute["value"]) == 200
    after = slack.slack.wait_home(ANN, count + 2)
    assert "Reminders for Safety 101 are on again." in shown(after)
    assert "reminders muted" not in shown(after).replace("Reminders for", "")


def test_my_learning_command_answers_privately_and_the_home_tab_knows_who_opened_it(slack):
    slack.command(ADMIN, "enrol add <@U0ANN> safety-101 --due-within 30")
    for typed in ("my learning", "mine"):
        reply = slack.command(ANN, typed)
        assert reply["response_type"] == "ephemeral"
        assert "My learning" in text_of(reply) and "Safety 101" in text_of(reply)
        assert "by hand by Bo Boss" in text_of(reply)
    open_home(slack, ANN)
    slack.slack.wait_home(ANN, 1)
    opened = slack.db.scalar(select(Identity.home_opened_at).where(Identity.subject == ANN))
    assert opened is not None
    # Someone who is not one of our learners sees a sentence, not an error.
    open_home(slack, "U0GUEST")
    assert "don't know you as a learner" in shown(slack.slack.wait_home("U0GUEST", 1))
    assert slack.db.count(Enrolment, Enrolment.source == EnrolmentSource.LINK) == 1  # seed's
