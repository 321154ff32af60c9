"""What people do and see, the same on Slack and Teams: one set of scenarios, run against both
platforms over real HTTP (see tests/support/drivers.py)."""

from __future__ import annotations

import time
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from store.models import AuditEvent, Enrolment, EnrolmentLink, User, UserType
from tests.support.drivers import open_world

BEFORE = [("done@acme.test", "safety-101", "completed")]
ENROLLED_ANN = [("ann@acme.test", "safety-101", "enrolled"), *BEFORE]


@pytest.fixture(params=["slack", "teams"])
def platform(request) -> str:
    return request.param


@contextmanager
def opened(platform, db_url, tmp_path, **kw):
    world, driver = open_world(platform, db_url, tmp_path, **kw)
    with world:
        yield driver(world)


@pytest.fixture
def app(platform, db_url, tmp_path):
    with opened(platform, db_url, tmp_path) as driver:
        yield driver


def uses(app) -> int:
    return app.db.count(Enrolment, Enrolment.link_id == 1)


def test_an_admin_posts_an_enrol_button_and_a_learner_enrols_with_one_click(app):
    token = app.post("safety-101")
    assert "You're enrolled in Safety 101." in app.click("ann", token)
    assert app.db.enrolments() == ENROLLED_ANN and uses(app) == 1
    again = app.click("ann", token)
    assert "You're already enrolled in Safety 101, so nothing changed." in again
    assert app.db.enrolments() == ENROLLED_ANN and uses(app) == 1
    assert (
        app.db.count(AuditEvent, AuditEvent.action == "enrol.enrolled", AuditEvent.link_id == 1)
        == 1
    )


@pytest.mark.parametrize(
    ("who", "says"),
    [
        (
            "done",
            "You've already completed Safety 101. Your completion stands and nothing changed.",
        ),
        ("guest", "Guest accounts can't use internal enrolment links."),
        ("external", "This button is for members of the organisation that posted it."),
        ("nomail", "I can't see the email address on your account"),
        (
            "new",
            "There's no training account for new@acme.test. Ask your training admin to add you",
        ),
        ("off", "Your training account (off@acme.test) is deactivated."),
    ],
)
def test_whoever_cannot_enrol_is_told_why_and_nothing_changes(app, who, says):
    token = app.post("safety-101")
    assert says in app.click(who, token)
    assert app.db.enrolments() == BEFORE and uses(app) == 0


def test_with_sso_auto_provisioning_an_unknown_member_is_created_and_enrolled(
    platform, db_url, tmp_path
):
    with opened(platform, db_url, tmp_path, auto_provision=True) as app:
        assert "You're enrolled in Safety 101." in app.click("new", app.post())
        new = app.db.scalar(select(User).where(User.email == "new@acme.test"))
        assert (new.first_name, new.type) == ("Nia", UserType.STAFF)
        assert "Guest accounts" in app.click("guest", app.post())


def test_disabled_deleted_and_tampered_links_refuse(app):
    token = app.post("safety-101")
    assert "is deactivated" in app.command("admin", "link deactivate 1")
    assert "This link is currently disabled." in app.click("ann", token)
    app.command("admin", "link activate 1")
    assert "Link 4 for Safety 101 (Q3 email) is ready:" in app.command(
        "admin", 'link create safety-101 --label "Q3 email"'
    )
    extra = app.post("4")
    assert "is deleted" in app.command("admin", "link delete 4 --yes")
    assert "This link has been deleted and no longer works." in app.click("ann", extra)
    assert "may have been changed or cut short" in app.click("ann", token[:-3] + "abc")
    assert app.db.enrolments() == BEFORE
    assert "You're enrolled in Safety 101." in app.click("ann", token)


@pytest.mark.parametrize(
    "command",
    [
        "items",
        "link create safety-101 --label X",
        "link list safety-101",
        "link deactivate 1",
        "link delete 1 --yes",
        "post safety-101",
        "notify all",
        "admin add ann@acme.test",
    ],
)
def test_a_learner_is_refused_every_admin_command(app, command):
    reply = app.command("ann", command)
    assert reply.startswith("Only ") and reply.endswith("; nothing was changed.")
    assert app.db.count(EnrolmentLink) == 3
    assert app.db.count(EnrolmentLink, EnrolmentLink.is_active.is_(False)) == 0


def test_admin_commands_answer_the_same_on_both_platforms(app):
    assert "safety-101 · topic · Safety 101 · 1 link" in app.command("admin", "items safety")
    created = app.command("admin", 'link create privacy --label "Intranet" --notes "HR page"')
    assert (
        "Link 4 for Privacy basics (Intranet) is ready:\nhttps://enrol.acme.test/enrol/" in created
    )
    listed = app.command("admin", "link list privacy").splitlines()
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert listed[-2:] == [
        f"2 · default · active · 0 uses · created {today}",
        f"4 · Intranet · active · 0 uses · created {today} · notes: HR page",
    ]
    assert "There is no item saftey-101. Did you mean safety-101?" in app.command(
        "admin", "link list saftey-101"
    )
    assert "A quote is left open" in app.command("admin", 'link create privacy --label "Oops')
    assert "ann@acme.test is now a standard admin." in app.command(
        "admin", "admin add ann@acme.test --standard"
    )
    assert "Link 5 for Safety 101 (Ann's) is ready" in app.command(
        "ann", 'link create safety-101 --label "Ann\'s"'
    )


def test_a_subscribed_channel_hears_of_each_self_enrolment(app):
    assert (
        "now gets instant alerts when people enrol themselves in Safety 101."
        in app.subscribe_here("safety-101")
    )
    app.click("ann", app.post("safety-101"))
    [alert] = app.alerts(2)  # the posted button or card, then the alert
    assert "Ann Lee (staff) enrolled themselves in Safety 101 through default link at " in alert
