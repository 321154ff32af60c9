"""Random and malformed input at every endpoint: never a 5xx, never a traceback in a response,
never a change to what the database holds. Hypothesis makes the cases (FUZZ_EXAMPLES each)."""

from __future__ import annotations

import json
import os
import time
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store.models import (
    AdminGrant,
    Enrolment,
    EnrolmentLink,
    Membership,
    NotificationSubscription,
)
from tests.support.slack_world import ANN, SlackWorld, action_body, slack_signature, text_of
from tests.support.teams_world import TEAM, TeamsWorld
from tests.support.waiting import wait_until

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
TABLES = (Enrolment, EnrolmentLink, AdminGrant, NotificationSubscription)

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(text, inner, max_size=5),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def slack(databases):
    url = databases.fresh("sqlite")
    with SlackWorld(url) as world:
        world.token = world.posted_button()
        yield world


def snapshot(world) -> tuple[int, ...]:
    return tuple(world.db.count(t) for t in TABLES)


def clean(response) -> None:
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text


@FUZZ
@given(body=text)
def test_random_bodies_signed_or_not_at_the_slack_endpoint(slack, body):
    before = snapshot(slack)
    clean(
        slack.http.post(
            "/slack/events",
            content=body.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    )
    clean(slack.signed_post(body))
    clean(slack.signed_post(urlencode({"payload": body})))
    assert snapshot(slack) == before


@FUZZ
@given(payload=json_values)
def test_random_json_payloads_signed_as_slack_signs(slack, payload):
    before = snapshot(slack)
    clean(slack.signed_post(urlencode({"payload": json.dumps(payload)})))
    assert snapshot(slack) == before


@FUZZ
@given(command=text)
def test_random_command_text_from_a_learner_changes_nothing(slack, command):
    before = snapshot(slack)
    reply = slack.command(ANN, command)
    assert "Traceback" not in json.dumps(reply)
    assert text_of(reply)
    assert snapshot(slack) == before


@FUZZ
@given(
    value=text
    | st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.", max_size=200
    )
)
def test_random_button_values_enrol_no_one(slack, value):
    before = snapshot(slack)
    response_url = slack.slack.new_response_url()
    body = action_body("U0DONE", "enrol", value, response_url)
    response = slack.http.post(
        "/slack/events",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **slack_signature(body)},
    )
    clean(response)
    assert "Traceback" not in json.dumps(slack.slack.wait_response(response_url))
    assert snapshot(slack) == before


@FUZZ
@given(token=text)
def test_random_deep_link_tokens(slack, token):
    response = slack.http.get("/enrol/" + quote(token, safe="") + "x")
    clean(response)
    assert response.status_code in (200, 403, 404, 410)


@pytest.fixture(scope="module")
def teams(databases, tmp_path_factory):
    url = databases.fresh("sqlite")
    with TeamsWorld(url, tmp_path_factory.mktemp("teams")) as world:
        world.say("admin", "help")
        yield world


@FUZZ
@given(
    activity=json_values,
    # Stripped: HTTP has no header value with whitespace at either end, and clients refuse to
    # send one.
    authorization=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=300).map(
        str.strip
    ),
)
def test_random_activities_and_tokens_at_the_teams_endpoint(teams, activity, authorization):
    before = snapshot(teams)
    response = teams.http.post(
        "/api/messages",
        content=json.dumps(activity),
        headers={"Authorization": authorization},
    )
    clean(response)
    assert response.status_code == 401
    assert snapshot(teams) == before


@FUZZ
@given(action=json_values)
def test_random_card_actions_signed_as_the_bot_framework_signs(teams, action):
    before = snapshot(teams)
    activity = teams.activity(
        "ann",
        type="invoke",
        name="adaptiveCard/action",
        replyToId="card-1",
        value={"action": action},
    )
    response = teams.send(activity)
    clean(response)
    assert snapshot(teams) == before


@FUZZ
@given(added=json_values, removed=json_values, team=json_values, event=json_values)
def test_random_team_updates_signed_as_the_bot_framework_signs(teams, added, removed, team, event):
    """conversationUpdate in a linked team with members, team and event of any shape: never a
    5xx, and no one joins or leaves the group for it."""
    if not teams.connector.rosters:
        teams.connector.rosters[TEAM] = [teams.connector.members["29:boss"]]
        teams.say("admin", "group link team")
        wait_until(lambda: teams.db.count(Membership) == 1, "the first sync", 10)
    before = teams.db.count(Membership)
    activity = teams.activity("admin", type="conversationUpdate")
    activity["channelData"]["team"] = team if isinstance(team, dict) else {"id": TEAM}
    activity["channelData"]["eventType"] = event
    activity |= {"membersAdded": added, "membersRemoved": removed}
    clean(teams.send(activity))
    time.sleep(0.05)  # the update is recorded after the answer
    assert teams.db.count(Membership) == before
