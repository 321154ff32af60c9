"""A registration button in Slack, end to end: an admin posts an Enrol button with a token; a
guest, or someone from another organisation in a shared channel, who clicks it gets a modal
with the registration page's fields filled in from their Slack profile, and sending it
registers them as the page would (a prospect, enrolled, an invitation at a real SMTP server);
members enrol through the button's link as with any other button."""

from __future__ import annotations

import json
import re
import time

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from sqlalchemy import select

from handlers.organisations import default_organisation
from store.models import AuditEvent, Enrolment, EnrolmentSource, User, UserType
from tests.support.slack_standin import OTHER_TEAM
from tests.support.slack_world import ADMIN, ANN, SlackWorld, text_of
from tests.support.smtp import smtp_server

GUEST = "U0GUEST"  # is_restricted, guest@partner.test, Gus Guest
STRANGER = "U0STRANGER"  # is_stranger, of another team, x@other.test, Stu Stranger


@pytest.fixture
def inbox():
    with smtp_server() as box:
        yield box


@pytest.fixture
def world(db_url, inbox):
    with SlackWorld(db_url, SMTP_URL=inbox.url) as w:
        yield w


def make_token(world: SlackWorld, nickname: str = "Spring fair") -> str:
    """Make a token for Safety 101 as the admin; its code, shown once."""
    reply = text_of(world.command(ADMIN, f'token create safety-101 --nickname "{nickname}"'))
    return re.search(r"code is ([0-9A-Z]{5}-[0-9A-Z]{5})", reply).group(1)


def post_with_token(world: SlackWorld, token: str = "t1") -> dict:
    """Post Safety 101's button with a token in #ops; the message as Slack received it."""
    reply = text_of(world.command(ADMIN, f"post safety-101 <#C0OPS|ops> --token {token}"))
    assert "Posted the Enrol button for Safety 101 in #ops" in reply
    message = world.slack.calls_of("chat.postMessage")[-1].args
    blocks = message["blocks"]
    return message | {"blocks": json.loads(blocks) if isinstance(blocks, str) else blocks}


def button_of(message: dict) -> dict:
    return message["blocks"][1]["elements"][0]


def press(world: SlackWorld, user: str, value: str, **kw) -> str:
    response, response_url = world.press(user, "enrol_register", value, **kw)
    assert response.status_code == 200, response.text
    return response_url


def fields(first: str, last: str, email: str) -> dict:
    return {
        name: {"value": {"type": "plain_text_input", "value": value or None}}
        for name, value in (("first_name", first), ("last_name", last), ("email", email))
    }


def initial_values(view: dict) -> dict:
    return {
        b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if "element" in b
    }


def test_a_guest_registers_through_the_modal_and_gets_the_invitation(world, inbox):
    code = make_token(world)
    message = post_with_token(world)
    for block in message["blocks"]:
        Block.parse(block).validate_json()
    button = button_of(message)
    assert button["action_id"] == "enrol_register"
    assert code not in json.dumps(message) and code.replace("-", "") not in json.dumps(message)
    assert "Guests and people from other organisations can register" in text_of(message)

    response_url = press(world, GUEST, button["value"])
    view = world.slack.wait_view()
    View(**{k: v for k, v in view.items() if k in View.attributes}).validate_json()
    assert view["callback_id"] == "register"
    assert initial_values(view) == {
        "first_name": "Gus",
        "last_name": "Guest",
        "email": "guest@partner.test",
    }
    assert "Register for Safety 101" in text_of(view)
    assert code not in json.dumps(view)
    time.sleep(0.5)
    assert world.slack.responses[response_url.rsplit("/", 1)[1]] == []  # no refusal

    bad = world.submit_view(GUEST, view, fields("Gus", "", "not an address"))
    assert bad.json() == {
        "response_action": "errors",
        "errors": {
            "last_name": "Enter your last name.",
            "email": "Enter your email address, like name@example.com.",
        },
    }
    assert world.db.count(Enrolment, Enrolment.registration_token_id.is_not(None)) == 0

    good = world.submit_view(GUEST, view, fields("Gus", "Guest", "Guest@Partner.test"))
    answer = good.json()
    assert answer["response_action"] == "update"
    View(**answer["view"]).validate_json()
    assert text_of(answer["view"]).startswith(
        "*Check your email*\nWe've sent an email to guest@partner.test."
    )
    rows = _enrolments_of(world, "guest@partner.test")
    assert rows == [(UserType.PROSPECT, EnrolmentSource.REGISTRATION, 1)]
    [(to, mail)] = inbox.wait(1)
    assert to == ["guest@partner.test"]
    assert mail["Subject"] == "Confirm your email address to start Safety 101"
    assert "https://enrol.acme.test/register/confirm?t=" in mail.get_content()
    actors = _audited_actions(world)
    assert ("enrol.guest", f"slack:T0ACME:{GUEST}") in actors  # the link refused, then...
    assert ("enrol.enrolled", f"slack:T0ACME:{GUEST}") in actors  # ...the registration


