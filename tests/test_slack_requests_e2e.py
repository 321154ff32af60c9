"""Slack requests, end to end: what the real app accepts over HTTP and from whom.

Forged, stale and malformed requests, requests signed for another workspace or naming nobody, our
workspace pinned by auth.test, start-up, and Slack calls that hang."""

from __future__ import annotations

import logging
import time
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from store.models import AdminGrant, AuditEvent, Identity
from tests.support.slack_checks import BEFORE, ENROLLED_ANN, EXTERNAL
from tests.support.slack_standin import ENTERPRISE, OTHER_TEAM, SISTER_TEAM, grid_member, member
from tests.support.slack_world import (
    ADMIN,
    ANN,
    BOT_TOKEN,
    SIGNING_SECRET,
    SlackWorld,
    slack_signature,
    text_of,
)


@pytest.fixture
def world(db_url):
    with SlackWorld(db_url) as w:
        yield w


def test_forged_and_stale_requests_are_rejected_before_anything_happens(world):
    token = world.posted_button()
    payload = {
        "type": "block_actions",
        "team": {"id": "T0ACME"},
        "user": {"id": ANN, "team_id": "T0ACME"},
        "response_url": world.slack.new_response_url(),
        "actions": [{"action_id": "enrol", "value": token}],
    }
    forged = world.interaction(payload, secret="not-the-signing-secret")
    stale = world.interaction(payload, timestamp=int(time.time()) - 6 * 60)
    unsigned = world.http.post("/slack/events", content="payload=%7B%7D")
    assert forged.status_code == stale.status_code == unsigned.status_code == 401
    time.sleep(0.3)
    assert world.db.enrolments() == BEFORE
    assert world.db.count(AuditEvent, AuditEvent.action.like("enrol.%")) == 0


# Our workspace, pinned by auth.test ---------------------------------------------------------------


def test_our_workspace_is_learned_from_auth_test_at_start(world):
    # Asked before any request arrived, with the bot token.
    assert world.slack.calls_of("auth.test")


def test_a_command_signed_for_another_workspace_cannot_use_an_admins_email(world):
    # Someone of another workspace whose Slack email is a bootstrap admin's.
    world.slack.add_user(member("U0IMPOSTOR", "boss@acme.test", "Bo", "Gus", team_id=OTHER_TEAM))
    reply = text_of(world.command("U0IMPOSTOR", "admin add ann@acme.test", team_id=OTHER_TEAM))
    assert reply.startswith(":warning: Only ") and reply.endswith("; nothing was changed.")
    assert world.db.count(AdminGrant) == 0
    assert not [c for c in world.slack.calls_of("users.info") if c.args["user"] == "U0IMPOSTOR"]
    identity = world.db.scalar(select(Identity).where(Identity.subject == "U0IMPOSTOR"))
    assert (identity.tenant_key, identity.user_id, identity.standing.value) == (
        "T0ACME",
        None,
        "external",
    )


def test_a_click_signed_for_another_workspace_is_not_taken_for_a_learner_with_that_email(world):
    # A Slack Connect partner whose email is Ann's, in a payload naming their own team.
    world.slack.add_user(member("U0TWIN", "ann@acme.test", "Ann", "Twin", team_id=OTHER_TEAM))
    token = world.posted_button()
    clicked = world.click("U0TWIN", token, team=OTHER_TEAM, sent_from=OTHER_TEAM)
    assert EXTERNAL in text_of(clicked.reply)
    assert world.db.enrolments() == BEFORE


def test_a_member_of_another_workspace_of_our_grid_is_looked_up_and_enrolled(db_url):
    with SlackWorld(db_url, enterprise=ENTERPRISE) as world:
        world.slack.add_user(grid_member("W0ANN", "ann@acme.test", "Ann", "Lee"))
        world.slack.add_user(member("U0PARTNER", "ann@acme.test", "Pat", "Ner", team_id=OTHER_TEAM))
        token = world.posted_button()
        clicked = world.click("W0ANN", token, team=SISTER_TEAM, enterprise=ENTERPRISE)
        assert text_of(clicked.reply).startswith(
            ":white_check_mark: You're enrolled in Safety 101."
        )
        assert world.db.enrolments() == ENROLLED_ANN
        assert [c.args["user"] for c in world.slack.calls_of("users.info")].count("W0ANN") == 1
        # Another organisation's member in a shared channel of our grid is still external,
        # whatever the payload's organisation says.
        partner = world.click("U0PARTNER", token, team=OTHER_TEAM, enterprise=ENTERPRISE)
        assert EXTERNAL in text_of(partner.reply)
        assert world.db.enrolments() == ENROLLED_ANN


