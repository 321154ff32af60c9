"""Slack, end to end: the real app over HTTP, signed as Slack signs, against Slack's stand-in.

Each test reads as what people do and see: an admin types /enrol, a learner clicks Enrol, and
the test checks the reply they read and what the database holds.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from handlers.catalog import create_item
from handlers.links import default_link, token_for
from handlers.signing import SLACK_BUTTON_VALUE_LIMIT, LinkSigner
from store.models import (
    AdminGrant,
    AuditEvent,
    Enrolment,
    EnrolmentLink,
    Identity,
    ItemKind,
    NotificationSubscription,
    Organisation,
    User,
    UserType,
    utcnow,
)
from tests.support.slack_standin import (
    ENTERPRISE,
    OTHER_TEAM,
    SISTER_TEAM,
    grid_member,
    member,
)
from tests.support.slack_world import (
    ADMIN,
    ANN,
    BOT_TOKEN,
    SIGNING_SECRET,
    SlackWorld,
    slack_signature,
    text_of,
)

ENROLLED_ANN = [
    ("ann@acme.test", "safety-101", "enrolled"),
    ("done@acme.test", "safety-101", "completed"),
]
BEFORE = [("done@acme.test", "safety-101", "completed")]


@pytest.fixture
def world(db_url):
    with SlackWorld(db_url) as w:
        yield w


def uses(world: SlackWorld, link_id: int = 1) -> int:
    return world.db.count(Enrolment, Enrolment.link_id == link_id)


def audit_of(world: SlackWorld, action: str) -> list[AuditEvent]:
    async def work(session):
        rows = await session.execute(select(AuditEvent).where(AuditEvent.action == action))
        return list(rows.scalars())

    return world.db.run(work)


def test_admin_posts_a_button_and_a_learner_is_enrolled_with_one_click(world):
    posted = world.command(ADMIN, "post safety-101 <#C0OPS|ops>")
    assert (
        text_of(posted)
        == ":white_check_mark: Posted the Enrol button for Safety 101 in #ops, using link 1."
    )
    assert posted["response_type"] == "ephemeral"
    message = world.slack.calls_of("chat.postMessage")[-1].args
    assert message["channel"] == "C0OPS"
    assert "Safety 101" in text_of(message) and "Topic" in text_of(message)
    button = message["blocks"][1]["elements"][0]
    assert (button["text"]["text"], button["action_id"], button["style"]) == (
        "Enrol",
        "enrol",
        "primary",
    )
    assert len(button["value"]) < SLACK_BUTTON_VALUE_LIMIT

    clicked = world.click(ANN, button["value"])
    assert (
        clicked.reply["response_type"] == "ephemeral" and clicked.reply["replace_original"] is False
    )
    assert text_of(clicked.reply) == (
        ":white_check_mark: You're enrolled in Safety 101.\nOpen it: https://learn.acme.test/safety-101"
    )
    assert world.db.enrolments() == ENROLLED_ANN
    assert uses(world) == 1
    [event] = audit_of(world, "enrol.enrolled")
    assert (event.link_id, event.actor, event.detail) == (
        1,
        "slack:T0ACME:U0ANN",
        {"channel": "C0OPS"},
    )

    again = world.click(ANN, button["value"])
    assert text_of(again.reply).startswith(
        "You're already enrolled in Safety 101, so nothing changed."
    )
    assert world.db.enrolments() == ENROLLED_ANN and uses(world) == 1
    # Slack's directory was asked about Ann once, not once per click.
    assert [c.args["user"] for c in world.slack.calls_of("users.info")].count(ANN) == 1


@pytest.mark.parametrize(
    ("user", "says"),
    [
        (
            "U0DONE",
            "You've already completed Safety 101. Your completion stands and nothing changed.",
        ),
        (
            "U0GUEST",
            "Guest accounts can't use internal enrolment links. If you need this training, ask your training admin.",
        ),
        ("U0SCG", "Guest accounts can't use internal enrolment links."),
        ("U0STRANGER", "This button is for members of the organisation that posted it."),
        ("U0GONE", "Your account is deactivated, so it can't enrol. Contact your workspace admin."),
        ("U0ROBOT", "Bot accounts can't enrol in training."),
        (
            "U0NOMAIL",
            "I can't see the email address on your account, so I can't match you to your training account. Ask your workspace admin to let enrolbot read members' email addresses, then click again.",
        ),
        (
            "U0NEW",
            "There's no training account for new@acme.test. Ask your training admin to add you, then click again.",
        ),
        (
            "U0OFF",
            "Your training account (off@acme.test) is deactivated. Ask your training admin to reactivate it, then click again.",
        ),
        ("U0NOBODY", "This button is for members of the organisation that posted it."),
    ],
)
def test_every_person_who_cannot_enrol_is_told_why_and_nothing_changes(world, user, says):
    token = world.posted_button()
    clicked = world.click(user, token)
    assert says in text_of(clicked.reply)
    assert clicked.reply["response_type"] == "ephemeral"
    assert world.db.enrolments() == BEFORE
    assert uses(world) == 0
    assert (
        world.db.count(
            AuditEvent,
            AuditEvent.actor == f"slack:T0ACME:{user}",
            AuditEvent.action.like("enrol.%"),
        )
        == 1
    )


def test_someone_from_another_organisation_in_a_shared_channel_is_refused_without_a_lookup(world):
    token = world.posted_button()
    clicked = world.click("U0VISITOR", token, team=OTHER_TEAM)
    assert "This button is for members of the organisation that posted it." in text_of(
        clicked.reply
    )
    assert not [c for c in world.slack.calls_of("users.info") if c.args["user"] == "U0VISITOR"]
    assert world.db.enrolments() == BEFORE


def test_a_refused_person_is_not_looked_up_again_on_every_click(world):
    token = world.posted_button()
    for _ in range(3):
        assert "Guest accounts" in text_of(world.click("U0GUEST", token).reply)
    assert [c.args["user"] for c in world.slack.calls_of("users.info")].count("U0GUEST") == 1


def test_with_sso_auto_provisioning_an_unknown_member_becomes_staff_and_is_enrolled(db_url):
    with SlackWorld(db_url, auto_provision=True) as world:
        token = world.posted_button()
        clicked = world.click("U0NEW", token)
        assert text_of(clicked.reply).startswith(
            ":white_check_mark: You're enrolled in Safety 101."
        )
        new = world.db.scalar(select(User).where(User.email == "new@acme.test"))
        assert (new.first_name, new.last_name, new.type) == ("Nia", "New", UserType.STAFF)
        assert ("new@acme.test", "safety-101", "enrolled") in world.db.enrolments()
        # Guests stay out even then.
        assert "Guest accounts" in text_of(world.click("U0GUEST", token).reply)


def test_a_deactivated_link_says_so_until_it_is_reactivated(world):
    token = world.posted_button()
    assert "is deactivated: its buttons and URLs now say the link is disabled" in text_of(
        world.command(ADMIN, "link deactivate 1")
    )
    clicked = world.click(ANN, token)
    assert "This link is currently disabled." in text_of(clicked.reply)
    assert world.db.enrolments() == BEFORE
    world.command(ADMIN, "link activate 1")
    assert text_of(world.click(ANN, token).reply).startswith(":white_check_mark: You're enrolled")


def test_a_deleted_link_never_enrols_again(world):
    created = world.command(ADMIN, 'link create safety-101 --label "Q3 email"')
    assert text_of(created).startswith(
        ":white_check_mark: Link 4 for Safety 101 (Q3 email) is ready:"
    )
    world.command(ADMIN, "post 4 <#C0OPS|ops>")
    token = world.slack.calls_of("chat.postMessage")[-1].args["blocks"][1]["elements"][0]["value"]
    deleted = world.command(ADMIN, "link delete 4 --yes")
    assert "is deleted: its buttons and URLs will never work again." in text_of(deleted)
    clicked = world.click(ANN, token)
    assert "This link has been deleted and no longer works." in text_of(clicked.reply)
    assert world.db.enrolments() == BEFORE


def test_tampered_expired_and_foreign_tokens_are_refused(db_url):
    with SlackWorld(db_url, ENROLBOT_LINK_MAX_AGE_DAYS="30") as world:
        token = world.posted_button()
        tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        assert "may have been changed or cut short" in text_of(world.click(ANN, tampered).reply)
        assert "isn't valid" in text_of(world.click(ANN, "garbage").reply)

        class SignedLastMonth(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(time.time()) - 31 * 86400

        link = world.db.run(lambda s: s.get(EnrolmentLink, 1))
        old = URLSafeTimedSerializer(
            ["test-key-of-thirty-two-bytes-0123"], salt="enrolbot.link", signer=SignedLastMonth
        )
        expired = old.dumps([1, 1, link.secret])
        assert "This enrolment link has expired." in text_of(world.click(ANN, expired).reply)

        async def other_org_token(session):
            other = Organisation(name="Other", sso_auto_provision=True)
            session.add(other)
            await session.flush()
            item = await create_item(
                session, other.id, slug="safety-101", kind=ItemKind.TOPIC, title="Theirs"
            )
            return token_for(
                LinkSigner(["test-key-of-thirty-two-bytes-0123"]), await default_link(session, item)
            )

        foreign = world.db.run(other_org_token)
        assert "belongs to another organisation" in text_of(world.click(ANN, foreign).reply)
        assert world.db.enrolments() == BEFORE


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


def test_slack_retrying_a_click_does_not_enrol_twice(world):
    token = world.posted_button()
    first, url1 = world.press(ANN, "enrol", token)
    retried, url2 = world.press(
        ANN,
        "enrol",
        token,
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert first.status_code == retried.status_code == 200
    replies = [text_of(world.slack.wait_response(u)[0]) for u in (url1, url2)]
    assert sorted(r.split(".")[0] for r in replies) == [
        ":white_check_mark: You're enrolled in Safety 101",
        "You're already enrolled in Safety 101, so nothing changed",
    ]
    assert world.db.enrolments() == ENROLLED_ANN and uses(world) == 1


def test_slack_rate_limits_and_errors_are_retried_and_the_user_still_gets_an_answer(world):
    world.slack.fail_next(
        "users.info", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}
    )
    world.slack.fail_next("users.info", 500)
    token = world.posted_button()  # the admin's own first lookup meets both failures
    assert token
    started = time.monotonic()
    world.slack.fail_next(
        "users.info", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}
    )
    clicked = world.click(ANN, token)
    assert time.monotonic() - started >= 1  # it waited as Slack asked
    assert text_of(clicked.reply).startswith(":white_check_mark: You're enrolled in Safety 101.")
    world.slack.fail_next("chat.postMessage", 500)
    posted = world.command(ADMIN, "post privacy <#C0OPS|ops>")
    assert "Posted the Enrol button for Privacy basics in #ops" in text_of(posted)
    assert world.db.enrolments() == ENROLLED_ANN


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


# Our workspace, pinned by auth.test ---------------------------------------------------------------

EXTERNAL = "This button is for members of the organisation that posted it."


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


def age_identity(world: SlackWorld, subject: str, minutes: int = 2) -> None:
    """Let time pass for what is stored about an account."""

    async def work(session):
        identity = (
            await session.execute(select(Identity).where(Identity.subject == subject))
        ).scalar_one()
        identity.updated_at = utcnow() - timedelta(minutes=minutes)

    world.db.run(work)


def lookups_of(world: SlackWorld, user: str) -> int:
    return [c.args["user"] for c in world.slack.calls_of("users.info")].count(user)


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