async def _all(result):
    return [tuple(row) for row in (await result).all()]


def _enrolments_of(world: SlackWorld, email: str) -> list[tuple]:
    """(user type, source, registration token id) of each enrolment of the person."""
    return world.db.run(
        lambda s: _all(
            s.execute(
                select(User.type, Enrolment.source, Enrolment.registration_token_id)
                .join(Enrolment, Enrolment.user_id == User.id)
                .where(User.email == email)
            )
        )
    )


def _audited_actions(world: SlackWorld) -> list[tuple]:
    """(action, actor) of every audit row, oldest first."""
    return world.db.run(
        lambda s: _all(
            s.execute(select(AuditEvent.action, AuditEvent.actor).order_by(AuditEvent.id))
        )
    )


def test_someone_from_another_organisation_gets_the_modal_and_a_member_enrols(world):
    make_token(world)
    value = button_of(post_with_token(world))["value"]
    press(world, STRANGER, value, team=OTHER_TEAM, sent_from=OTHER_TEAM)
    view = world.slack.wait_view()
    assert initial_values(view) == {
        "first_name": "Stu",
        "last_name": "Stranger",
        "email": "x@other.test",
    }
    # A member enrols through the button's internal link, as with any Enrol button.
    response_url = press(world, ANN, value)
    [reply] = world.slack.wait_response(response_url)
    assert text_of(reply).startswith(":white_check_mark: You're enrolled in Safety 101.")
    assert len(world.slack.views) == 1


def test_a_guest_who_types_a_members_address_enrols_nobody_and_the_owner_is_emailed(world, inbox):
    """The form's email field can be changed: a member's address typed there is answered as a
    new one is, and only the link emailed to it enrols them."""
    make_token(world)
    press(world, GUEST, button_of(post_with_token(world))["value"])
    view = world.slack.wait_view()
    answer = world.submit_view(GUEST, view, fields("Ann", "Lee", "ann@acme.test")).json()
    assert text_of(answer["view"]).startswith(
        "*Check your email*\nWe've sent an email to ann@acme.test. Open the link in it within "
        "7 days to confirm your address and start Safety 101."
    )
    assert world.db.count(User, User.type == UserType.PROSPECT) == 0
    assert _enrolments_of(world, "ann@acme.test") == []
    [(to, mail)] = inbox.wait(1)
    assert to == ["ann@acme.test"]
    assert "registration page for Safety 101. To be enrolled" in mail.get_content()
    assert ("register.link_sent", f"slack:T0ACME:{GUEST}") in _audited_actions(world)


def test_a_disabled_token_says_so_on_the_click_and_on_the_form(world):
    make_token(world)
    value = button_of(post_with_token(world))["value"]
    press(world, GUEST, value)
    view = world.slack.wait_view()
    assert "is deactivated" in text_of(world.command(ADMIN, "token deactivate t1"))
    answer = world.submit_view(GUEST, view, fields("Gus", "Guest", "guest@partner.test")).json()
    assert answer["response_action"] == "update"
    assert "This token is currently disabled" in text_of(answer["view"])
    assert world.db.count(Enrolment, Enrolment.registration_token_id.is_not(None)) == 0
    # A click while it is off: no form, the sentence.
    response_url = press(world, STRANGER, value, team=OTHER_TEAM, sent_from=OTHER_TEAM)
    [reply] = world.slack.wait_response(response_url)
    assert text_of(reply).startswith(":warning: This token is currently disabled")
    assert len(world.slack.views) == 1


