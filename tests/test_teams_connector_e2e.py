"""What the bot sends to Teams, end to end: msal's token cache, alerts through the connector and
its 429s, a bot removed from a channel, and an Entra ID token request that stalls."""

from __future__ import annotations

import json
import time

import pytest

from tests.support.teams_world import CHANNEL, TeamsWorld, card_text


@pytest.fixture
def world(db_url, tmp_path):
    with TeamsWorld(db_url, tmp_path) as w:
        yield w


def test_msal_fetches_one_token_and_reuses_it(world):
    for _ in range(3):
        world.say("admin", "help")
    token, card_id = world.post_card()
    world.click("ann", token, card_id)
    assert world.entra.token_requests == 1
    assert world.connector.bad_tokens == 0


def test_alerts_reach_a_teams_channel_and_a_429_is_waited_out(world):
    assert "now gets instant alerts" in card_text(world.say("admin", "notify safety-101"))
    token, card_id = world.post_card()
    world.connector.fail_next(429, {"Retry-After": "2"}, conversation=CHANNEL)
    world.click("ann", token, card_id)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        alerts = [
            s
            for s in world.connector.sent
            if s.conversation == CHANNEL
            and s.activity_id is None
            and "enrolled themselves" in json.dumps(s.body)
        ]
        if any(not a.failed for a in alerts):
            break
        time.sleep(0.05)
    limited, delivered = alerts
    assert limited.failed and not delivered.failed and delivered.at - limited.at >= 2
    assert "Ann Lee (staff) enrolled themselves in Safety 101" in card_text(
        delivered.body["attachments"][0]["content"]
    )


def test_a_removed_bot_stops_alerts_and_tells_the_admin_in_a_direct_message(world):
    world.say("admin", "notify all")
    token, card_id = world.post_card()
    world.connector.fail_next(403, conversation=CHANNEL)
    world.click("ann", token, card_id)
    [dm] = world.connector.wait(lambda s: s.conversation == "a:dm-29:boss" and s.method == "POST")
    assert "have stopped" in card_text(dm.body["attachments"][0]["content"])


def test_a_stalled_entra_id_token_request_gives_up_and_the_user_is_told(world, monkeypatch):
    monkeypatch.setattr("bot.teams.connector.TIMEOUT_SECONDS", 0.5)
    world.entra.stalls.append(6)  # the first token request hangs; the next one answers
    started = time.monotonic()
    reply = world.say("admin", "help")
    assert "Sorry, something went wrong on our side" in card_text(reply)
    assert time.monotonic() - started < 4  # given up long before Entra ID answered