# Requests of the wrong shape ------------------------------------------------------------------------


def test_a_body_nested_too_deep_is_refused_not_a_500(world):
    deep = "[" * 100_000 + "]" * 100_000
    as_json = world.signed_post(deep, headers={"Content-Type": "application/json"})
    as_form = world.signed_post(urlencode({"payload": deep}))
    for response in (as_json, as_form):
        assert response.status_code == 400 and "Traceback" not in response.text
    assert world.http.get("/healthz").status_code == 200


def test_a_timestamp_that_is_not_a_number_is_refused_as_unsigned(world):
    body = "payload=%7B%7D"
    for stamp in ("abc", "1e9", "-1.5", "9" * 5000):
        response = world.http.post(
            "/slack/events",
            content=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": slack_signature(body)["X-Slack-Signature"],
            },
        )
        assert response.status_code == 401, stamp


def test_signed_requests_that_name_nobody_are_refused_and_change_nothing(world):
    token = world.posted_button()
    url = world.slack.new_response_url()
    no_user = {
        "type": "block_actions",
        "team": {"id": "T0ACME"},
        "response_url": url,
        "actions": [{"action_id": "enrol", "value": token}],
    }
    assert world.interaction(no_user).status_code == 400
    assert world.interaction({**no_user, "user": {"id": 7}}).status_code == 400
    form = {"command": "/enrol", "text": "admin list", "team_id": "T0ACME", "response_url": url}
    assert world.signed_post(urlencode(form)).status_code == 400
    assert world.event({"type": "user_change"}).status_code == 400
    clicker = {"id": "U0ANN", "team_id": "T0ACME"}
    no_reply_url = {k: v for k, v in no_user.items() if k != "response_url"} | {"user": clicker}
    assert world.interaction(no_reply_url).status_code == 400
    no_command_url = {k: v for k, v in form.items() if k != "response_url"} | {"user_id": "U0ANN"}
    assert world.signed_post(urlencode(no_command_url)).status_code == 400
    time.sleep(0.3)
    assert world.slack.responses[url.rsplit("/", 1)[1]] == []
    assert world.db.enrolments() == BEFORE


# Start-up ------------------------------------------------------------------------------------------


def test_an_exported_bot_token_does_not_make_bolt_warn_at_start(db_url, monkeypatch, caplog):
    # Operators export the settings; Bolt reads SLACK_BOT_TOKEN from the environment itself.
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    caplog.set_level(logging.WARNING)
    with SlackWorld(db_url) as world:
        assert world.click(ANN, world.posted_button()).text.startswith(":white_check_mark:")
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [m for m in said if "will be unused" in m or "will be ignored" in m], said


# Faults ---------------------------------------------------------------------------------------------


def test_a_hung_slack_call_gives_up_after_slack_timeout_seconds(db_url):
    with SlackWorld(db_url, SLACK_TIMEOUT_SECONDS="1") as world:
        world.command(ADMIN, "help")  # the admin is known: only the post is left to hang
        world.slack.fail_next("chat.postMessage", 0, {"seconds": 30})
        started = time.monotonic()
        reply = world.command(ADMIN, "post safety-101 <#C0OPS|ops>")
        assert time.monotonic() - started < 5
        assert text_of(reply).startswith(":warning: Sorry, something went wrong on our side")


def test_a_hung_response_url_is_given_up_after_slack_timeout_seconds(db_url):
    with SlackWorld(db_url, SLACK_TIMEOUT_SECONDS="1") as world:
        token = world.posted_button()
        world.slack.hang_next_response(30)
        response, _ = world.press(ANN, "enrol", token)
        assert response.status_code == 200
        assert world.slack.wait_abandoned(timeout=10) < 4
        # The next click is answered as usual.
        assert text_of(world.click(ANN, token).reply).startswith("You're already enrolled")
