"""Enrolling others by hand end to end: an admin's `enrol add` in Slack and in Teams, the
learner told in one direct message (Slack DM, Teams personal chat) naming who enrolled them,
a withdrawal told too, and a learner refused."""

from __future__ import annotations

import json

import pytest

from store.models import Enrolment
from tests.support.slack_world import ADMIN, ANN, SlackWorld, text_of
from tests.support.teams_world import TeamsWorld, card_text


@pytest.fixture
def slack_world(db_url):
    with SlackWorld(db_url) as w:
        yield w


def test_slack_admin_enrols_by_hand_and_the_learner_hears_once(slack_world):
    world = slack_world
    world.command(ANN, "help")  # Ann is known to the bot: her DMs can reach her
    reply = text_of(
        world.command(
            ADMIN,
            "enrol add <@U0ANN> done@acme.test nobody@acme.test safety-101 --due-on 2030-03-31 "
            '--reason "Site *rules*"',
        )
    )
    assert "Enrolled 1 person (1 new enrolment, required, due 31 March 2030" in reply
    assert "Safety 101 (`safety-101`): enrolled 1 (Ann Lee); completed already 1 (Dan Done)" in (
        reply
    )
    assert "Not found 1 (no training account): nobody@acme.test" in reply
    [dm] = world.wait_messages(ANN, 1)
    shown = text_of(dm)
    assert "enrolled you in Safety 101." in shown
    assert "Required · due 31 March 2030 · enrolled by " in shown
    assert "Site" in shown and "https://learn.acme.test/safety-101" in json.dumps(dm["blocks"])
    mine = text_of(world.command(ANN, "enrol list me"))
    assert "Safety 101 (`safety-101`): enrolled · required · due 31 March 2030 · by hand by" in mine
    refused = text_of(world.command(ANN, "enrol add done@acme.test onboarding"))
    assert "Only enrolment admins and managers" in refused
    assert world.db.count(Enrolment) == 2  # Dan's completion and Ann's enrolment


@pytest.fixture
def teams_world(db_url, tmp_path):
    with TeamsWorld(db_url, tmp_path) as w:
        yield w


def test_teams_admin_enrols_and_withdraws_and_the_learner_hears_in_their_chat(teams_world):
    world = teams_world
    world.say("ann", "help")  # Ann is known: her personal chat can be reached
    done = world.say("admin", "enrol add ann@acme.test safety-101 privacy --recommended")
    assert "Enrolled 1 person (2 new enrolments, recommended)" in card_text(done)
    [dm] = world.wait_messages("a:dm-aad-ann", 1)
    card = card_text(dm["attachments"][0]["content"])
    assert "enrolled you in 2 items." in card and "Recommended · enrolled by " in card
    gone = world.say("admin", 'enrol withdraw ann@acme.test privacy --reason "Wrong course"')
    assert "Withdrew Ann Lee from Privacy basics" in card_text(gone)
    [_, told] = world.wait_messages("a:dm-aad-ann", 2)
    card = card_text(told["attachments"][0]["content"])
    assert "withdrew you from Privacy basics." in card and "Wrong course" in card


def test_in_teams_enrol_add_is_typed_with_one_enrol_and_help_writes_it_so(teams_world):
    world = teams_world
    # TeamsWorld.say starts each message with "enrol": the admin typed `enrol add ...`.
    done = world.say("admin", "add ann@acme.test safety-101")
    assert "Enrolled 1 person" in card_text(done)
    listed = card_text(world.say("admin", "list ann@acme.test"))
    assert "Safety 101" in listed
    helped = card_text(world.say("admin", "help enrol add"))
    assert "\nenrol add PEOPLE... ITEMS..." in helped
    assert "enrol enrol" not in helped
