"""A reminder end to end: queued by the scan (the tests' clock), delivered by the running
service's outbox to the person's Slack DM (stand-in) or Teams personal chat, and its Mute
button pressed there: the mute recorded once however often it is pressed, and answered."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from handlers.reminders.scan import run_scan
from store.db import make_engine, make_sessionmaker
from store.models import CatalogItem, Enrolment, EnrolmentSource, ReminderMute, User
from tests.support.slack_world import ANN, SlackWorld, text_of
from tests.support.teams_world import TeamsWorld, card_text

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)  # a Wednesday noon, before the tests run


def _enrol_and_scan(url: str, email: str) -> int:
    async def run() -> int:
        engine = make_engine(url)
        try:
            sessions = make_sessionmaker(engine)
            async with sessions() as s, s.begin():
                person = await s.scalar(select(User).where(User.email == email))
                item = await s.scalar(select(CatalogItem).where(CatalogItem.slug == "safety-101"))
                s.add(
                    Enrolment(
                        user_id=person.id,
                        item_id=item.id,
                        source=EnrolmentSource.RULE,
                        required=True,
                        due_at=datetime(2026, 11, 26, tzinfo=UTC),
                    )
                )
            assert (await run_scan(sessions, NOW)).queued == 1
            return item.id
        finally:
            await engine.dispose()

    return asyncio.run(run())


@pytest.fixture
def slack_world(db_url):
    with SlackWorld(db_url, ENROLBOT_DELIVERY_SECONDS="0.2") as w:
        yield w


def test_slack_reminder_arrives_and_its_mute_button_mutes_once(slack_world, db_url):
    world = slack_world
    world.command(ANN, "help")  # Ann is known to the bot: her DMs can reach her
    item_id = _enrol_and_scan(db_url, "ann@acme.test")
    [dm] = world.wait_messages(ANN, 1)
    assert "A reminder: Safety 101 is due tomorrow (26 November 2026)." in text_of(dm)
    buttons = [e for b in dm["blocks"] for e in b.get("elements", []) if e.get("value")]
    mute = next(b for b in buttons if b["value"] == f"item:{item_id}")
    for _ in range(2):
        response, response_url = world.press(ANN, mute["action_id"], mute["value"], channel="D0ANN")
        assert response.status_code == 200
        [answer] = world.slack.wait_response(response_url)
        assert text_of(answer).endswith("Muted reminders for Safety 101. Unmute from My learning.")
    assert world.db.count(ReminderMute) == 1
    assert "https://learn.acme.test/safety-101" in json.dumps(dm["blocks"])


@pytest.fixture
def teams_world(db_url, tmp_path):
    with TeamsWorld(db_url, tmp_path) as w:
        yield w


def test_teams_reminder_arrives_and_mute_all_mutes_once(teams_world, db_url):
    world = teams_world
    world.say("ann", "help", where="personal")
    _enrol_and_scan(db_url, "ann@acme.test")
    [dm] = world.wait_messages("a:dm-aad-ann", 1)
    card = dm["attachments"][0]["content"]
    assert "A reminder: Safety 101 is due tomorrow (26 November 2026)." in card_text(card)
    for _ in range(2):
        answer = world.invoke("ann", "reminder_mute", {"value": "all"})
        shown = card_text(answer["value"])
        assert "Muted reminders for all your training. Unmute from My learning." in shown
    assert world.db.count(ReminderMute) == 1
