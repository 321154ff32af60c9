"""My learning in Slack end to end: the Home tab published on app_home_opened (a View slack_sdk
validates), its Enrol button enrolling through the channel buttons' click path, its Unmute
button, the tab republished after a change made elsewhere, and `/enrol my learning`."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from slack_sdk.models.views import View
from sqlalchemy import func, select

from handlers.completions import complete
from handlers.my_learning import mute
from handlers.organisations import default_organisation
from store.models import (
    CatalogItem,
    Enrolment,
    EnrolmentSource,
    HomeRefresh,
    Identity,
    User,
    utcnow,
)
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


def home_showing(world: SlackWorld, user: str, *texts: str, timeout: float = 10) -> dict:
    """The first Home tab published for `user` that shows every one of `texts`, once one is:
    the home-refresh job may publish a tab more than once (a change, then the button's answer)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for view in world.slack.homes.get(user, []):
            if all(text in shown(view) for text in texts):
                return view
        time.sleep(0.1)
    raise AssertionError(f"no Home tab for {user} showing {texts} within {timeout}s")


def complete_elsewhere(world: SlackWorld, email: str, slug: str) -> None:
    """A completion recorded by another process (as `enrolbot completions import` does)."""

    async def work(session):
        user = await session.scalar(select(User).where(User.email == email))
        item = await session.scalar(select(CatalogItem).where(CatalogItem.slug == slug))
        organisation = await default_organisation(session)
        await complete(
            session,
            organisation=organisation,
            user=user,
            item=item,
            completed_at=utcnow(),
            source=EnrolmentSource.IMPORT,
            by="spreadsheet",
        )

    world.db.run(work)


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
    republished = shown(home_showing(slack, ANN, "Due soon", "Safety 101"))
    assert "Due soon" in republished and "Safety 101" in republished
    assert "by hand by Bo Boss" in republished and "required" in republished
    assert republished.index("Safety 101") < republished.index("Privacy basics")

    # A muted item shows an Unmute button; pressing it turns its reminders on again.
    async def mute_safety(session):
        ann = await session.scalar(select(User.id).where(User.email == "ann@acme.test"))
        item = await session.scalar(select(CatalogItem.id).where(CatalogItem.slug == "safety-101"))
        await mute(session, ann, item)
        return item

    item = slack.db.run(mute_safety)  # another process's change: the tab is republished
    muted = home_showing(slack, ANN, "reminders muted")
    count = len(slack.slack.homes[ANN])
    [unmute] = [b for b in buttons(muted) if b["action_id"] == "reminders_unmute"]
    assert unmute["value"] == str(item) and "reminders muted" in shown(muted)
    assert press_on_home(slack, ANN, "reminders_unmute", unmute["value"]) == 200
    after = slack.slack.wait_home(ANN, count + 1)
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


def test_changes_by_another_process_republish_the_home_tab_and_failures_are_retried(slack):
    open_home(slack, ANN)
    assert "Completed" not in shown(slack.slack.wait_home(ANN, 1))
    assert "don't know you" not in text_of(slack.command("U0DONE", "my learning"))  # never opened

    complete_elsewhere(slack, "ann@acme.test", "onboarding")
    complete_elsewhere(slack, "done@acme.test", "onboarding")
    assert "Onboarding" in shown(home_showing(slack, ANN, "Completed", timeout=6))

    # Slack fails the next publish: the person goes back in the queue and is published later.
    slack.slack.fail_next("views.publish", 200, {"ok": False, "error": "internal_error"})
    complete_elsewhere(slack, "ann@acme.test", "safety-101")
    home_showing(slack, ANN, "Safety 101", timeout=15)
    failed = [c for c in slack.slack.calls if c.method == "views.publish" and c.failed]
    assert len(failed) == 1 and failed[0].args["user_id"] == ANN
    assert "U0DONE" not in slack.slack.homes  # Dan never opened the Home tab
    assert slack.db.scalar(select(func.count()).select_from(HomeRefresh)) == 0
