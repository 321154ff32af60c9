"""Slack clicks, end to end: the real app over HTTP, signed as Slack signs, against Slack's stand-in.

A learner clicks Enrol and the test checks the reply they read and what the database holds: who is
enrolled, who is refused and why, and links that are deactivated, deleted, tampered with or retried."""

from __future__ import annotations

import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from handlers.catalog import create_item
from handlers.links import default_link, token_for
from handlers.signing import SLACK_BUTTON_VALUE_LIMIT, LinkSigner
from store.models import AuditEvent, EnrolmentLink, ItemKind, Organisation, User, UserType
from tests.support.slack_checks import BEFORE, ENROLLED_ANN, audit_of, uses
from tests.support.slack_standin import OTHER_TEAM
from tests.support.slack_world import ADMIN, ANN, SlackWorld, text_of
from tests.support.tampering import tampered


@pytest.fixture
def world(db_url):
    with SlackWorld(db_url) as w:
        yield w


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
        changed = tampered(token)
        assert "may have been changed or cut short" in text_of(world.click(ANN, changed).reply)
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
