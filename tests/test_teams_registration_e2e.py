"""A registration button in Teams (`post ITEM --token TOKEN`): a guest, or someone of another
tenant in a shared channel, who presses Enrol is sent to the registration page with the
button's token filled in as a signed reference (Teams shows them no form), instead of a dead
end; a member still enrols through the button's link. The real app over HTTP, signed as the
Bot Framework signs, against the connector's stand-in."""

from __future__ import annotations

import re

import pytest

from store.models import Enrolment
from tests.support.teams_world import TeamsWorld, card_text


@pytest.fixture
def world(db_url, tmp_path):
    with TeamsWorld(db_url, tmp_path) as w:
        yield w


def test_a_guest_and_an_outsider_get_the_registration_page_and_a_member_enrols(world):
    made = card_text(world.say("admin", 'token create safety-101 --nickname "Fair"'))
    code = re.search(r"[0-9A-Z]{5}-[0-9A-Z]{5}", made).group(0)
    before = len(world.connector.sent)
    posted_reply = card_text(world.say("admin", "post safety-101 --token t1"))
    assert "can register with token t1 “Fair”" in posted_reply
    [posted] = [
        s for s in world.connector.sent[before:] if s.method == "POST" and s.activity_id is None
    ]
    card = posted.body["attachments"][0]["content"]
    data = card["body"][-1]["actions"][0]["data"]
    assert set(data) == {"token", "registration"}
    assert code not in str(card)
    world.check_cards()

    for who in ("guest", "external"):
        shown = card_text(world.invoke(who, "enrol", data, card_id=posted.new_id)["value"])
        assert "To register for Safety 101 as a guest or as someone from another organisation" in (
            shown
        )
        url = re.search(r"https://enrol\.acme\.test/register\?ref=\S+", shown.replace("\\", ""))
        assert url is not None and code not in shown
    # The button stays on the card, still carrying the registration reference.
    assert world.cards[-1]["body"][-1]["actions"][0]["data"] == data
    member = card_text(world.invoke("ann", "enrol", data, card_id=posted.new_id)["value"])
    assert "You're enrolled in Safety 101." in member
    assert world.db.count(Enrolment, Enrolment.registration_token_id.is_not(None)) == 0
