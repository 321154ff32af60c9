"""Deep links opened in a browser that signs in with Entra ID, over HTTP: a colleague is matched
to a portal user as a click would be, enrolled through the one way in, and reads a page that says
what happened and what to do next; guests, other tenants and unknown colleagues are told why not,
and each enrolment and refusal is audited. One server per database; each test is its own browser
(its own cookies) and its own people or links."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from handlers.organisations import default_organisation
from store.models import AuditEvent, Identity, User
from tests.support.databases import backends
from tests.support.entra_signin_standin import OTHER_TENANT, TENANT, person
from tests.support.signin_world import enrolments, paragraphs, sign_in_and_open, world_per_database
from tests.support.slack_signin_standin import slack_person

world = pytest.fixture(world_per_database, scope="module", params=backends(), name="world")


def test_a_colleague_signs_in_with_entra_id_is_enrolled_and_a_second_visit_needs_no_sign_in(
    world,
):
    world.entra.signs_in = person("ann", "ann@acme.test")
    path = world.link("safety-101")
    browser, page = sign_in_and_open(world, path, "entra")
    assert page.status_code == 200, page.text
    assert page.url.path == path
    assert "<h1>Safety 101</h1>" in page.text
    assert "You're enrolled in Safety 101." in paragraphs(page)
    assert 'href="https://learn.acme.test/safety-101">Open Safety 101</a>' in page.text
    assert page.headers["cache-control"] == "no-store"
    asked_for = world.entra.authorize_requests[-1]  # PKCE, a nonce, and our callback
    assert asked_for["code_challenge_method"] == "S256" and asked_for["nonce"]
    assert asked_for["response_mode"] == "query" and "email" in asked_for["scope"].split()
    assert asked_for["redirect_uri"] == f"{world.bot.url}/auth/callback/entra"
    assert enrolments(world, "ann@acme.test") == 1
    identity = world.db.scalar(select(Identity).where(Identity.subject == "aad-ann"))
    assert (identity.provider, identity.tenant_key) == ("teams", TENANT)  # as a Teams click

    asked = len(world.entra.authorize_requests)
    again = browser.get(path)
    assert len(world.entra.authorize_requests) == asked  # the session was enough
    assert "You're already enrolled in Safety 101, so nothing changed." in paragraphs(again)
    assert enrolments(world, "ann@acme.test") == 1


def test_the_session_cookie_is_signed_httponly_lax_and_short_lived(world):
    world.entra.signs_in = person("done", "done@acme.test")
    _, page = sign_in_and_open(world, world.link("privacy"), "entra")
    assert page.status_code == 200
    set_cookie = [
        h for r in page.history for h in r.headers.get_list("set-cookie") if "session" in h
    ]
    assert len(set_cookie) == 1
    cookie = set_cookie[0].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=28800" in cookie
    assert "secure" not in cookie  # the public URL here is http; see test_auth_session
    assert (
        str(world.db.scalar(select(Identity.id).where(Identity.subject == "aad-done")))
        not in (set_cookie[0].split(";")[0].split("=", 1)[1].split(".")[1:])
    )


def test_someone_already_enrolled_and_someone_who_completed_are_told_and_nothing_changes(world):
    world.slack_signin.signs_in = slack_person("U0DONE", "done@acme.test")
    _, page = sign_in_and_open(world, world.link("safety-101"), "slack")
    assert page.status_code == 200
    assert (
        "You've already completed Safety 101. Your completion stands and nothing changed."
        in paragraphs(page)
    )
    assert enrolments(world, "done@acme.test") >= 1


def test_a_disabled_link_says_it_is_disabled_signed_in_or_not(world):
    path = world.link("safety-101", label="Intranet")
    world.change_link(path, active=False)
    stranger = world.browser().get(path)
    assert stranger.status_code == 403 and stranger.url.path == path  # no sign-in asked
    assert paragraphs(stranger)[0].startswith("This link is currently disabled.")
    world.slack_signin.signs_in = slack_person("U0ANN", "ann@acme.test")
    browser, _ = sign_in_and_open(world, world.link("privacy"), "slack")
    signed_in = browser.get(path)
    assert signed_in.status_code == 403
    assert "This link is currently disabled." in signed_in.text
    world.change_link(path, active=True)
    assert browser.get(path).status_code == 200


def test_a_deleted_link_says_it_was_deleted(world):
    path = world.link("safety-101", label="Old poster")
    world.change_link(path, delete=True)
    page = world.browser().get(path)
    assert page.status_code == 410
    assert paragraphs(page) == [
        "This link has been deleted and no longer works. Ask your training admin for a current one."
    ]


@pytest.mark.parametrize(
    "claims",
    [
        person("gus", "gus@partner.test", acct=1),
        person("gail", None, preferred_username="gail_partner.test#EXT#@acme.onmicrosoft.com"),
    ],
    ids=["acct-claim", "ext-upn"],
)
def test_an_entra_guest_is_not_enrolled_and_is_told_what_to_do(world, claims):
    world.entra.signs_in = claims
    _, page = sign_in_and_open(world, world.link("onboarding"), "entra")
    assert page.status_code == 403
    assert paragraphs(page) == [
        "Guest accounts can't use internal enrolment links. If you need this training, ask "
        "your training admin."
    ]


def test_someone_refused_may_sign_in_with_another_account(world):
    world.entra.signs_in = person("gus2", "gus2@partner.test", acct=1)
    path = world.link("safety-101")
    browser, page = sign_in_and_open(world, path, "entra")
    assert page.status_code == 403
    other = re.search(r'<a href="([^"]+)">([^<]+)</a>', page.text)
    assert html.unescape(other.group(2)) == (
        "Signed in with the wrong account? Sign in with another one."
    )
    # The same colleague, now with their own account: asked which, and enrolled.
    world.entra.signs_in = person("ann", "ann@acme.test")
    chooser = browser.get(html.unescape(other.group(1)))
    assert "<h1>Sign in to continue</h1>" in chooser.text
    again = browser.get(html.unescape(re.search(r'href="([^"]*provider=entra)"', chooser.text)[1]))
    assert world.entra.authorize_requests[-1]["prompt"] == "select_account"
    assert again.url.path == path
    assert re.match(r"You're (already )?enrolled in Safety 101", paragraphs(again)[0])
    # A page about the link, not the person, offers no other account.
    world.change_link(disabled := world.link("privacy", label="Old"), active=False)
    assert "wrong account" not in browser.get(disabled).text


def test_someone_of_another_tenant_is_refused_and_nothing_of_theirs_is_kept(world):
    world.entra.signs_in = person("stu", "stu@other.test", tid=OTHER_TENANT)
    path = world.link("privacy", label="Partner newsletter")
    browser, page = sign_in_and_open(world, path, "entra")
    assert page.status_code == 403
    assert paragraphs(page)[0].startswith(
        "This link is for members of the organisation that shared it, so it can't enrol you."
    )
    assert world.db.scalar(select(Identity).where(Identity.subject == "aad-stu")) is None
    assert not any("session" in c for c in browser.cookies)
    # Recorded as their click on that link's button would be.
    refused = world.db.scalar(
        select(AuditEvent).where(AuditEvent.actor == f"teams:{OTHER_TENANT}:aad-stu")
    )
    assert refused.action == "enrol.external" and refused.link_id is not None


def test_an_unknown_colleague_without_sso_provisioning_is_told_to_ask_for_an_account(world):
    world.entra.signs_in = person("nia", "nia@acme.test")
    _, page = sign_in_and_open(world, world.link("onboarding"), "entra")
    assert page.status_code == 403
    assert paragraphs(page) == [
        "There's no training account for nia@acme.test. Ask your training admin to add you, "
        "then open this link again."
    ]
    assert world.db.scalar(select(User).where(User.email == "nia@acme.test")) is None


def test_with_sso_auto_provisioning_an_unknown_colleague_becomes_staff_and_is_enrolled(world):
    world.db.run(_auto_provision(True))
    try:
        provisioning = world.serve()  # a new app: it reads the organisation afresh
        world.entra.signs_in = person("ola2", "ola.new@acme.test")
        browser = world.browser(provisioning)
        page = browser.get(f"/auth/login?next={world.link('onboarding')}&provider=entra")
    finally:
        world.db.run(_auto_provision(False))
    assert "You're enrolled in Onboarding." in paragraphs(page)
    user = world.db.scalar(select(User).where(User.email == "ola.new@acme.test"))
    assert user.type.value == "staff" and enrolments(world, "ola.new@acme.test") == 1


def _auto_provision(on: bool):
    async def work(session) -> None:
        (await default_organisation(session)).sso_auto_provision = on

    return work


def test_one_person_is_one_identity_whether_they_click_in_teams_or_open_a_link(world):
    """A Teams click keys the person on our tenant and their object id: a browser sign-in
    with the same object id is that identity, linked user and all."""

    async def clicked_in_teams(session) -> None:
        user = await session.scalar(select(User).where(User.email == "done@acme.test"))
        session.add(
            Identity(
                provider="teams",
                tenant_key=TENANT,
                subject="aad-dan-teams",
                email="done@acme.test",
                user_id=user.id,
            )
        )

    world.db.run(clicked_in_teams)
    # The token names another address: the key decides, not the email.
    world.entra.signs_in = person("dan-teams", "dan.renamed@acme.test", oid="aad-dan-teams")
    _, page = sign_in_and_open(world, world.link("onboarding"), "entra")
    assert "You're enrolled in Onboarding." in paragraphs(page)
    assert (
        world.db.scalar(
            select(func.count()).select_from(Identity).where(Identity.subject == "aad-dan-teams")
        )
        == 1
    )


def test_each_enrolment_and_refusal_is_audited_with_the_account_and_the_browser(world):
    world.entra.signs_in = person("gwen", "gwen@partner.test", acct=1)
    sign_in_and_open(world, world.link("onboarding"), "entra")
    world.entra.signs_in = person("ann", "ann@acme.test")
    sign_in_and_open(world, world.link("safety-101"), "entra")
    events = world.db.run(_audit)
    guest = [e for e in events if e.actor == f"teams:{TENANT}:aad-gwen"]
    assert [(e.action, e.detail) for e in guest] == [("enrol.guest", {"channel": "browser"})]
    ann = [e for e in events if e.actor == f"teams:{TENANT}:aad-ann" and e.item_id]
    assert ann[-1].action in ("enrol.enrolled", "enrol.already_enrolled")
    assert ann[-1].actor_user_id and ann[-1].detail == {"channel": "browser"}


async def _audit(session) -> list[AuditEvent]:
    return list((await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all())
