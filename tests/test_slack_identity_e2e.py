"""Slack identities, end to end: what is kept about a member as their Slack account changes.

Email changes and user_change events without an email, and members Slack could not tell us about
once: they are asked about again, not refused for good."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from store.models import Enrolment, Identity, Organisation, User
from tests.support.slack_checks import ENROLLED_ANN, EXTERNAL, age_identity, audit_of, lookups_of
from tests.support.slack_world import ANN, SlackWorld, text_of


@pytest.fixture
def world(db_url):
    with SlackWorld(db_url) as w:
        yield w


def test_an_email_change_in_slack_is_recorded_and_does_not_move_the_account(world):
    world.click(ANN, world.posted_button())
    event = {
        "token": "legacy",
        "team_id": "T0ACME",
        "api_app_id": "A0ENROL",
        "type": "event_callback",
        "event_id": "Ev1",
        "event_time": int(time.time()),
        "event": {
            "type": "user_change",
            "user": {
                **world.slack.users[ANN],
                "profile": {"email": "done@acme.test", "first_name": "Ann", "last_name": "Lee"},
            },
        },
    }
    body = json.dumps(event)
    import hashlib
    import hmac

    ts = str(int(time.time()))
    signature = (
        "v0="
        + hmac.new(b"test-signing-secret", f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    )
    response = world.http.post(
        "/slack/events",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
        },
    )
    assert response.status_code == 200
    deadline = time.monotonic() + 5
    while not audit_of(world, "identity.email_changed") and time.monotonic() < deadline:
        time.sleep(0.05)
    [changed] = audit_of(world, "identity.email_changed")
    assert changed.detail == {"old": "ann@acme.test", "new": "done@acme.test"}
    identity = world.db.scalar(select(Identity).where(Identity.subject == ANN))
    ann = world.db.scalar(select(User).where(User.email == "ann@acme.test"))
    assert identity.user_id == ann.id  # still Ann's, though the email now names Dan
    assert world.db.count(Enrolment) == 2


def test_after_a_no_email_refusal_a_later_click_asks_slack_again(world):
    async def add_noe(session):
        org = (await session.execute(select(Organisation))).scalars().first()
        session.add(User(organisation_id=org.id, email="noe@acme.test", first_name="Noe"))

    world.db.run(add_noe)
    token = world.posted_button()
    assert "I can't see the email address" in text_of(world.click("U0NOMAIL", token).reply)
    # The workspace admin lets the bot read the email; Noe clicks again, as told.
    world.slack.users["U0NOMAIL"]["profile"]["email"] = "noe@acme.test"
    assert "I can't see the email address" in text_of(world.click("U0NOMAIL", token).reply)
    assert lookups_of(world, "U0NOMAIL") == 1  # not asked again within the minute
    age_identity(world, "U0NOMAIL")
    clicked = world.click("U0NOMAIL", token)
    assert text_of(clicked.reply).startswith(":white_check_mark: You're enrolled in Safety 101.")
    assert ("noe@acme.test", "safety-101", "enrolled") in world.db.enrolments()
    assert lookups_of(world, "U0NOMAIL") == 2


def test_one_passing_user_not_found_does_not_make_a_member_external_for_good(world):
    token = world.posted_button()
    world.slack.fail_next("users.info", 200, {"ok": False, "error": "user_not_found"})
    assert EXTERNAL in text_of(world.click(ANN, token).reply)
    age_identity(world, ANN)
    assert text_of(world.click(ANN, token).reply).startswith(":white_check_mark: You're enrolled")
    assert world.db.enrolments() == ENROLLED_ANN
    # Once matched, Ann is not asked about again.
    age_identity(world, ANN)
    world.click(ANN, token)
    assert lookups_of(world, ANN) == 2


def test_a_user_change_without_an_email_keeps_the_stored_email(world):
    world.click(ANN, world.posted_button())
    # Slack's published user_change example: names and status, no email.
    user = {
        **world.slack.users[ANN],
        "real_name": "Ann Lee-Park",
        "profile": {
            "real_name": "Ann Lee-Park",
            "display_name": "",
            "status_text": "riding a train",
            "status_emoji": ":mountain_railway:",
            "first_name": "Ann",
            "last_name": "Lee-Park",
            "team": "T0ACME",
        },
        "is_email_confirmed": True,
    }
    assert world.event({"type": "user_change", "user": user}).status_code == 200

    def identity() -> Identity:
        return world.db.scalar(select(Identity).where(Identity.subject == ANN))

    deadline = time.monotonic() + 5
    while identity().last_name != "Lee-Park" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (identity().last_name, identity().email) == ("Lee-Park", "ann@acme.test")
    assert audit_of(world, "identity.email_changed") == []