def test_a_tampered_reference_registers_nobody(world):
    make_token(world)
    value = button_of(post_with_token(world))["value"]
    press(world, GUEST, value)
    view = world.slack.wait_view()
    meta = json.loads(view["private_metadata"])
    forged = view | {"private_metadata": json.dumps(meta | {"ref": meta["ref"][:-2] + "xx"})}
    answer = world.submit_view(GUEST, forged, fields("Gus", "Guest", "guest@partner.test")).json()
    assert "This registration button no longer works" in text_of(answer["view"])
    assert world.db.count(Enrolment, Enrolment.registration_token_id.is_not(None)) == 0


def test_when_slack_will_not_open_the_modal_the_guest_gets_the_pages_link(world):
    code = make_token(world)
    value = button_of(post_with_token(world))["value"]
    world.slack.fail_next("views.open", 200, {"ok": False, "error": "expired_trigger_id"})
    response_url = press(world, GUEST, value)
    [reply] = world.slack.wait_response(response_url)
    shown = text_of(reply)
    assert shown.startswith(
        "This button enrols members of the organisation that posted it. To register for Safety "
        "101 as a guest or as someone from another organisation, open "
        "https://enrol.acme.test/register?ref="
    )
    assert code not in shown


def test_a_registration_alerts_the_channel_as_external_and_emails_the_items_stakeholders(
    world, inbox
):
    async def primary(session):
        (await default_organisation(session)).primary_admin_email = "head@acme.test"

    world.db.run(primary)
    make_token(world)
    world.command(ADMIN, "notify safety-101 <#C0GENERAL|general>")
    on = text_of(
        world.command(ADMIN, "notify safety-101 --external-email on --stakeholder sales@acme.test")
    )
    assert on == (
        ":white_check_mark: Each external enrolment in Safety 101 is emailed to head@acme.test "
        "(primary admin), sales@acme.test."
    )
    press(world, GUEST, button_of(post_with_token(world))["value"])
    view = world.slack.wait_view()
    world.submit_view(GUEST, view, fields("Gus", "Guest", "guest@partner.test"))
    [alert] = world.wait_messages("C0GENERAL", 1)
    assert text_of(alert).startswith(
        "*Gus Guest* (prospect) registered as an outsider and enrolled in *Safety 101* with "
        "token “Spring fair” at "
    )
    got = {tuple(to): mail for to, mail in inbox.wait(3)}
    assert set(got) == {("guest@partner.test",), ("head@acme.test",), ("sales@acme.test",)}
    assert got[("sales@acme.test",)]["Subject"] == "1 external enrolment in Safety 101"

    # Off: the channel still hears of the next one; nobody is emailed but the new person.
    world.command(ADMIN, "notify safety-101 --external-email off")
    press(
        world,
        STRANGER,
        button_of(post_with_token(world))["value"],
        team=OTHER_TEAM,
        sent_from=OTHER_TEAM,
    )
    view = world.slack.wait_view(2)
    world.submit_view(STRANGER, view, fields("Stu", "Stranger", "x@other.test"), team=OTHER_TEAM)
    world.wait_messages("C0GENERAL", 2)
    inbox.wait(4)  # the new person's email, however slow the machine
    time.sleep(1.5)  # and no stakeholder's since
    assert [to for to, _ in inbox.messages[3:]] == [["x@other.test"]]


def test_one_slack_account_may_send_ten_registrations_in_ten_minutes(world):
    make_token(world)
    press(world, GUEST, button_of(post_with_token(world))["value"])
    view = world.slack.wait_view()
    for n in range(10):
        sent = world.submit_view(GUEST, view, fields("Gus", "Guest", f"g{n}@partner.test"))
        assert sent.json()["response_action"] == "update"
    refused = world.submit_view(GUEST, view, fields("Gus", "Guest", "g10@partner.test")).json()
    assert refused == {
        "response_action": "errors",
        "errors": {
            "email": "There have been too many registrations from your account. Try again in "
            "10 minutes."
        },
    }
    assert world.db.count(User, User.type == UserType.PROSPECT) == 10
