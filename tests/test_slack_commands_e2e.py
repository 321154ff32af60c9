"""Slack commands, end to end: an admin types /enrol over the real app and reads the answer.

Posting buttons, the link create form, link list and delete, admins, help, mistakes, and what a
learner may not do; the test checks the reply and what the database holds."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from store.models import EnrolmentLink, NotificationSubscription
from tests.support.slack_checks import audit_of
from tests.support.slack_world import ADMIN, ANN, SlackWorld, text_of


@pytest.fixture
def world(db_url):
    with SlackWorld(db_url) as w:
        yield w


def test_the_bot_says_when_it_cannot_post_in_a_channel(world):
    private = world.command(ADMIN, "post safety-101 <#C0SECRET|secret>")
    assert (
        text_of(private)
        == ":warning: I can't post in #secret: invite me there first (`/invite @enrolbot`), then try again."
    )
    archived = world.command(ADMIN, "post safety-101 <#C0OLD|old>")
    assert (
        text_of(archived)
        == ":warning: #old is archived, so I can't post there; pick another channel."
    )


def test_link_create_without_a_label_opens_a_form_that_checks_the_label(world):
    world.command(ADMIN, 'link create safety-101 --label "Intranet"')
    response_url = world.slack.new_response_url()
    assert (
        world.command_request(ADMIN, "link create safety-101", "C0OPS", response_url).status_code
        == 200
    )
    [opened] = world.slack.wait_call("views.open")
    view = (
        opened.args["view"]
        if isinstance(opened.args["view"], dict)
        else json.loads(opened.args["view"])
    )
    assert view["callback_id"] == "link_create"
    assert "Safety 101" in text_of(view)

    duplicate = world.submit_form(ADMIN, view, "intranet")
    assert duplicate.json() == {
        "response_action": "errors",
        "errors": {"label": "Link 4 already has this label; choose another."},
    }
    blank = world.submit_form(ADMIN, view, "   ")
    assert blank.json()["errors"] == {
        "label": "Give the link a label, so you can tell it apart from the item's other links."
    }
    assert world.db.count(EnrolmentLink) == 4

    good = world.submit_form(ADMIN, view, "Wiki", "On the safety wiki page")
    assert good.status_code == 200 and good.text == ""
    [told] = world.slack.wait_call("chat.postEphemeral")
    assert (told.args["channel"], told.args["user"]) == ("C0OPS", ADMIN)
    assert "Link 5 for Safety 101 (Wiki) is ready:\nhttps://enrol.acme.test/enrol/" in text_of(
        told.args
    )
    link = world.db.run(lambda s: s.get(EnrolmentLink, 5))
    assert (link.label, link.notes, link.is_active) == ("Wiki", "On the safety wiki page", True)


def test_link_list_shows_each_link_with_id_label_status_uses_and_date(world):
    world.command(ADMIN, 'link create safety-101 --label "Intranet" --notes "HR page"')
    world.command(ADMIN, "link deactivate 4")
    world.click(ANN, world.posted_button())
    listed = text_of(world.command(ADMIN, "link list safety-101"))
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert listed.splitlines()[2:] == [
        f"1 · default · active · 1 use · created {today}",
        f"4 · Intranet · deactivated · 0 uses · created {today} · notes: HR page",
    ]


def test_link_delete_asks_first_and_the_confirm_button_deletes(world):
    asked = world.command(ADMIN, "link delete 1")
    assert "Delete Link 1 (Safety 101, default link)?" in text_of(asked)
    assert "stops working for good" in text_of(asked) and "gets a new default link" in text_of(
        asked
    )
    confirm = asked["blocks"][1]["elements"][0]
    assert (confirm["style"], confirm["value"]) == ("danger", "1")
    assert world.db.count(EnrolmentLink, EnrolmentLink.deleted_at.is_not(None)) == 0

    _, url = world.press(ADMIN, "link_delete_cancel", "1")
    assert text_of(world.slack.wait_response(url)[0]) == "Kept link 1; nothing changed."

    # A learner pressing a leaked confirm button changes nothing.
    _, url = world.press(ANN, "link_delete_confirm", "1")
    assert "Only enrolment admins can delete links" in text_of(world.slack.wait_response(url)[0])

    _, url = world.press(ADMIN, "link_delete_confirm", "1")
    done = world.slack.wait_response(url)[0]
    assert done["replace_original"] is True
    assert text_of(done).startswith(
        ":white_check_mark: Link 1 (Safety 101, default link) is deleted"
    )
    assert world.db.count(EnrolmentLink, EnrolmentLink.deleted_at.is_not(None)) == 1


@pytest.mark.parametrize(
    "command",
    [
        "items",
        "link create safety-101 --label X",
        "link list safety-101",
        "link deactivate 1",
        "link activate 1",
        "link delete 1 --yes",
        "post safety-101",
        "admin add ann@acme.test",
        "admin list",
        "admin remove boss@acme.test",
    ],
)
def test_a_learner_is_refused_every_admin_command_and_nothing_changes(world, command):
    reply = text_of(world.command(ANN, command))
    assert reply.startswith(":warning: Only ") and reply.endswith("; nothing was changed.")
    assert world.db.count(EnrolmentLink) == 3
    assert world.db.count(EnrolmentLink, EnrolmentLink.is_active.is_(False)) == 0
    assert not world.slack.calls_of("chat.postMessage")
    assert len(audit_of(world, "command.refused")) == 1


def test_learner_help_shows_only_what_a_learner_can_do(world):
    learner = text_of(world.command(ANN, "help"))
    assert "click an Enrol button" in learner and "link create" not in learner
    admin = text_of(world.command(ADMIN, ""))
    assert (
        "`/enrol link create ITEM [--label TEXT] [--notes TEXT]`" in admin and "admin add" in admin
    )


def test_admins_are_added_listed_and_removed_by_email_or_mention(world):
    added = world.command(ADMIN, "admin add <@U0ANN|ann> --standard")
    assert text_of(added) == ":white_check_mark: ann@acme.test is now a standard admin."
    # A standard admin manages links but not admins.
    assert "Link 4 for Safety 101 (Ann's)" in text_of(
        world.command(ANN, 'link create safety-101 --label "Ann\'s"')
    )
    assert "Only super admins can manage admins" in text_of(
        world.command(ANN, "admin add done@acme.test")
    )
    listed = text_of(world.command(ADMIN, "admin list"))
    assert (
        "ann@acme.test · standard" in listed
        and "boss@acme.test · super (ENROLBOT_ADMINS)" in listed
    )
    assert "removed" not in listed
    assert (
        text_of(world.command(ADMIN, "admin remove ann@acme.test"))
        == ":white_check_mark: ann@acme.test is no longer an admin."
    )
    assert "Only enrolment admins" in text_of(world.command(ANN, "link list safety-101"))
    assert [
        e.detail["target"]
        for e in audit_of(world, "admin.granted") + audit_of(world, "admin.revoked")
    ] == ["ann@acme.test"] * 2


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("link list saftey-101", "There is no item `saftey-101`. Did you mean `safety-101`?"),
        ("link deactivate 99", "There is no link 99."),
        (
            "link create",
            "Tell me which item: `/enrol link create ITEM [--label TEXT] [--notes TEXT]`.",
        ),
        ('link create safety-101 --label "Team intranet', "A quote is left open"),
        ("lnk list safety-101", "I don't know `lnk`. `/enrol help` lists what I can do."),
        ("link frobnicate 1", "I don't know `link frobnicate`"),
        (
            "link create onboarding --label X",
            "Onboarding is a pathway, and pathways have only their default link",
        ),
        ("post safety-101 ops", "`ops` isn't a channel"),
    ],
)
def test_mistakes_get_a_specific_answer(world, command, says):
    reply = text_of(world.command(ADMIN, command))
    assert reply.startswith(":warning: ") and says in reply
    assert world.db.count(EnrolmentLink) == 3


def test_a_deep_link_opened_in_a_browser_names_the_item_or_says_why_it_fails(world):
    created = world.command(ADMIN, 'link create safety-101 --label "Email"')
    url = next(
        line
        for line in text_of(created).splitlines()
        if line.startswith("https://enrol.acme.test/enrol/")
    )
    path = url.removeprefix("https://enrol.acme.test")
    page = world.http.get(path)
    assert page.status_code == 200 and "<h1>Safety 101</h1>" in page.text
    world.command(ADMIN, "link deactivate 4")
    disabled = world.http.get(path)
    assert disabled.status_code == 403 and "This link is currently disabled." in disabled.text
    world.command(ADMIN, "link delete 4 --yes")
    assert world.http.get(path).status_code == 410
    assert world.http.get("/enrol/not-a-token").status_code == 404


def test_a_private_channel_is_called_by_its_name_not_privategroup(world):
    world.slack.add_channel("C0HR", name="hr-team", private=True)
    here = {"channel_name": "privategroup"}
    subscribed = text_of(world.command(ADMIN, "notify safety-101", "C0HR", **here))
    assert subscribed.startswith(":white_check_mark: #hr-team now gets")
    sub = world.db.scalar(select(NotificationSubscription))
    assert sub.channel_name == "hr-team"  # what the admin's DM will name if it stops
    posted = text_of(world.command(ADMIN, "post safety-101", "C0HR", **here))
    assert posted == (
        ":white_check_mark: Posted the Enrol button for Safety 101 in #hr-team, using link 1."
    )
    # A private channel the bot cannot see into has no name to give.
    refused = text_of(world.command(ADMIN, "notify safety-101", "C0SECRET", **here))
    assert "this channel" in refused and "privategroup" not in refused
