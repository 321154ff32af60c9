"""Deep links opened in a browser, over HTTP: a browser without a session signs in with Entra
ID or Slack (local stand-ins issuing ID tokens signed by test keys), comes back, is matched to
a portal user as a click would be, is enrolled through the one way in, and reads a page that
says what happened and what to do next. One server per database; each test is its own browser
(its own cookies) and its own people or links."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from handlers.organisations import default_organisation
from store.models import AuditEvent, Enrolment, Identity, User
from tests.support.databases import backends
from tests.support.entra_signin_standin import OTHER_TENANT, TENANT, person
from tests.support.signin_world import PROSPECT, SignInWorld
from tests.support.slack_signin_standin import slack_person
from tests.support.slack_standin import ENTERPRISE, OTHER_TEAM, SISTER_TEAM, TEAM, grid_member


@pytest.fixture(scope="module", params=backends())
def world(request, databases, tmp_path_factory) -> Iterator[SignInWorld]:
    url = databases.fresh(request.param)
    with SignInWorld(url, tmp_path_factory.mktemp("entra")) as w:
        yield w
    databases.drop(url)


def sign_in_and_open(
    world: SignInWorld, path: str, provider: str, **kw
) -> tuple[httpx.Client, httpx.Response]:
    """Open `path` in a new browser, choose `provider` on the sign-in page, and follow every
    redirect: what the browser shows at the end."""
    browser = world.browser(**kw)
    chooser = browser.get(path)
    assert chooser.url.path == "/auth/login", chooser.text
    choice = browser.get(f"/auth/login?next={path}&provider={provider}")
    return browser, choice


def paragraphs(page: httpx.Response) -> list[str]:
    """The text of each paragraph, as read."""
    found = re.findall(r"<p>(.*?)</p>", page.text, re.S)
    return [html.unescape(re.sub(r"<[^>]+>|\s+", " ", p)).strip() for p in found]


def enrolments(world: SignInWorld, email: str) -> int:
    return world.db.scalar(
        select(func.count())
        .select_from(Enrolment)
        .join(User, User.id == Enrolment.user_id)
        .where(User.email == email)
    )


# Entra ID ---------------------------------------------------------------------------------


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


# Sign in with Slack -----------------------------------------------------------------------


def test_sign_in_with_slack_keys_the_person_as_a_button_click_does(world):
    world.slack_signin.signs_in = slack_person("U0NEW", "new@acme.test")
    _, page = sign_in_and_open(world, world.link("onboarding"), "slack")
    # new@acme.test has no training account: the page says so, and the identity is the one a
    # click of U0NEW in our workspace would use.
    assert "There's no training account for new@acme.test." in paragraphs(page)[0]
    identity = world.db.scalar(select(Identity).where(Identity.subject == "U0NEW"))
    assert (identity.provider, identity.tenant_key) == ("slack", TEAM)
    asked = world.slack.calls_of("users.info")
    assert [c.args.get("user") for c in asked][-1] == "U0NEW"  # the directory, as on a click
    request = world.slack_signin.authorize_requests[-1]
    assert request["team"] == TEAM and set(request["scope"].split()) == {
        "openid",
        "email",
        "profile",
    }


def test_a_member_of_another_workspace_of_our_enterprise_grid_is_one_of_ours(world):
    world.slack.add_user(grid_member("U0SIS", "sis@acme.test", "Sis", "Ter"))
    world.slack.enterprise = ENTERPRISE  # the next app's auth.test says we are in a Grid
    try:
        grid = world.serve()
    finally:
        world.slack.enterprise = None
    world.slack_signin.signs_in = slack_person(
        "U0SIS", "sis@acme.test", team=SISTER_TEAM, enterprise=ENTERPRISE
    )
    browser = world.browser(grid)
    page = browser.get(f"/auth/login?next={world.link('onboarding')}&provider=slack")
    # Keyed by our workspace as their click would be, and matched (there is no such user).
    assert paragraphs(page)[0].startswith("There's no training account for sis@acme.test.")
    identity = world.db.scalar(select(Identity).where(Identity.subject == "U0SIS"))
    assert (identity.provider, identity.tenant_key) == ("slack", TEAM)


def test_a_slack_guest_is_refused(world):
    world.slack_signin.signs_in = slack_person("U0GUEST", "guest@partner.test")
    _, page = sign_in_and_open(world, world.link("onboarding"), "slack")
    assert page.status_code == 403
    assert paragraphs(page)[0].startswith("Guest accounts can't use internal enrolment links.")


def test_someone_of_another_slack_workspace_is_refused(world):
    world.slack_signin.signs_in = slack_person("U0STRANGER", "x@other.test", team=OTHER_TEAM)
    _, page = sign_in_and_open(world, world.link("onboarding"), "slack")
    assert page.status_code == 403
    assert "This link is for members of the organisation that shared it" in page.text
    assert world.db.scalar(select(Identity).where(Identity.subject == "U0STRANGER")) is None


def test_a_prospect_is_not_enrolled_by_an_internal_link(world):
    world.entra.signs_in = person("pat", PROSPECT)
    _, page = sign_in_and_open(world, world.link("onboarding"), "entra")
    assert page.status_code == 403
    assert enrolments(world, PROSPECT) == 0


# What is refused --------------------------------------------------------------------------


def _to_the_callback(world: SignInWorld, path: str, provider: str) -> tuple[httpx.Client, str]:
    """Start a sign-in and let the provider answer; the callback URL it sends the browser to,
    not yet followed."""
    browser = world.browser()
    start = browser.get(f"/auth/login?next={path}&provider={provider}", follow_redirects=False)
    assert start.status_code == 302
    back = browser.get(start.headers["location"], follow_redirects=False)
    assert back.status_code == 302
    return browser, back.headers["location"]


@pytest.mark.parametrize("provider", ["entra", "slack"])
def test_a_callback_whose_state_is_not_the_sign_ins_is_refused(world, provider):
    browser, callback = _to_the_callback(world, world.link("onboarding"), provider)
    parts = urlsplit(callback)
    query = parse_qs(parts.query)
    forged = f"{parts.path}?code={query['code'][0]}&state=forged-state"
    page = browser.get(forged)
    assert page.status_code == 400
    assert paragraphs(page)[0].startswith("Sign-in didn't finish, so nothing changed.")
    assert not any(c.startswith("enrolbot_session") for c in browser.cookies)


def test_a_tampered_sign_in_cookie_is_no_sign_in(world):
    browser, callback = _to_the_callback(world, world.link("onboarding"), "entra")
    value = browser.cookies["enrolbot_signin"]
    browser.cookies.clear()
    browser.cookies.set("enrolbot_signin", value[:-4] + "AAAA", path="/auth/")
    page = browser.get(callback)
    assert page.status_code == 400
    assert paragraphs(page)[0].startswith("This sign-in was already used or has expired")


@pytest.mark.parametrize("provider", ["entra", "slack"])
def test_no_code_state_or_token_reaches_the_log(world, provider, caplog):
    caplog.set_level(logging.DEBUG)
    browser, callback = _to_the_callback(world, world.link("onboarding"), provider)
    query = parse_qs(urlsplit(callback).query)
    code, state = query["code"][0], query["state"][0]
    flow = browser.cookies["enrolbot_signin"]
    forged = browser.get(f"{urlsplit(callback).path}?code={code}&state={state}x")
    assert forged.status_code == 400
    assert "refused a sign-in" in caplog.text
    for secret in (code, state, flow):
        assert secret not in caplog.text


@pytest.mark.parametrize("provider", ["entra", "slack"])
def test_an_id_token_whose_nonce_is_not_the_sign_ins_is_refused(world, provider):
    standin = world.entra if provider == "entra" else world.slack_signin
    standin.wrong_nonce = True
    try:
        browser, page = sign_in_and_open(world, world.link("onboarding"), provider)
    finally:
        standin.wrong_nonce = False
    assert page.status_code == 400
    assert paragraphs(page)[0].startswith("Sign-in didn't finish")
    assert not any(c.startswith("enrolbot_session") for c in browser.cookies)


@pytest.mark.parametrize("provider", ["entra", "slack"])
def test_a_replayed_callback_is_refused(world, provider):
    standin = world.entra if provider == "entra" else world.slack_signin
    standin.signs_in = (
        person("ann", "ann@acme.test")
        if provider == "entra"
        else slack_person("U0ANN", "ann@acme.test")
    )
    browser, callback = _to_the_callback(world, world.link("privacy"), provider)
    flow = dict(browser.cookies)
    first = browser.get(callback)
    assert first.status_code == 200
    # The same browser again: the sign-in in flight was cleared by the first callback.
    replay = world.browser().get(callback)
    assert replay.status_code == 400
    assert paragraphs(replay)[0].startswith("This sign-in was already used or has expired")
    # Someone who copied the sign-in cookie too: the provider will not redeem a code twice.
    reused = standin.codes.reused
    thief = world.browser(cookies=flow)
    stolen = thief.get(callback)
    assert stolen.status_code == 400 and paragraphs(stolen)[0].startswith("Sign-in didn't finish")
    assert standin.codes.reused == reused + 1
    assert not any(c.startswith("enrolbot_session") for c in thief.cookies)


@pytest.mark.parametrize("provider", ["entra", "slack"])
def test_a_sign_in_the_person_cancelled_says_so_and_keeps_nothing(world, provider):
    browser, callback = _to_the_callback(world, world.link("onboarding"), provider)
    parts = urlsplit(callback)
    state = parse_qs(parts.query)["state"][0]
    page = browser.get(f"{parts.path}?error=access_denied&state={state}")
    assert page.status_code == 400
    assert paragraphs(page)[0].startswith("Sign-in didn't finish, so nothing changed.")
    assert not any(c.startswith("enrolbot_session") for c in browser.cookies)


def test_a_failure_on_our_side_gets_a_page_that_says_so(world):
    world.slack_signin.signs_in = slack_person("U0OFF", "off@acme.test")
    world.slack.fail_next("users.info", 200, {"ok": False, "error": "fatal_error"})
    _, page = sign_in_and_open(world, world.link("onboarding"), "slack")
    assert page.status_code == 500
    assert "<h1>Something went wrong</h1>" in page.text
    assert paragraphs(page)[0].startswith("Sorry, something went wrong on our side")


def test_a_tampered_session_cookie_is_no_session(world):
    world.slack_signin.signs_in = slack_person("U0ANN", "ann@acme.test")
    browser, _ = sign_in_and_open(world, world.link("privacy"), "slack")
    value = browser.cookies["enrolbot_session"]
    forged = value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB")
    other = world.browser(cookies={"enrolbot_session": forged})
    page = other.get(world.link("privacy"), follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/auth/login?next=")


@pytest.mark.parametrize(
    "next_path",
    ["https://evil.test/", "//evil.test/x", "/\\evil.test", "javascript:alert(1)"],
)
def test_sign_in_never_sends_the_browser_elsewhere(world, next_path):
    world.slack_signin.signs_in = slack_person("U0ANN", "ann@acme.test")
    browser = world.browser()
    page = browser.get("/auth/login", params={"next": next_path, "provider": "slack"})
    assert page.status_code == 200
    assert page.url.path == "/auth/signed-in" and page.url.host == "127.0.0.1"
    assert "<h1>You&#39;re signed in</h1>" in page.text


# Which sign-in --------------------------------------------------------------------------


def test_with_both_providers_the_browser_chooses(world):
    page = world.browser().get(world.link("onboarding"))
    assert page.url.path == "/auth/login" and "<h1>Sign in to continue</h1>" in page.text
    assert ">Sign in with Microsoft</a>" in page.text and ">Sign in with Slack</a>" in page.text


def test_with_one_provider_the_browser_goes_straight_to_it(world):
    only_slack = world.serve(MICROSOFT_APP_ID="", MICROSOFT_APP_PASSWORD="")
    world.slack_signin.signs_in = slack_person("U0ANN", "ann@acme.test")
    page = world.browser(only_slack).get(world.link("privacy"))
    assert page.status_code == 200 and page.url.path.startswith("/enrol/")
    assert re.match(r"You're (already )?enrolled in Privacy basics", paragraphs(page)[0])
    # No chooser on the way: the login answered with a redirect to Slack at once.
    login = next(r for r in page.history if r.url.path == "/auth/login")
    assert login.status_code == 302
    assert login.headers["location"].startswith(world.slack_signin.url + "authorize?")


def test_without_sign_in_a_link_names_its_item_and_says_how_to_set_sign_in_up(world):
    none = world.serve(
        MICROSOFT_APP_ID="", MICROSOFT_APP_PASSWORD="", SLACK_CLIENT_ID="", SLACK_CLIENT_SECRET=""
    )
    page = world.browser(none).get(world.link("safety-101"))
    assert page.status_code == 200 and "<h1>Safety 101</h1>" in page.text
    said = paragraphs(page)
    assert said[0] == (
        "This link is for Safety 101. Opening it in a browser needs sign-in with your work "
        "account, which isn't set up here yet."
    )
    assert "Enrol button for Safety 101" in said[1] and "docs/deep-links.md" in said[2]
    login = world.browser(none).get("/auth/login")
    assert login.status_code == 503 and "isn&#39;t set up" in login.text


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
